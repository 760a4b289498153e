"""Digits in the hands of many writers, from handwriting fonts, read through the app's canvas path.

A second source of real handwriting outside MNIST (next to bench/real_handwriting.py's 8x8 optdigits), at full
resolution. Each font below is one person's handwriting (or, for the "school" group, one country's school
handwriting model), digitised by its designer: ten digits per writer. The fonts come from Google Fonts through
npm's @fontsource packages (OFL-1.1 / Apache-2.0), fetched on first use into a cache folder (npm's registry is
reachable from the machines; nothing is committed). Never used in training or calibration.

The list was fixed before any model was scored on it: every Google Fonts "handwriting" family on @fontsource that
imitates everyday pen or marker writing (not calligraphy), plus the school models (Playwrite, Edu). A glyph is
drawn black on white, large, on a canvas and read exactly as a drawing is (canvas_to_digit -> model -> verdict).
Each glyph is drawn once, as its designer drew it: a font is one sample of a hand, so the figure moves in steps
of 1/720 per digit and a few fonts' odd digits weigh a lot.

    .venv/bin/python bench/handwriting_fonts.py [--checkpoint C ...] [--figure misread.png]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import tarfile
import urllib.request
from pathlib import Path

from common import ROOT  # noqa: E402  (common puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from lenet.inference import LoadedModel, read_canvas, verdict  # noqa: E402

GOAL = 0.97
HAND = """indie-flower shadows-into-light shadows-into-light-two gloria-hallelujah architects-daughter coming-soon
covered-by-your-grace waiting-for-the-sunrise just-another-hand annie-use-your-telescope sue-ellen-francisco
the-girl-next-door loved-by-the-king over-the-rainbow dawning-of-a-new-day nothing-you-could-do give-you-glory
reenie-beanie schoolbell crafty-girls walter-turncoat just-me-again-down-here swanky-and-moo-moo zeyada
la-belle-aurore cedarville-cursive homemade-apple caveat kalam patrick-hand handlee gochi-hand neucha short-stack
delius itim mali sriracha nanum-pen-script gaegu hi-melody gamja-flower poor-story yomogi klee-one zen-kurenaido
permanent-marker rock-salt kristi dekko caveat-brush amatic-sc kranky calligraffitti sunshiney pangolin mansalva
beth-ellen square-peg playpen-sans chilanka comic-neue sedgwick-ave nanum-brush-script shantell-sans grape-nuts
fuzzy-bubbles mynerve oooh-baby nerko-one hachi-maru-pop borel""".split()
SCHOOL = """edu-sa-beginner edu-nsw-act-foundation edu-qld-beginner edu-tas-beginner edu-vic-wa-nt-beginner
playwrite-de-grund playwrite-fr-moderne playwrite-it-moderna playwrite-us-trad playwrite-nz playwrite-cu
playwrite-dk-loopet playwrite-es playwrite-mx playwrite-no playwrite-pl playwrite-pt playwrite-ro playwrite-tz
playwrite-vn playwrite-ng-modern playwrite-in playwrite-za playwrite-co playwrite-cz playwrite-hr playwrite-hu
playwrite-is playwrite-id playwrite-ie playwrite-br playwrite-ar playwrite-at playwrite-ca playwrite-cl
playwrite-sk playwrite-de-sas playwrite-fr-trad playwrite-pe""".split()
GROUPS = {"handwriting": HAND, "school models": SCHOOL}
REGISTRY = "https://registry.npmjs.org/@fontsource"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lenet-studio" / "handwriting-fonts"


def font_file(name: str, cache: Path = CACHE) -> Path:
    """The font's latin regular face (.woff, which FreeType reads), downloaded from npm on first use."""
    path = cache / f"{name}.woff"
    if not path.exists():
        try:
            meta = json.load(urllib.request.urlopen(f"{REGISTRY}/{name}/latest", timeout=30))
            raw = urllib.request.urlopen(meta["dist"]["tarball"], timeout=60).read()
        except OSError as e:  # URLError, timeouts: no registry here
            raise SystemExit(f"cannot fetch the font {name!r} from {REGISTRY} ({e}); once fetched, the fonts are "
                             f"kept in {cache}") from None
        tgz = tarfile.open(fileobj=io.BytesIO(raw))
        faces = sorted(m.name for m in tgz.getmembers() if "-latin-" in m.name and m.name.endswith("-normal.woff"))
        face = next((f for f in faces if f.endswith("-latin-400-normal.woff")), faces[0])
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(tgz.extractfile(face).read())
        tmp.replace(path)
    return path


