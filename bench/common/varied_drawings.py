"""Varied drawings as the Draw surface sends them (stroke JSON dicts), for parity checks between the server's
reader and the page's (lenet/static/reader.js): digits 0-9 (bench/common/digit_strokes.py) moved, scaled, squeezed,
slanted and wobbled, and non-digits (scribbles, spirals, stars, dots, crossing lines, tiny marks, boxes),
with thin to thick pens, small to large, in the 280-px drawing space. Deterministic for a seed."""
from __future__ import annotations

import math

import numpy as np

from bench.common.digit_strokes import DIGITS, SPAN, polyline

SIZE = 280


def _flat(points) -> list[float]:
    return [round(float(min(SIZE, max(0.0, v))), 1) for p in points for v in p]


def _digit(rng, d: str):
    scale = rng.uniform(0.25, 1.25) * SIZE / SPAN
    sx, shear, rot = scale * rng.uniform(0.7, 1.2), rng.uniform(-0.3, 0.3), rng.uniform(-0.25, 0.25)
    cx, cy = rng.uniform(90, 190, 2)
    c, s = math.cos(rot), math.sin(rot)
    out = []
    for stroke in DIGITS[d]:
        pts = np.asarray(polyline(stroke, step=rng.uniform(3, 9)), float)
        pts = pts + rng.normal(0, rng.uniform(0, 2.5), pts.shape)
        x, y = pts[:, 0] * sx + shear * pts[:, 1] * scale, pts[:, 1] * scale
        out.append(_flat(zip(cx + c * x - s * y, cy + s * x + c * y)))
    return out


def _scribble(rng):
    n = rng.integers(4, 16)
    pts = rng.uniform(30, 250, (n, 2))
    return [_flat(polyline([tuple(p) for p in pts], step=5))]


def _spiral(rng):
    t = np.linspace(0, rng.uniform(8, 20), 120)
    r = rng.uniform(3, 7) * t
    cx, cy = rng.uniform(100, 180, 2)
    return [_flat(zip(cx + r * np.cos(t), cy + r * np.sin(t)))]


def _star(rng):
    cx, cy, R = *rng.uniform(100, 180, 2), rng.uniform(30, 110)
    pts = [(cx + R * math.cos(-math.pi / 2 + k * 4 * math.pi / 5), cy + R * math.sin(-math.pi / 2 + k * 4 * math.pi / 5))
           for k in range(6)]
    return [_flat(polyline(pts, step=6))]


def _dots(rng):
    return [_flat([tuple(rng.uniform(20, 260, 2))]) for _ in range(rng.integers(1, 6))]


def _lines(rng):
    out = []
    for _ in range(rng.integers(2, 5)):
        a, b = rng.uniform(20, 260, 2), rng.uniform(20, 260, 2)
        out.append(_flat(polyline([tuple(a), tuple(b)], step=7)))
    return out


def _tiny(rng):
    cx, cy = rng.uniform(20, 260, 2)
    return [_flat(polyline([(cx, cy), (cx + rng.uniform(-6, 6), cy + rng.uniform(-6, 6))], step=1))]


def _box(rng):
    x0, y0 = rng.uniform(20, 120, 2)
    x1, y1 = x0 + rng.uniform(40, 140), y0 + rng.uniform(40, 140)
    return [_flat(polyline([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)], step=6)),
            _flat(polyline([(x0, y0), (x1, y1)], step=6))]


NON_DIGITS = (_scribble, _spiral, _star, _dots, _lines, _tiny, _box)


def varied_drawings(n: int = 200, seed: int = 0) -> list[tuple[str, dict]]:
    """n (kind, stroke payload) pairs: about 60% digits, 40% non-digits; pen widths 4..40."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        width = float(rng.choice([4, 8, 14, 22, 22, 30, 40]))
        if rng.random() < 0.6:
            d = str(rng.integers(0, 10))
            kind, strokes = f"digit {d}", _digit(rng, d)
        else:
            make = NON_DIGITS[rng.integers(0, len(NON_DIGITS))]
            kind, strokes = make.__name__.strip("_"), make(rng)
        out.append((kind, {"seq": i + 1, "size": SIZE, "width": width, "strokes": strokes}))
    return out
