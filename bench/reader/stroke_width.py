"""Calibrates lenet.reading.preprocess.STROKE_TARGET: MNIST's stroke width at the preprocessing's work scale.

    python -m bench.reader.stroke_width        (uses the bundled MNIST sample; no data needed)
"""

import numpy as np

from bench import common  # noqa: E402,F401  (puts the repository on sys.path)
from lenet.sources.data import load_split  # noqa: E402
from lenet.reading.preprocess import WORK, _bbox, _resize, stroke_width  # noqa: E402

split = load_split("mnist-sample", train=True)
widths = []
for img in split.images.float().div(255):
    r0, r1, c0, c1 = _bbox(img.numpy())
    crop = img[r0:r1, c0:c1]
    h, w = crop.shape
    s = WORK / max(h, w)
    widths.append(stroke_width(_resize(crop, (max(1, round(h * s)), max(1, round(w * s)))) > 0.5))
w = np.array(widths)
print(f"MNIST stroke width at work scale {WORK}: median {np.median(w):.2f}, mean {w.mean():.2f}, "
      f"p10 {np.percentile(w, 10):.2f}, p90 {np.percentile(w, 90):.2f} (n={len(w)})")
