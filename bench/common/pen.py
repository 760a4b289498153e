"""A round pen drawing on the app's 280x280 canvas, through the app's own stroke path (lenet.reading.strokes), and the
small geometry helpers the non-digit benchmarks draw with."""
from __future__ import annotations

import math

import numpy as np

from lenet.reading.strokes import drawing_image

SIZE = 280


class Pen:
    """Strokes with a round pen, sent through the app's own stroke path (lenet.reading.strokes, as the Draw tab's surface
    sends them): whatever the app does with a drawing's strokes, this set goes through too."""

    def __init__(self, rng, radius=None):
        self.r = radius if radius is not None else rng.uniform(6, 16)
        self.rng = rng
        self.strokes = []

    def line(self, pts):
        self.strokes.append([float(v) for p in pts for v in p])

    def dot(self, x, y, radius):
        """A filled dot wider than the pen: a small ring the pen fills in (a tap when it is not wider)."""
        ring = max(0.0, radius - self.r)
        self.line([(x + ring * math.cos(a), y + ring * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 12)])

    def canvas(self):
        rgba = drawing_image({"size": SIZE, "width": 2 * self.r, "strokes": self.strokes})
        return np.stack([255 - rgba[..., 3]] * 3, -1)


def random_box(rng):
    """A random box to draw in: centre and half-size in canvas pixels."""
    half = rng.uniform(45, 115)
    cx, cy = rng.uniform(half + 15, SIZE - half - 15, 2)
    return cx, cy, half


def in_box(cx, cy, half, xy, wobble=0.0, rng=None):
    """Points given in a [-1, 1] box (x right, y down) -> canvas pixels in the box (cx, cy, half), a little shaken."""
    xy = np.asarray(xy, float)
    if wobble and rng is not None:
        xy = xy + rng.normal(0, wobble, xy.shape)
    return np.stack([cx + half * xy[:, 0], cy + half * xy[:, 1]], 1)


def arc(t0, t1, n=40, rx=1.0, ry=1.0, x0=0.0, y0=0.0):
    """n points along an ellipse's arc from angle t0 to t1 (radians), in the same [-1, 1] units."""
    t = np.linspace(t0, t1, n)
    return np.stack([x0 + rx * np.cos(t), y0 + ry * np.sin(t)], 1)
