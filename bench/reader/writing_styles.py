"""Ways people write each digit, drawn on the Draw tab's surface: which ones does a model read?

Fifteen hand-made styles (the continental 1 with a flag and a foot, a crossed 7, an open and a closed 4, a
looped 2, a slashed 0, ...), each drawn `--reps` times with a random slant, rotation, width, shaky hand and
pen width, sent through the app's own path (lenet.reading.strokes payload -> rasterise -> canvas_to_digit -> model ->
lenet.reading.verdict). The templates are written here, apart from training: `lenet.sources.styles` draws its ones from its
own random parameters, never from these.

    .venv/bin/python -m bench.reader.writing_styles [--checkpoint C ...] [--reps 40] [--scale 1.0]
"""
from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path

from bench.common import ROOT  # noqa: E402  (common puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.common.digit_strokes import ellipse, payload  # noqa: E402
from lenet.reading.inference import LoadedModel, read  # noqa: E402
from lenet.reading.strokes import drawing_image  # noqa: E402


# (label, strokes as (dx, dy) offsets in a 400-px drawing area, y down)
STYLES: dict[str, tuple[str, list]] = {
    "1 flag and foot": ("1", [[(-45, -45), (10, -90), (10, 90)], [(-30, 90), (50, 90)]]),
    "1 long flag": ("1", [[(-50, -30), (10, -90), (10, 90)]]),
    "1 short flag": ("1", [[(-25, -70), (10, -90), (10, 90)]]),
    "1 foot only": ("1", [[(0, -90), (0, 90)], [(-35, 90), (35, 90)]]),
    "7 crossed": ("7", [[(-55, -75), (55, -75), (-10, 85)], [(-25, 5), (40, 5)]]),
    "7 with a hook": ("7", [[(-55, -60), (-55, -75), (55, -75), (-10, 85)]]),
    "4 open": ("4", [[(-30, -88), (-50, 25), (55, 25)], [(28, -55), (28, 90)]]),
    "4 closed": ("4", [[(28, 90), (28, -88), (-50, 25), (55, 25)]]),
    "9 curved stem": ("9", [ellipse(40, 40, cy=-45, start=0) + [(40, -45), (35, 40), (0, 88), (-35, 70)]]),
    "2 with a loop": ("2", [[(-50, -50), (-30, -80), (10, -88), (45, -62), (40, -20), (-40, 75), (-50, 60),
                             (-30, 55), (-10, 80), (55, 80)]]),
    "6 round": ("6", [[(30, -88), (-20, -40), (-45, 20), (-35, 70), (5, 88), (40, 60), (40, 20), (5, 0),
                       (-40, 25)]]),
    "0 slashed": ("0", [ellipse(55, 85), [(-45, 70), (45, -70)]]),
    "3 flat top": ("3", [[(-45, -85), (40, -85), (0, -15), (40, 15), (45, 55), (5, 88), (-45, 70)]]),
    "5 in one stroke": ("5", [[(40, -85), (-35, -85), (-42, -10), (20, -22), (48, 20), (38, 65), (-5, 88),
                               (-45, 70)]]),
    "8 two circles": ("8", [ellipse(35, 42, cy=-45), ellipse(42, 45, cy=43)]),
}


def drawings(strokes, reps: int, rng: np.random.Generator, scale: float = 1.0):
    """`reps` canvases of one style, each with its own slant, rotation, width, shake and pen. `scale` < 1 draws
    it smaller on the canvas with the same pens (at 0.35 a digit is ~45 px tall on the 280-px canvas)."""
    for _ in range(reps):
        a, sx, shear = rng.uniform(-0.15, 0.15), rng.uniform(0.8, 1.2), rng.uniform(-0.25, 0.25)
        c, s = math.cos(a), math.sin(a)

        def move(p):
            x, y = p[0] + shear * p[1], p[1]
            return (((c * x - s * y) * sx + rng.normal(0, 4)) * scale, (s * x + c * y + rng.normal(0, 4)) * scale)

        yield drawing_image(payload([[move(p) for p in stroke] for stroke in strokes], width=rng.uniform(14, 30)))


def evaluate(lm: LoadedModel, reps: int = 40, seed: int = 0, scale: float = 1.0) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, (label, strokes) in STYLES.items():
        reads, rejected = Counter(), 0
        for canvas in drawings(strokes, reps, rng, scale):
            r = read(lm, canvas)
            reads[r.classes[r.top]] += 1
            rejected += r.verdict.kind != "digit"
        out[name] = {"right": reads[label] / reps, "rejected": rejected / reps, "reads": reads.most_common(3)}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", nargs="+", default=[str(ROOT / "checkpoints" / "lenet5-mnist.safetensors"),
                                                       str(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")])
    p.add_argument("--reps", type=int, default=40)
    p.add_argument("--scale", type=float, default=1.0, help="draw smaller (same pens): 0.5, 0.35, 0.25")
    args = p.parse_args()
    torch.set_num_threads(1)
    for path in args.checkpoint:
        lm = LoadedModel.from_file(path)
        res = evaluate(lm, args.reps, scale=args.scale)
        right = np.mean([r["right"] for r in res.values()])
        print(f"\n{Path(path).name} ({lm.label}): {right:.1%} right over {len(res)} styles x {args.reps}; "
              f"worst {min(r['right'] for r in res.values()):.0%}")
        for name, r in res.items():
            reads = ", ".join(f"{d} {n}" for d, n in r["reads"])
            print(f"  {name:<18} right {r['right']:>5.0%}   not a digit / unsure {r['rejected']:>4.0%}   reads {reads}")


if __name__ == "__main__":
    main()
