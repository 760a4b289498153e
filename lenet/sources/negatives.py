"""Things that are not digits, made on the fly, for teaching a model to say "that is not a digit".

What people draw on digit demos when they test them: letters and symbols, smileys, stars, houses, spirals,
grids, scribbles, crosses, hearts, arrows, clouds, flowers, stick figures, single dots, speckles, two digits
side by side, and doodles of random parts for everything no list names. Every kind is drawn as pen strokes
(polylines rasterised on the device, a batch at a time), letters and symbols too, written in single-stroke
Hershey fonts, or typed in the fonts that ship with matplotlib; then framed exactly like a drawing
(`augment.renormalize`: bounding box into 20x20, centre of mass at the centre), so a negative looks like what
the app shows the network.

Letters that ARE digit shapes in most hands (O o I l | S s Z z B b G g q and friends) are left out: a person
who draws an O may well mean 0. The list is `DIGIT_LOOKALIKES`.

`NegativeBank` holds a few thousand such images on the device and serves random distorted ones per batch;
`pairs` builds two-digits-side-by-side from the training batch itself.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lenet.sources.augment import canvas_like, renormalize
from lenet.sources.shapes import LETTERS, OBJECT_SHAPES, SYMBOLS, random_strokes

GRID = 56  # strokes are rasterised at twice MNIST's resolution, then framed down to 28x28
KINDS = ("scribble", "zigzag", "lines", "grid", "cross", "star", "smiley", "house", "spiral", "polygon", "wave",
         "sun", "heart", "arrow", "cloud", "flower", "stick figure", "dot", "speckle", "glyph", "written", "doodle")
SHARE = {"glyph": 2, "written": 4, "doodle": 2}  # the most varied kinds: more of them
# What the "not a digit" output trains on (NegativeBank): every kind but written letters. Those are so close to
# digits that the output learned to doubt digits too: 5 epochs with them took its calibrated threshold from 0.98
# to 0.999, and it caught 88.7% of held-out negatives against 95.6% without them. They teach the calibrated
# feature head instead (lenet.calibrate uses every kind), which sees the frozen model's features and cannot
# change how it reads digits.
OUTPUT_KINDS = tuple(k for k in KINDS if k != "written")
# Doodles get twice the head's share in the output. Measured on the shipped recipe's second stage and kinds no
# generator draws (bench/common/new_kinds.py sets A / B): share 2 refused 76.0 / 74.8%, share 4 76.2 / 76.0%, both 99.5%
# on MNIST; for the head, share 4 gave 76.7 / 71.4% against share 2's 76.2 / 76.0%.
OUTPUT_SHARE = {**SHARE, "doodle": 4}
# Fonts (matplotlib's own) used for training; bench/reader/non_digits.py draws its letters with the others.
TRAIN_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSerif-Italic.ttf",
               "STIXGeneral.ttf", "cmss10.ttf", "cmtt10.ttf")


def rasterize(batch: list[list[np.ndarray]], widths, size: int = 2 * GRID) -> torch.Tensor:
    """Polylines -> (B, 1, size, size) ink with round pen ends and joints. Each sample's points are scaled to
    fill 70% of the square (aspect kept); `widths` are pen widths in pixels of a GRID-sized square. Drawn with
    PIL's C line drawing (a tenth of the time of a batched distance field on a CPU) at 2x, for smooth edges."""
    from PIL import Image, ImageDraw

    out = np.zeros((len(batch), 1, size, size), np.uint8)
    f = size / GRID
    for i, (strokes, w) in enumerate(zip(batch, widths)):
        pts = np.concatenate(strokes)
        lo, hi = pts.min(0), pts.max(0)
        scale = 0.7 * size / max((hi - lo).max(), 1e-6)
        centre = (lo + hi) / 2
        img = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(img)
        r = w * f / 2
        for s in strokes:
            p = (s - centre) * scale + (size - 1) / 2
            if len(p) > 1:
                draw.line([tuple(q) for q in p], fill=255, width=max(1, round(2 * r)), joint="curve")
            for x, y in (p[0], p[-1]):  # round pen ends (and single dots)
                draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
        out[i, 0] = np.asarray(img)
    return torch.from_numpy(out).float().div_(255)


def framed(batch: list[list[np.ndarray]], widths, device="cpu") -> torch.Tensor:
    """Polylines drawn (`rasterize`), anti-aliased down to GRID and framed as the app frames a drawing:
    (B, 28, 28) uint8 on `device`."""
    ink = F.avg_pool2d(rasterize(batch, widths).to(device), 2)  # (B, 1, GRID, GRID)
    return (renormalize(ink)[:, 0] * 255).round().to(torch.uint8)


# ---------- letters and symbols from fonts ----------