def glyph_canvas(font: ImageFont.FreeTypeFont, digit: str, margin: int = 40) -> np.ndarray:
    """The digit drawn black on white, cropped to its ink with a margin: a canvas as a person would leave it."""
    im = Image.new("L", (600, 600), 255)
    ImageDraw.Draw(im).text((150, 100), digit, font=font, fill=0)
    a = np.asarray(im)
    rows, cols = np.where(a < 128)
    if not len(rows):
        raise ValueError(f"{font.getname()} draws no ink for {digit!r}")
    crop = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    side = max(crop.shape) + 2 * margin
    out = np.full((side, side), 255, np.uint8)
    y, x = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    out[y:y + crop.shape[0], x:x + crop.shape[1]] = crop
    return out


def canvases(cache: Path = CACHE) -> list[tuple[str, str, int, np.ndarray]]:
    """(group, font, label, canvas) for every digit of every font."""
    out = []
    for group, names in GROUPS.items():
        for name in names:
            font = ImageFont.truetype(str(font_file(name, cache)), 240)
            out += [(group, name, d, glyph_canvas(font, str(d))) for d in range(10)]
    return out


def save_figure(items, reads, path: Path, tile: int = 96):
    """The misread glyphs in a grid, each captioned "label -> read" and its font."""
    cols = 8
    rows = max(1, -(-len(items) // cols))
    grid = Image.new("L", (cols * tile, rows * (tile + 24)), 255)
    draw = ImageDraw.Draw(grid)
    for k, ((_, name, label, c), read) in enumerate(zip(items, reads)):
        r, q = divmod(k, cols)
        x, y = q * tile, r * (tile + 24)
        grid.paste(Image.fromarray(c).resize((tile - 16, tile - 16)), (x + 8, y))
        draw.text((x + 4, y + tile - 14), f"{label} read as {read}", fill=0)
        draw.text((x + 4, y + tile - 2), name[:16], fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", nargs="+", default=[str(ROOT / "checkpoints" / "lenet5-mnist.safetensors"),
                                                       str(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")])
    p.add_argument("--cache", type=Path, default=CACHE, help="where the fonts are kept after the first download")
    p.add_argument("--figure", type=Path, help="save the first checkpoint's misread glyphs to this PNG")
    args = p.parse_args()
    torch.set_num_threads(1)
    items = canvases(args.cache)
    print(f"{len(items)} digits: {len(HAND)} handwriting fonts and {len(SCHOOL)} school models (@fontsource), "
          "on a canvas")
    for n, path in enumerate(args.checkpoint):
        lm = LoadedModel.from_file(path)
        verdicts = [verdict(lm, read_canvas(lm, c)) for *_, c in items]
        reads = np.array([int(v.best) for v in verdicts])
        labels = np.array([label for _, _, label, _ in items])
        ok = reads == labels
        print(f"\n{Path(path).name} ({lm.label}): top-1 accuracy {ok.mean():.2%} "
              f"(goal >= {GOAL:.0%}: {'met' if ok.mean() >= GOAL else 'NOT met'})")
        for group in GROUPS:
            sel = np.array([g == group for g, *_ in items])
            print(f"  {group}: {ok[sel].mean():.2%} of {sel.sum()}")
        print("  per class: " + " ".join(f"{k}:{ok[labels == k].mean():.1%}" for k in range(10)))
        kinds = np.array([v.kind for v in verdicts])
        print(f"  verdicts: not a digit {(kinds == 'not a digit').mean():.2%}, unsure {(kinds == 'unsure').mean():.2%}"
              f"; accuracy on accepted {ok[kinds == 'digit'].mean():.2%}")
        bad = [i for i in range(len(items)) if not ok[i]]
        print("  misread: " + ", ".join(f"{items[i][1]} {labels[i]}->{reads[i]}" for i in bad))
        if args.figure and n == 0:
            save_figure([items[i] for i in bad], reads[bad], args.figure)
            print(f"  saved {args.figure}")


if __name__ == "__main__":
    main()
