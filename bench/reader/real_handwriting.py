"""Real handwriting from writers outside MNIST, read through the app's canvas path.

Source: scikit-learn's bundled `load_digits`: the test part of UCI's "Optical Recognition of Handwritten Digits",
1,797 digits by 13 writers (43 wrote the whole set; the other 30 are not in scikit-learn), none of them MNIST's,
shipped inside the scikit-learn package, so it works offline. Each is an 8x8 grid of counts (0-16) of ink pixels
in 4x4 blocks of the writer's 32x32 bitmap; it is enlarged to a canvas (bicubic) and read exactly as a drawing
is (canvas_to_digit -> model -> lenet.reading.verdict). Never used in training or calibration. Goal (issue 10): >= 97%.
The shipped default learned the set's other 30 writers (UCI's training part, `--optdigits`, lenet/sources/optdigits.py), as
the set's makers intended: train on the 30, measure on the 13 never seen. So these are unseen writers of a source
it knows; bench/reader/handwriting_fonts.py measures hands from a source it never learned.

The figure depends on how 8x8 blocks are turned back into a stroke, and a check elsewhere may do it differently,
so the benchmark reads the same digits in ten renderings. The two it has always reported:
  pen  enlarged bicubic, thresholded at half ink: a solid stroke, as the canvas draws. Thin strokes break and small
       loops fill (a 9 becomes a 3-like blob): the strict figure.
  ink  the enlarged ink density itself (grey edges, like a scan or an anti-aliased canvas): what the counts
       say, no more.
and eight more: other enlargements (bilinear, Lanczos, blocky nearest-neighbour), other cuts (a third and two
thirds of full ink) and small canvases (48 and 64 pixels).

    .venv/bin/python -m bench.reader.real_handwriting [--checkpoint C ...]      # needs scikit-learn (requirements-dev)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import ROOT  # noqa: E402  (common puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from lenet.sources.coarse import grid_canvas  # noqa: E402
from lenet.reading.inference import LoadedModel, read  # noqa: E402

GOAL = 0.97


# name: (enlargement, canvas side in pixels, ink cut: None keeps the grey density)
RENDERINGS = {
    "pen": (Image.BICUBIC, 224, 0.5), "ink": (Image.BICUBIC, 224, None),
    "ink, bilinear": (Image.BILINEAR, 224, None), "ink, Lanczos": (Image.LANCZOS, 300, None),
    "ink, blocky": (Image.NEAREST, 224, None), "pen, bilinear": (Image.BILINEAR, 224, 0.5),
    "pen, cut at 1/3": (Image.BICUBIC, 224, 0.35), "pen, cut at 2/3": (Image.BICUBIC, 224, 0.65),
    "ink, 48 px": (Image.BICUBIC, 48, None), "pen, 64 px": (Image.BICUBIC, 64, 0.5),
}


def canvases(rendering: str = "pen") -> tuple[list[np.ndarray], np.ndarray]:
    """(canvases black-on-white uint8, a seventh of the side blank around the digit; labels)."""
    from sklearn.datasets import load_digits

    enlarge, size, cut = RENDERINGS[rendering]
    d = load_digits()
    grids = (d.images / 16 * 255).astype(np.uint8)
    return [grid_canvas(g, size, enlarge, cut, margin=size // 7) for g in grids], d.target


def evaluate(lm: LoadedModel, cs, labels) -> dict:
    kinds, reads = [], []
    for c in cs:
        r = read(lm, c)
        v = r.verdict
        kinds.append(v.kind)
        reads.append(int(v.best))
    kinds, reads = np.array(kinds), np.array(reads)
    ok = reads == labels
    acc_cls = [float(ok[labels == k].mean()) for k in range(10)]
    accepted = kinds == "digit"
    return {"accuracy": float(ok.mean()), "per_class": acc_cls, "rejected": float(1 - accepted.mean()),
            "not_a_digit": float((kinds == "not a digit").mean()), "unsure": float((kinds == "unsure").mean()),
            "accuracy_accepted": float(ok[accepted].mean()) if accepted.any() else float("nan"),
            "right_and_accepted": float((ok & accepted).mean())}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", nargs="+", default=[str(ROOT / "checkpoints" / "lenet5-mnist.safetensors"),
                                                       str(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")])
    args = p.parse_args()
    torch.set_num_threads(1)
    sets = {rendering: canvases(rendering) for rendering in RENDERINGS}
    print(f"{len(sets['pen'][1])} digits by 13 writers (scikit-learn load_digits / UCI optdigits), on a canvas")
    for path in args.checkpoint:
        lm = LoadedModel.from_file(path)
        print(f"\n{Path(path).name} ({lm.label})")
        results = {}
        for rendering, (cs, labels) in sets.items():
            r = results[rendering] = evaluate(lm, cs, labels)
            if rendering in ("pen", "ink"):
                print(f"  {rendering}: top-1 accuracy {r['accuracy']:.2%} "
                      f"(goal >= {GOAL:.0%}: {'met' if r['accuracy'] >= GOAL else 'NOT met'})")
                print("    per class: " + " ".join(f"{k}:{a:.1%}" for k, a in enumerate(r["per_class"])))
                print(f"    verdicts: rejected {r['rejected']:.2%} (not a digit {r['not_a_digit']:.2%}, unsure "
                      f"{r['unsure']:.2%}); accuracy on accepted {r['accuracy_accepted']:.2%}; read right and "
                      f"accepted (a refusal counted as wrong) {r['right_and_accepted']:.2%}")
        print(f"  {'rendering':<16} {'top-1':>7} {'rejected':>9} {'right, accepted':>16}")
        for rendering, r in results.items():
            print(f"  {rendering:<16} {r['accuracy']:7.2%} {r['rejected']:9.2%} {r['right_and_accepted']:16.2%}"
                  f"{'' if r['accuracy'] >= GOAL else '   below the goal'}")
        accs = [r["accuracy"] for r in results.values()]
        print(f"  mean of the {len(accs)} renderings {np.mean(accs):.2%}, lowest {min(accs):.2%}; "
              f"{sum(a >= GOAL for a in accs)} of {len(accs)} at >= {GOAL:.0%}")


if __name__ == "__main__":
    main()
