"""Digits as a coarse source leaves them: an 8x8 scan, a thumbnail, a small photo, enlarged back to a canvas.

UCI's optdigits were made like this: each writer's digit fitted in a 32x32 bitmap, then its ink pixels counted in
4x4 blocks, an 8x8 grid. Enlarged back to a canvas such a grid loses what the pen drew: thin strokes break, small
loops fill in, a flag melts into its stem. A model that never saw this reads such digits 3-6 points worse as a
solid stroke than as grey ink, depending on how the grid is enlarged (bench/reader/real_handwriting.py). `with_coarse`
puts a share of the training digits through the same steps (random ink cut, random grid alignment, solid or
grey enlargement) and frames them with the app's own `canvas_to_digit`, so that the model learns them as the app
will show them to it (`--coarse`).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from lenet.sources.data import Split
from lenet.reading.preprocess import INK_MIN, canvas_to_digit_u8

BITMAP = 32  # optdigits: the digit fitted in 32x32 ...
BLOCK = 4  # ... and its ink counted in 4x4 blocks (an 8x8 grid of 0-16)
SHARE = 0.15  # --coarse: this many coarse copies per training digit, added to the training set


def _ink_crop(digit: np.ndarray) -> torch.Tensor | None:
    """A framed image's ink ((28, 28) uint8) cut to its bounding box, in [0, 1]; None when there is no ink."""
    x = digit.astype(np.float32) / 255
    rows, cols = np.nonzero(x > INK_MIN)
    if len(rows) == 0:
        return None
    return torch.from_numpy(np.ascontiguousarray(x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]))


def coarse_digit(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST-style digit ((28, 28) uint8, ink bright) -> the same digit through an 8x8 grid, framed as the app
    frames a drawing ((28, 28) uint8)."""
    crop = _ink_crop(digit)
    if crop is None:
        return digit
    scale = BITMAP * rng.uniform(0.85, 1.0) / max(crop.shape)  # a little room, so the grid falls anywhere on it
    h, w = (max(1, round(n * scale)) for n in crop.shape)
    fitted = F.interpolate(crop[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
    bitmap = np.zeros((BITMAP, BITMAP), np.float32)
    top, left = rng.integers(0, BITMAP - h + 1), rng.integers(0, BITMAP - w + 1)
    # 0.15-0.4: the ink MNIST's strokes then leave in the bitmap matches optdigits' (about 300 of 1,024 pixels)
    bitmap[top:top + h, left:left + w] = fitted > rng.uniform(0.15, 0.4)
    n = BITMAP // BLOCK
    counts = bitmap.reshape(n, BLOCK, n, BLOCK).sum((1, 3)) / BLOCK ** 2  # (8, 8) in [0, 1]
    size = int(rng.integers(160, 257))
    cut = rng.uniform(100, 155) / 255 if rng.random() < 0.8 else None  # solid 80% of the time, else grey
    canvas = grid_canvas(np.round(counts * 255).astype(np.uint8), size, Image.BICUBIC, cut, margin=32)
    framed = canvas_to_digit_u8(canvas)
    return digit if framed is None else framed  # None: the cut left no ink


def grid_canvas(grid: np.ndarray, size: int, enlarge, cut: float | None, margin: int) -> np.ndarray:
    """A coarse grid of ink ((8, 8) uint8, 255 = full) enlarged to size x size pixels with PIL's `enlarge` filter,
    cut solid where ink > `cut` (0-1) or left grey (None), on a white canvas with `margin` pixels around it:
    (size + 2 margin, size + 2 margin) uint8, black ink on white, as the Draw tab sends it."""
    big = np.asarray(Image.fromarray(grid).resize((size, size), enlarge)) / 255
    ink = (big > cut).astype(np.float32) if cut is not None else big
    canvas = np.zeros((size + 2 * margin, size + 2 * margin), np.float32)
    canvas[margin:-margin, margin:-margin] = ink
    return np.round(255 * (1 - canvas)).astype(np.uint8)


def with_coarse(train: Split, seed: int, share: float = SHARE) -> Split:
    """The training digits plus coarse copies of a random `share` of them (labels kept): built once, on the CPU
    (about 3 ms a digit)."""
    rng = np.random.default_rng(seed)
    k = round(share * len(train))
    if k == 0:
        return train
    picked = torch.from_numpy(rng.choice(len(train), size=k, replace=False))
    coarse = np.stack([coarse_digit(d, rng) for d in train.images[picked].cpu().numpy()])
    return train.plus(coarse, train.labels[picked])


def small_picture(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One framed image ((28, 28) uint8, ink bright) -> the same drawing sent as a small picture (28-64 px a
    side, the drawing 30-85% of it, anywhere on it) and framed as the app frames any picture ((28, 28) uint8).
    So small a picture blurs what the pen drew: a polygon's corners round off into a 0."""
    crop = _ink_crop(digit)
    if crop is None:
        return digit
    side = int(rng.integers(28, 65))
    scale = side * rng.uniform(0.3, 0.85) / max(crop.shape)
    h, w = (max(1, round(n * scale)) for n in crop.shape)
    small = F.interpolate(crop[None, None], size=(h, w), mode="bilinear", antialias=True,
                          align_corners=False)[0, 0].numpy()
    picture = np.zeros((side, side), np.float32)
    top, left = rng.integers(0, side - h + 1), rng.integers(0, side - w + 1)
    picture[top:top + h, left:left + w] = small
    framed = canvas_to_digit_u8(np.round(255 * (1 - picture)).astype(np.uint8))
    return digit if framed is None else framed
