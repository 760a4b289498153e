"""Handwriting fonts: digits and letters in the hands of many writers.

Each font is one person's handwriting (or, for the "school models", one country's school handwriting model),
digitised by its designer: every Google Fonts "handwriting" family on @fontsource that imitates everyday pen or
marker writing (not calligraphy), plus the school models (Playwrite, Edu). Fetched from npm's registry on first
use (OFL-1.1 / Apache-2.0) into a cache folder; nothing is committed, and nothing here runs unless asked
(`python -m lenet.calibrate --hand-letters`, `python -m lenet.train --hand-digits`, `bench/reader/handwriting_fonts.py`).

The hands are split in two, every other one in each group. `CALIBRATION_HANDS` teach: their letters show the "not
a digit" head what written letters look like, and their digits show the network how 56 more people write a digit
(`--hand-digits`). `HELD_OUT_HANDS` never teach anything; their letters and digits measure what was learned.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lenet.sources.coarse import coarse_digit
from lenet.sources.data import Split
from lenet.reading.preprocess import canvas_to_digit_u8

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
CALIBRATION_HANDS = tuple(name for names in GROUPS.values() for name in names[::2])
HELD_OUT_HANDS = tuple(name for names in GROUPS.values() for name in names[1::2])
REGISTRY = "https://registry.npmjs.org/@fontsource"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lenet-studio" / "handwriting-fonts"
# --hand-digits: each hand's digits join the training set this many times as drawn (the batches' canvas-like
# distortions make every copy different) and this many times as coarse copies (lenet.sources.coarse), about 9,000 in all
DIGIT_COPIES, COARSE_DIGIT_COPIES = 10, 6


class FontUnavailable(RuntimeError):
    """A handwriting font is neither in the cache nor reachable on npm's registry."""


def font_file(name: str, cache: Path | None = None) -> Path:
    """The font's latin regular face (.woff, which FreeType reads), downloaded from npm on first use."""
    cache = cache or CACHE
    path = cache / f"{name}.woff"
    if not path.exists():
        try:
            meta = json.load(urllib.request.urlopen(f"{REGISTRY}/{name}/latest", timeout=30))
            raw = urllib.request.urlopen(meta["dist"]["tarball"], timeout=60).read()
        except OSError as e:  # URLError, timeouts: no registry here
            raise FontUnavailable(f"cannot fetch the font {name!r} from {REGISTRY} ({e}); once fetched, the fonts "
                                  f"are kept in {cache}") from None
        tgz = tarfile.open(fileobj=io.BytesIO(raw))
        faces = sorted(m.name for m in tgz.getmembers() if "-latin-" in m.name and m.name.endswith("-normal.woff"))
        face = next((f for f in faces if f.endswith("-latin-400-normal.woff")), faces[0])
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(tgz.extractfile(face).read())
        tmp.replace(path)
    return path


def glyph_canvas(font: ImageFont.FreeTypeFont, char: str, margin: int = 40) -> np.ndarray:
    """The character drawn black on white, cropped to its ink with a margin: a canvas as a person would leave it."""
    im = Image.new("L", (600, 600), 255)
    ImageDraw.Draw(im).text((150, 100), char, font=font, fill=0)
    a = np.asarray(im)
    rows, cols = np.where(a < 128)
    if not len(rows):
        raise ValueError(f"{font.getname()} draws no ink for {char!r}")
    crop = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    side = max(crop.shape) + 2 * margin
    out = np.full((side, side), 255, np.uint8)
    y, x = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    out[y:y + crop.shape[0], x:x + crop.shape[1]] = crop
    return out


def glyph_canvases(font_path: Path, chars: str) -> list[tuple[str, np.ndarray]]:
    """(char, canvas) for each of `chars` the font draws ink for (the fonts' latin subset has every letter)."""
    font, out = ImageFont.truetype(str(font_path), 240), []
    for c in chars:
        try:
            out.append((c, glyph_canvas(font, c)))
        except ValueError:
            pass
    return out


def framed_glyphs(font_paths, chars: str) -> list[tuple[str, np.ndarray]]:
    """(char, (28, 28) uint8) for each of `chars` in each font, framed by canvas_to_digit as a drawing would be."""
    pairs = [(c, canvas_to_digit_u8(canvas))
             for path in font_paths for c, canvas in glyph_canvases(Path(path), chars)]
    return [(c, d) for c, d in pairs if d is not None]


def letter_images(font_paths, chars: str) -> np.ndarray:
    """(N, 28, 28) uint8: every one of `chars` in every font."""
    return np.stack([d for _, d in framed_glyphs(font_paths, chars)])


def digit_images(font_paths) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 and (N,) int64: the digits 0-9 of every font."""
    glyphs = framed_glyphs(font_paths, "0123456789")
    return np.stack([d for _, d in glyphs]), np.array([int(c) for c, _ in glyphs], dtype=np.int64)


def with_hand_digits(train: Split, seed: int, font_paths=None, copies: int = DIGIT_COPIES) -> Split:
    """The training digits plus the calibration hands' digits (`font_paths`: those hands' fonts, fetched on first
    use): `copies` as drawn, and coarse copies through lenet.sources.coarse, COARSE_DIGIT_COPIES for every
    DIGIT_COPIES drawn. Raises FontUnavailable offline."""
    images, labels = digit_images(font_paths or [font_file(name) for name in CALIBRATION_HANDS])
    rng = np.random.default_rng(seed)
    n_coarse = round(copies * COARSE_DIGIT_COPIES / DIGIT_COPIES)
    coarse = [np.stack([coarse_digit(d, rng) for d in images]) for _ in range(n_coarse)]
    return train.plus(np.concatenate([images] * copies + coarse), np.tile(labels, copies + n_coarse))
