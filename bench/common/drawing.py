"""Shared by the benchmarks: MNIST digits rendered the way a person draws them on the app's canvas.

A digit's ink (its bounding box) is upscaled by a random factor with bilinear interpolation,
thresholded at 0.5 (a pen stroke is solid), its stroke made thinner or thicker at canvas scale
(erosion / dilation with `max_pool2d`), lightly anti-aliased (a 3x3 box blur, like a browser's
canvas edges) and placed at a random position on a large canvas.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

STROKES = ("thin", "normal", "thick")


@dataclass(frozen=True)
class Geometry:
    factor: float  # upscale factor from MNIST pixels to canvas pixels
    u: float  # uniform in [0, 1): horizontal position within the free room
    v: float  # uniform in [0, 1): vertical position within the free room


def random_geometry(rng: np.random.Generator, factors=(4.0, 12.0)) -> Geometry:
    return Geometry(float(rng.uniform(*factors)), float(rng.random()), float(rng.random()))


def _dilate(m: torch.Tensor, r: int) -> torch.Tensor:
    """Dilation by an octagon of radius r (a round pen tip): alternating 3x3 square and plus-shaped max-pools."""
    for k in range(r):
        if k % 2 == 0:
            m = F.max_pool2d(m, 3, stride=1, padding=1)
        else:
            m = torch.maximum(F.max_pool2d(m, (3, 1), stride=1, padding=(1, 0)),
                              F.max_pool2d(m, (1, 3), stride=1, padding=(0, 1)))
    return m


def _erode(m: torch.Tensor, r: int) -> torch.Tensor:
    return -_dilate(-m, r)


def stroke_radius(stroke: str, factor: float, thin: float = 0.4, thick: float = 0.8) -> int:
    """Erosion (thin) / dilation (thick) radius in canvas pixels: a fraction of one MNIST pixel."""
    if stroke == "thin":
        return max(1, round(thin * factor))
    if stroke == "thick":
        return max(1, round(thick * factor))
    return 0


def render_ink(digit: np.ndarray | torch.Tensor, geom: Geometry, stroke: str = "normal", size: int = 400,
               thin: float = 0.4, thick: float = 0.8) -> np.ndarray:
    """(28, 28) uint8 MNIST digit -> (size, size) float32 ink in [0, 1] (1 = full ink)."""
    x = torch.as_tensor(np.asarray(digit)).float() / 255.0
    rows = torch.nonzero(x.amax(1) > 0).flatten()
    cols = torch.nonzero(x.amax(0) > 0).flatten()
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    r = stroke_radius(stroke, geom.factor, thin, thick)
    room = size - 2 * (r + 4)  # keep the whole (possibly dilated) digit on the canvas
    f = min(geom.factor, room / max(h, w))
    big = F.interpolate(x[None, None], size=(max(1, round(h * f)), max(1, round(w * f))), mode="bilinear",
                        align_corners=False)
    m = (big > 0.5).float()
    pad = r + 2
    m = F.pad(m, (pad, pad, pad, pad))
    if stroke == "thin":
        thin_m = _erode(m, r)
        # A pen never breaks a stroke: where erosion would wipe out too much, erode less.
        while r > 1 and thin_m.sum() < 0.25 * m.sum():
            r -= 1
            thin_m = _erode(m, r)
        m = thin_m
    elif stroke == "thick":
        m = _dilate(m, r)
    m = F.avg_pool2d(m, 3, stride=1, padding=1, count_include_pad=False)  # light anti-aliasing
    m = m[0, 0]
    nz_r = torch.nonzero(m.amax(1) > 0).flatten()
    nz_c = torch.nonzero(m.amax(0) > 0).flatten()
    m = m[nz_r.min():nz_r.max() + 1, nz_c.min():nz_c.max() + 1]
    H, W = m.shape
    top = int(geom.v * (size - H + 1))
    left = int(geom.u * (size - W + 1))
    ink = torch.zeros(size, size)
    ink[top:top + H, left:left + W] = m
    return ink.numpy()


def ink_to_white_canvas(ink: np.ndarray) -> np.ndarray:
    """Black ink on white, (H, W, 3) uint8: what a person sees."""
    g = np.round(255 * (1 - np.clip(ink, 0, 1))).astype(np.uint8)
    return np.stack([g] * 3, -1)


def ink_to_rgba_canvas(ink: np.ndarray) -> np.ndarray:
    """Black strokes on a transparent background, (H, W, 4) uint8: gr.Sketchpad(image_mode="RGBA")."""
    out = np.zeros(ink.shape + (4,), np.uint8)
    out[..., 3] = np.round(255 * np.clip(ink, 0, 1)).astype(np.uint8)
    return out
