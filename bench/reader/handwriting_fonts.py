"""Digits and letters in the hands of many writers, from handwriting fonts, read through the app's canvas path.

A second source of real handwriting outside MNIST (next to bench/reader/real_handwriting.py's 8x8 optdigits), at full
resolution. Each font (lenet.sources.hand_fonts) is one person's handwriting (or, for the "school" group, one country's
school handwriting model), digitised by its designer. The fonts come from Google Fonts through npm's @fontsource
packages (OFL-1.1 / Apache-2.0), fetched on first use into a cache folder (npm's registry is reachable from the
machines; nothing is committed).

Digits: ten per writer. The figure is the digits of lenet.sources.hand_fonts.HELD_OUT_HANDS, which nothing ever learns.
The other half, CALIBRATION_HANDS, teach a model trained with `--hand-digits` (the shipped default was not),
so their digits are reported apart and are no test of such a model. The list was fixed before any model was scored on it. A glyph is
drawn black on white, large, on a canvas and read exactly as a drawing is (canvas_to_digit -> model -> verdict).
Each glyph is drawn once, as its designer drew it: a font is one sample of a hand, so the figure moves in steps of
1/550 per digit and a few fonts' odd digits weigh a lot.

Low resolution: the held-out hands' digits as a coarse source leaves them (a postal scan, a thumbnail): each
fitted in an n x n grid (aspect kept, ink averaged), enlarged back to a canvas as grey ink (smooth or blocky) or cut
solid at half ink, for n = 16 (USPS's and Semeion's size), 12 and 8 (optdigits'). The same fonts, so the figures
show what resolution alone costs.

Letters (the "not a digit" goal, >= 90% refused): the letters lenet.sources.shapes.LETTERS (those a person writing them
would not mean as a digit) in the hands lenet.sources.hand_fonts.HELD_OUT_HANDS, which calibration never sees (with
`lenet.calibrate --hand-letters` the head learns the letters of the other half).

Letters written like digits (issue 29: S B Z O I l ? + g q must never be read as a digit at >= 95%): the same
held-out hands' glyphs of LOOKALIKES; tests/test_confidence.py checks the rule on Hershey faces only.

    .venv/bin/python -m bench.reader.handwriting_fonts [--checkpoint C ...] [--figure misread.png]
"""
from __future__ import annotations

import argparse
import collections
from pathlib import Path

from bench.common import ROOT  # noqa: E402  (common puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from lenet.sources.coarse import grid_canvas  # noqa: E402
from lenet.sources.hand_fonts import (CACHE, CALIBRATION_HANDS, GROUPS, HAND, HELD_OUT_HANDS, SCHOOL,  # noqa: E402
                              FontUnavailable, font_file, glyph_canvases)
from lenet.reading.inference import LoadedModel, read  # noqa: E402
from lenet.sources.shapes import LETTERS  # noqa: E402
from lenet.reading.preprocess import _bbox, ink_from_canvas  # noqa: E402

GOAL, GOAL_LETTERS = 0.97, 0.90
LOOKALIKES = "SBZOIl?+gq"  # tests/test_confidence.py's letters
# low resolution: (name, PIL enlargement, ink cut: None keeps the grey)
LOW_RES, LOW_RENDERINGS = (16, 12, 8), (("grey", Image.BICUBIC, None), ("grey blocky", Image.NEAREST, None),
                                        ("solid", Image.BICUBIC, 0.5))


def canvases(cache: Path = CACHE) -> list[tuple[str, str, int, np.ndarray]]:
    """(group, font, label, canvas) for every digit of every font."""
    return [(group, name, int(c), canvas) for group, names in GROUPS.items() for name in names
            for c, canvas in glyph_canvases(font_file(name, cache), "0123456789")]


def letter_canvases(cache: Path = CACHE, chars: str = "".join(LETTERS)) -> list[tuple[str, str, str, np.ndarray]]:
    """(group, font, letter, canvas) for every one of `chars` of every held-out hand."""
    return [(group, name, c, canvas) for group, names in GROUPS.items() for name in names
            if name in HELD_OUT_HANDS for c, canvas in glyph_canvases(font_file(name, cache), chars)]


