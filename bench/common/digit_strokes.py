"""Digits 0-9 as a person draws them: strokes as (dx, dy) offsets from the centre of a 400-px drawing area.

Used by bench/app/stroke_latency.py and the browser tests to draw with a mouse or a finger (scaled to the
canvas on screen), and by tests/test_strokes.py through lenet.reading.strokes. Hand-made, one style per digit.
"""
from __future__ import annotations

import math

SPAN = 400  # the offsets below are for a drawing area this many CSS pixels wide


def ellipse(rx, ry, cx=0.0, cy=0.0, start=-90.0, n=24):
    angles = [math.radians(start + 360 * k / n) for k in range(n + 1)]
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


DIGITS: dict[str, list[list[tuple[float, float]]]] = {
    "0": [ellipse(55, 85)],
    "1": [[(-25, -60), (10, -90), (10, 90)]],
    "2": [[(-50, -50), (-30, -80), (10, -88), (45, -62), (40, -20), (-50, 80), (55, 80)]],
    "3": [[(-45, -70), (0, -88), (40, -62), (35, -25), (-5, -8), (40, 15), (45, 55), (5, 88), (-45, 70)]],
    "4": [[(-30, -88), (-50, 25), (55, 25)], [(28, -55), (28, 90)]],
    "5": [[(40, -85), (-35, -85), (-42, -10), (20, -22), (48, 20), (38, 65), (-5, 88), (-45, 70)]],
    "6": [[(30, -88), (-20, -40), (-45, 20), (-35, 70), (5, 88), (40, 60), (40, 20), (5, 0), (-40, 25)]],
    "7": [[(-55, -75), (55, -75), (-10, 85)]],
    "8": [[(0, 0), (-35, -42), (0, -88), (35, -42), (0, 0), (-42, 45), (0, 88), (42, 45), (0, 0)]],
    "9": [[(40, -40), (0, -82), (-40, -45), (-5, -5), (40, -40), (40, 88)]],
}


def polyline(points, step: float = 6.0) -> list[tuple[float, float]]:
    """The points a pen passes through along `points`, about `step` px apart (a pointer event each)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, round(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return out


def payload(strokes, size: int = 280, width: float = 22, seq: int = 1) -> dict:
    """The surface's value for these strokes, as lenet/static/pad.js sends it (SPAN px mapped to `size`)."""
    k = size / SPAN
    flat = [[round(v, 1) for x, y in polyline(s) for v in (size / 2 + k * x, size / 2 + k * y)] for s in strokes]
    return {"seq": seq, "size": size, "width": width, "strokes": flat}
