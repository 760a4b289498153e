"""Canvas -> MNIST-style digit, the way MNIST itself was made.

ink mask -> drop stray specks -> bounding box -> even out the stroke width -> scale to fit 20x20
keeping the aspect ratio (anti-aliased) -> place in 28x28 with the centre of mass at the centre.
Padding to the model's input size and normalising happen in `lenet.sources.data.to_model_input`.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

MAX_SIDE = 4096  # larger canvases are refused: nobody draws a digit on 16 megapixels
BOX = 20  # MNIST fits each digit's bounding box in 20x20 ...
FIELD = 28  # ... and centres its mass in 28x28
COM_TARGET = 14.0  # measured: MNIST's mean centre of mass, in pixel indices, is (14.00, 14.01)
WORK = 80  # stroke width is evened out at 4x the 20-pixel box
STROKE_TARGET = 8.0  # MNIST median 7.96 at WORK scale (bench/reader/stroke_width.py)
STROKE_TOLERANCE = 0.35  # MNIST p10..p90 is 5.7..11.1: leave strokes in that band alone
INK_MIN = 0.1  # pixels fainter than this are background
GRAIN_MAX = 0.2  # the most of a page's grain (noise) taken off the ink: 3 sigma of 0.067


class CanvasError(ValueError):
    """The input is not a usable canvas image; the message says why."""


def ink_from_canvas(image) -> np.ndarray:
    """Any (H, W) / (H, W, 3) / (H, W, 4) image -> (H, W) float32 ink in [0, 1].

    Strokes may be dark on light, light on dark, or opaque on a transparent background; the
    background (the paper: its shade and its grain) is read off the image's border.
    """
    a = np.asarray(image)
    if a.dtype == object or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise CanvasError(f"expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), got {a.shape}")
    if min(a.shape[:2]) < 1:
        raise CanvasError("the image is empty (0 pixels)")
    if max(a.shape[:2]) > MAX_SIDE:
        raise CanvasError(f"the image is {a.shape[1]}x{a.shape[0]} pixels; at most {MAX_SIDE} per side, please")
    a = a.astype(np.float32)
    if np.issubdtype(np.asarray(image).dtype, np.integer) or a.max() > 1.0:
        a /= 255.0
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = a[..., 3]
        if alpha.min() < 0.99:  # real transparency: the strokes are what is opaque
            return np.clip(alpha, 0, 1)
        a = a[..., :3]
    gray = a if a.ndim == 2 else a[..., :3].mean(-1) if a.shape[2] == 3 else a[..., 0]
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    # Ink is how far a pixel is from the paper, past the paper's own grain: a scan or a photo of a page is grey
    # and noisy, not white (a clean canvas has paper 1.0 or 0.0 and no grain, and reads as before).
    # 3 sigma, from the median absolute deviation; at most GRAIN_MAX: a border crossed by ink is not grain
    grain = min(3 * 1.4826 * float(np.median(np.abs(border - paper))), GRAIN_MAX)
    light = paper > 0.5
    ink = paper - gray if light else gray - paper
    span = (paper if light else 1.0 - paper) - grain  # the most ink there can be
    return np.clip((ink - grain) / max(span, 1e-3), 0, 1).astype(np.float32)


def _components(mask: np.ndarray) -> np.ndarray:
    """Connected components (8-neighbour) of a small bool grid: int labels, 0 = background (a flood fill)."""
    ink = set(zip(*(axis.tolist() for axis in np.nonzero(mask))))
    label: dict[tuple[int, int], int] = {}
    n = 0
    for start in sorted(ink):
        if start in label:
            continue
        n += 1
        label[start] = n
        stack = [start]
        while stack:
            y, x = stack.pop()
            for q in ((y - 1, x - 1), (y - 1, x), (y - 1, x + 1), (y, x - 1), (y, x + 1),
                      (y + 1, x - 1), (y + 1, x), (y + 1, x + 1)):
                if q in ink and q not in label:
                    label[q] = n
                    stack.append(q)
    labels = np.zeros(mask.shape, np.int64)
    if label:
        rows, cols = zip(*label)
        labels[rows, cols] = list(label.values())
    return labels


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    """Zero out small marks that lie away from the digit (stray dots), on a grid of at most 32x32
    (as good as 64x64 on the benchmark's canvases, and twice as fast)."""
    f = max(1, math.ceil(max(ink.shape) / 32))
    h, w = math.ceil(ink.shape[0] / f), math.ceil(ink.shape[1] / f)
    padded = np.zeros((h * f, w * f), np.float32)
    padded[:ink.shape[0], :ink.shape[1]] = ink
    blocks = padded.reshape(h, f, w, f)
    mass = blocks.sum((1, 3))
    labels = _components(blocks.max((1, 3)) > INK_MIN)
    n = labels.max()
    if n <= 1:
        return ink
    ids, inverse = np.unique(labels, return_inverse=True)
    masses = np.bincount(inverse.ravel(), mass.ravel())
    masses[ids == 0] = 0
    big = masses >= 0.25 * masses.max()
    keep = np.isin(labels, ids[big])
    rows, cols = np.nonzero(keep)
    margin = 0.1 * max(np.ptp(rows) + 1, np.ptp(cols) + 1)
    r0, r1, c0, c1 = rows.min() - margin, rows.max() + margin, cols.min() - margin, cols.max() + margin
    for i in ids[~big & (ids > 0)]:
        rr, cc = np.nonzero(labels == i)
        if rr.max() >= r0 and rr.min() <= r1 and cc.max() >= c0 and cc.min() <= c1:  # touches the digit's box
            keep |= labels == i
    keep_full = np.repeat(np.repeat(keep, f, 0), f, 1)[:ink.shape[0], :ink.shape[1]]
    return ink * keep_full


def _bbox(ink: np.ndarray, threshold: float = INK_MIN):
    rows, cols = np.nonzero(ink > threshold)
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def stroke_width(mask: torch.Tensor) -> float:
    """Mean stroke width of a bool mask: a stroke of length L and width w has area wL, edge 2L."""
    m = F.pad(mask.float()[None, None], (1, 1, 1, 1))  # zeros around: pixels on the crop's border are edges
    inner = -F.max_pool2d(-m, 3, stride=1)  # erosion
    edge = (m[..., 1:-1, 1:-1] - inner).sum().item()
    return 2 * m.sum().item() / max(edge, 1.0)


@lru_cache(maxsize=4096)
def _aa_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's anti-aliased bilinear weights along one axis (F.interpolate(mode="bilinear", antialias=True,
    align_corners=False)), computed in float32 as ATen computes them (checked bit for bit against torch in
    tests/test_webread.py): (n_out, K) source indices and weights, zero weights past each window's end.
    All windows at once (the very values the scalar-by-scalar version gave, compared for every size up to 299 x
    99), and kept per size (read-only): computed scalar by scalar, they were half of reading a canvas."""
    f, d = np.float32, np.float64
    scale = f(n_in / n_out)
    support = scale if scale >= 1 else f(1.0)
    inv = f(1.0 / float(scale)) if scale >= 1 else f(1.0)
    # float32 values, float64 where ATen's C++ promotes them (the + 0.5s and the product with inv)
    centre = (d(scale) * (np.arange(n_out) + 0.5)).astype(f)
    lo = np.maximum(np.trunc((centre - support).astype(d) + 0.5).astype(np.int64), 0)
    size = np.minimum(np.trunc((centre + support).astype(d) + 0.5).astype(np.int64), n_in) - lo
    j = np.arange(max(int(size.max()), 0))
    x = np.abs((((lo[:, None] + j).astype(f) - centre[:, None]).astype(d) + 0.5) * d(inv)).astype(f)
    weight = np.where((x < 1) & (j < size[:, None]), (1.0 - x.astype(d)).astype(f), f(0.0))
    total = np.zeros(n_out, f)
    for c in j:  # each window's weights summed in order, in float32, as ATen sums them
        total = total + weight[:, c]
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(total[:, None] != 0, weight / total[:, None], weight).astype(f)
    index = np.minimum(lo[:, None] + j, n_in - 1)
    index.flags.writeable = weight.flags.writeable = False
    return index, weight


def _resize_axis(x: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    if x.shape[axis] == n_out:
        return x
    index, weight = _aa_taps(x.shape[axis], n_out)
    x = np.moveaxis(x, axis, -1)
    acc = x[..., index[:, 0]] * weight[:, 0]
    for k in range(1, index.shape[1]):  # tap by tap, each product rounded to float32, then the sum
        acc = acc + x[..., index[:, k]] * weight[:, k]
    return np.ascontiguousarray(np.moveaxis(acc, -1, axis))


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    """Anti-aliased bilinear resize of a 2-D float32 image: torch's F.interpolate(antialias=True) weights, summed
    in one fixed order (rows first, then columns) in float32, so that the page's reader (lenet/static/reader.js)
    gets the very same values: torch's own kernel sums in an order of its own (within ~1 float32 ulp of this),
    and a pixel near 0.5 or 0.1 must fall on the same side on both. bench/reader/drawn_digits.py: unchanged."""
    a = x.detach().cpu().numpy().astype(np.float32, copy=False)
    a = _resize_axis(_resize_axis(a, int(size[1]), 1), int(size[0]), 0)
    return torch.from_numpy(a)


def _even_out_stroke(crop: torch.Tensor) -> torch.Tensor:
    """Thicken hairlines and thin down marker strokes towards MNIST's stroke width (at WORK scale)."""
    h, w = crop.shape
    scale = WORK / max(h, w)
    x = _resize(crop, (max(1, round(h * scale)), max(1, round(w * scale))))
    width = stroke_width(x > 0.5)
    ratio = width / STROKE_TARGET
    if abs(ratio - 1) <= STROKE_TOLERANCE or not (x > 0.5).any():
        return x
    r = min(max(1, round(abs(width - STROKE_TARGET) / 2)), WORK // 10)  # bounded work, whatever the input
    x = F.pad(x, (r, r, r, r))[None, None]
    if width < STROKE_TARGET:
        x = F.max_pool2d(x, 2 * r + 1, stride=1, padding=r)  # dilate
    else:
        x = -F.max_pool2d(-x, 2 * r + 1, stride=1, padding=r)  # erode
    x = x[0, 0]
    if (x > INK_MIN).sum() == 0:
        return _resize(crop, (max(1, round(h * scale)), max(1, round(w * scale))))
    r0, r1, c0, c1 = _bbox(x.numpy())
    return x[r0:r1, c0:c1]


def canvas_to_digit(image, even_strokes: bool = True) -> np.ndarray | None:
    """A canvas image -> (28, 28) float32 in [0, 1], ink bright; None when there is no ink to read."""
    ink = ink_from_canvas(image)
    if ink.max() <= INK_MIN or (ink > INK_MIN).sum() < 2:
        return None
    ink = _drop_specks(ink)
    r0, r1, c0, c1 = _bbox(ink)
    crop = torch.from_numpy(np.ascontiguousarray(ink[r0:r1, c0:c1]))
    if even_strokes:
        crop = _even_out_stroke(crop)
    h, w = crop.shape
    scale = BOX / max(h, w)
    digit = _resize(crop, (max(1, round(h * scale)), max(1, round(w * scale)))).clamp(0, 1).numpy()
    peak = digit.max()
    if peak <= 0:
        return None
    digit = np.clip(digit / peak, 0, 1)  # faint thin strokes reach full ink, as in MNIST
    return _place_by_mass(digit)


def canvas_to_digit_u8(image) -> np.ndarray | None:
    """canvas_to_digit as (28, 28) uint8 (ink 255), as training sets keep their digits; None when there is no ink."""
    digit = canvas_to_digit(image)
    return None if digit is None else np.round(digit * 255).astype(np.uint8)


def _place_by_mass(digit: np.ndarray) -> np.ndarray:
    h, w = digit.shape
    ys, xs = np.mgrid[0:h, 0:w]
    m = digit.sum()
    cy, cx = (digit * ys).sum() / m, (digit * xs).sum() / m
    top = int(np.clip(round(COM_TARGET - cy), 0, FIELD - h))
    left = int(np.clip(round(COM_TARGET - cx), 0, FIELD - w))
    out = np.zeros((FIELD, FIELD), np.float32)
    out[top:top + h, left:left + w] = digit
    return out