def low_res_canvas(canvas: np.ndarray, n: int, enlarge, cut) -> np.ndarray:
    """A glyph's canvas (black on white) fitted in an n x n grid of ink (aspect kept, centred, ink averaged) and
    enlarged back to a canvas by lenet.sources.coarse.grid_canvas."""
    ink = ink_from_canvas(canvas)
    r0, r1, c0, c1 = _bbox(ink)
    crop = ink[r0:r1, c0:c1]
    scale = n / max(crop.shape)
    h, w = (max(1, round(k * scale)) for k in crop.shape)
    small = np.asarray(Image.fromarray(np.round(crop * 255).astype(np.uint8)).resize((w, h), Image.BOX))
    grid = np.zeros((n, n), np.uint8)
    grid[(n - h) // 2:(n - h) // 2 + h, (n - w) // 2:(n - w) // 2 + w] = small
    return grid_canvas(grid, 224, enlarge, cut, margin=32)


def report_low_res(lm: LoadedModel, items) -> None:
    held = [(label, c) for _, name, label, c in items if name in HELD_OUT_HANDS]
    cells = []
    for n in LOW_RES:
        for name, enlarge, cut in LOW_RENDERINGS:
            reads = [read(lm, low_res_canvas(c, n, enlarge, cut)) for _, c in held]
            right = np.mean([r is not None and int(r.verdict.best) == label for (label, _), r in zip(held, reads)])
            cells.append(f"{n}x{n} {name} {right:.1%}")
    print("  held out, at low resolution: " + ", ".join(cells))


def save_figure(items, reads, path: Path, tile: int = 96):
    """The misread glyphs in a grid, each captioned "label -> read" and its font."""
    cols = 8
    rows = max(1, -(-len(items) // cols))
    grid = Image.new("L", (cols * tile, rows * (tile + 24)), 255)
    draw = ImageDraw.Draw(grid)
    for k, ((_, name, label, c), read_as) in enumerate(zip(items, reads)):
        r, q = divmod(k, cols)
        x, y = q * tile, r * (tile + 24)
        grid.paste(Image.fromarray(c).resize((tile - 16, tile - 16)), (x + 8, y))
        draw.text((x + 4, y + tile - 14), f"{label} read as {read_as}", fill=0)
        draw.text((x + 4, y + tile - 2), name[:16], fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def report_letters(lm: LoadedModel, letters) -> None:
    kinds = [read(lm, c).verdict for *_, c in letters]
    refused = np.array([v.kind != "digit" for v in kinds])
    print(f"  letters of {len(HELD_OUT_HANDS)} held-out hands: {refused.mean():.1%} of {len(letters)} refused "
          f"(goal >= {GOAL_LETTERS:.0%}: {'met' if refused.mean() >= GOAL_LETTERS else 'NOT met'}); "
          + ", ".join(f"{group} {refused[[g == group for g, *_ in letters]].mean():.1%}" for group in GROUPS))
    read_as = collections.Counter(f"{c}->{v.best}" for (_, _, c, _), v in zip(letters, kinds) if v.kind == "digit")
    print("  letters read as digits, most often: " + ", ".join(f"{k} {m}" for k, m in read_as.most_common(12)))


def report_lookalikes(lm: LoadedModel, glyphs) -> None:
    verdicts = [read(lm, c).verdict for *_, c in glyphs]
    over = [(c, v.best, v.probability) for (_, _, c, _), v in zip(glyphs, verdicts)
            if v.kind == "digit" and v.probability >= 0.95]
    print(f"  letters written like digits ({' '.join(LOOKALIKES)}) in the held-out hands: {len(over)} of {len(glyphs)} "
          f"read as a digit at >= 95% (goal: none); "
          + ", ".join(f"{k} {m}" for k, m in collections.Counter(f"{c}->{b}" for c, b, _ in over).most_common(8)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", nargs="+", default=[str(ROOT / "checkpoints" / "lenet5-mnist.safetensors"),
                                                       str(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")])
    p.add_argument("--cache", type=Path, default=CACHE, help="where the fonts are kept after the first download")
    p.add_argument("--figure", type=Path, help="save the first checkpoint's misread glyphs to this PNG")
    args = p.parse_args()
    torch.set_num_threads(1)
    try:
        items, letters = canvases(args.cache), letter_canvases(args.cache)
        lookalikes = letter_canvases(args.cache, LOOKALIKES)
    except FontUnavailable as e:
        raise SystemExit(str(e)) from None
    print(f"{len(items)} digits: {len(HAND)} handwriting fonts and {len(SCHOOL)} school models (@fontsource), "
          "on a canvas")
    for n, path in enumerate(args.checkpoint):
        lm = LoadedModel.from_file(path)
        verdicts = [read(lm, c).verdict for *_, c in items]
        reads = np.array([int(v.best) for v in verdicts])
        labels = np.array([label for _, _, label, _ in items])
        ok = reads == labels
        held = np.array([name in HELD_OUT_HANDS for _, name, *_ in items])
        print(f"\n{Path(path).name} ({lm.label}): top-1 accuracy on the {len(HELD_OUT_HANDS)} held-out hands "
              f"{ok[held].mean():.2%} (goal >= {GOAL:.0%}: {'met' if ok[held].mean() >= GOAL else 'NOT met'}); "
              f"the {len(CALIBRATION_HANDS)} hands --hand-digits teaches: {ok[~held].mean():.2%}")
        for group in GROUPS:
            sel = held & np.array([g == group for g, *_ in items])
            print(f"  held out, {group}: {ok[sel].mean():.2%} of {sel.sum()}")
        print("  held out, per class: " + " ".join(f"{k}:{ok[held & (labels == k)].mean():.1%}" for k in range(10)))
        kinds = np.array([v.kind for v in verdicts])[held]
        print(f"  held out, verdicts: not a digit {(kinds == 'not a digit').mean():.2%}, unsure "
              f"{(kinds == 'unsure').mean():.2%}; accuracy on accepted {ok[held][kinds == 'digit'].mean():.2%}")
        bad = [i for i in range(len(items)) if held[i] and not ok[i]]
        print("  held out, misread: " + ", ".join(f"{items[i][1]} {labels[i]}->{reads[i]}" for i in bad))
        report_low_res(lm, items)
        report_letters(lm, letters)
        report_lookalikes(lm, lookalikes)
        if args.figure and n == 0:
            save_figure([items[i] for i in bad], reads[bad], args.figure)
            print(f"  saved {args.figure}")


if __name__ == "__main__":
    main()