def _font_dir() -> Path:
    import matplotlib
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.lru_cache(maxsize=4)
def glyph_bank(fonts: tuple[str, ...] = TRAIN_FONTS, chars: str = "".join(LETTERS + SYMBOLS)) -> torch.Tensor:
    """(N, 28, 28) float: every character a font has, drawn big and framed by canvas_to_digit (as a drawing
    would be). Built once per process (about a second) and shared read-only."""
    from matplotlib.ft2font import FT2Font
    from PIL import Image, ImageDraw, ImageFont

    from lenet.reading.preprocess import canvas_to_digit

    out = []
    for name in fonts:
        path = _font_dir() / name
        ft, font = FT2Font(str(path)), ImageFont.truetype(str(path), 96)
        for c in chars:
            if ft.get_char_index(ord(c)) == 0:  # the font has no such glyph (it would draw a box)
                continue
            img = Image.new("L", (160, 160), 0)
            ImageDraw.Draw(img).text((80, 80), c, fill=255, font=font, anchor="mm")
            digit = canvas_to_digit(np.asarray(img))
            if digit is not None:
                out.append(digit)
    return torch.from_numpy(np.stack(out))


# ---------- the bank served to training ----------

def make_negatives(n: int, seed: int = 0, device="cpu", chunk: int = 128, kinds: tuple[str, ...] = KINDS,
                   fonts: tuple[str, ...] = TRAIN_FONTS, share: dict | None = None) -> tuple[torch.Tensor, list[str]]:
    """n negatives of `kinds` as (n, 28, 28) uint8 on `device`, and the kind of each. Kinds are drawn evenly
    (times their `share`, default SHARE)."""
    rng = np.random.default_rng(seed)
    share = SHARE if share is None else share
    deck = [kind for kind in kinds for _ in range(share.get(kind, 1))]
    picked = [deck[i % len(deck)] for i in range(n)]
    rng.shuffle(picked)
    out = torch.zeros(n, 28, 28, dtype=torch.uint8, device=device)
    glyphs = None
    for start in range(0, n, chunk):
        part = picked[start:start + chunk]
        shapes, widths, where = [], [], []
        for j, kind in enumerate(part):
            if kind == "glyph":
                continue
            if kind == "dot":  # a single dot: the app frames it as a filled disk
                shapes.append([np.zeros((1, 2))])
                widths.append(GRID * 0.7)
            else:
                shapes.append(random_strokes(rng, kind))
                w = rng.uniform(2.8, 6.4)  # 1.4-3.2 MNIST pixels: the band the app's stroke evening leaves alone
                widths.append(w * (2.0 if kind == "speckle" else 1.0))
            where.append(start + j)
        if shapes:
            out[where] = framed(shapes, widths, device)
        g_idx = [start + j for j, kind in enumerate(part) if kind == "glyph"]
        if g_idx:
            glyphs = glyph_bank(fonts) if glyphs is None else glyphs
            pick = torch.from_numpy(rng.integers(0, len(glyphs), len(g_idx)))
            out[g_idx] = (glyphs[pick] * 255).round().to(torch.uint8).to(device)
    return out, picked


def add_objects(bank: "NegativeBank", seed: int, share: float) -> None:
    """Add `share` as many everyday objects (shapes.OBJECT_SHAPES: blobs on stems, crescents, keys, lightning bolts,
    shapes inside shapes) as the bank holds generated non-digits (`mix = {objects = ...}`; the kinds real doodles
    of apples, moons and keys are misread as). Drawn with their own seed: the bank's other kinds stay as they were."""
    x, kinds = make_negatives(round(share * len(bank.images)), seed + 7919, bank.images.device,
                              kinds=tuple(OBJECT_SHAPES))
    bank.images = torch.cat([bank.images, x])
    bank.kinds = [*bank.kinds, *kinds]


def pairs(digits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Two digits side by side, framed as a drawing: (B, 1, 28, 28) in [0, 1] from a batch of digits."""
    b = digits.shape[0]
    other = digits[torch.randperm(b, generator=generator, device=digits.device)]
    gap = int(torch.randint(0, 6, (1,), generator=generator, device=digits.device))
    wide = torch.cat([digits, digits.new_zeros(b, 1, 28, gap), other], -1)  # (B, 1, 28, 56 + gap)
    side = wide.shape[-1]
    square = F.pad(wide, (0, 0, (side - 28) // 2, side - 28 - (side - 28) // 2))
    return renormalize(F.interpolate(square, size=(GRID, GRID), mode="bilinear", align_corners=False,
                                     antialias=True))


class NegativeBank:
    """A few thousand negatives on the device; `sample(k)` serves k of them freshly distorted, a quarter of
    them two training digits side by side."""

    def __init__(self, size: int = 12000, seed: int = 0, device="cpu"):
        self.images, self.kinds = make_negatives(size, seed, device, kinds=OUTPUT_KINDS, share=OUTPUT_SHARE)
        self.device = device

    def __len__(self):
        return len(self.images)

    def sample(self, k: int, generator: torch.Generator | None = None,
               digits: torch.Tensor | None = None) -> torch.Tensor:
        """(k, 1, 28, 28) in [0, 1]. `digits` ((B, 1, 28, 28) in [0, 1]): the batch to build pairs from."""
        n_pairs = k // 4 if digits is not None and len(digits) >= 2 else 0
        idx = torch.randint(0, len(self.images), (k - n_pairs,), generator=generator, device=self.device)
        x = self.images[idx].float().div_(255).unsqueeze(1)
        x = canvas_like(x, generator, distortions=("stroke", "elastic"))
        if n_pairs:
            x = torch.cat([x, pairs(digits[:n_pairs], generator)])
        return x
