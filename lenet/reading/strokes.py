"""The Draw tab's stroke payload -> the canvas image it stands for (no UI framework).

The drawing surface (lenet/static/pad.js) sends what the visitor drew as a small JSON text, not as images:

    {"seq": 7, "size": 280, "width": 22, "strokes": [[x0, y0, x1, y1, ...], ...]}

coordinates in a square `size` x `size` drawing space (whatever size the canvas has on screen), `width` the
brush diameter in that space. `rasterise` draws the strokes back as black ink on a transparent canvas (with a
narrower pen when the drawing is small for the visitor's: `pen_width`), the same (H, W, 4) RGBA picture
gr.Sketchpad(image_mode="RGBA") produced, so `lenet.reading.preprocess.canvas_to_digit` reads it exactly as it read
the Sketchpad. A few hundred points are a few KB; a PNG per layer was ~21 uploads.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from lenet.reading.preprocess import STROKE_TARGET, STROKE_TOLERANCE, WORK, CanvasError

SIZE = 280  # the drawing space the surface sends (and the Sketchpad's canvas size before it)
BRUSH = 22  # brush diameter in that space: a stroke of ~1/10 of a digit's height, like a pen on paper
MAX_POINTS = 20_000  # a digit is a few hundred points; more is not a drawing
MAX_STROKES = 500
SUPERSAMPLE = 2  # strokes drawn at 2x and averaged down: anti-aliased edges, as a browser canvas draws them
# The widest stroke canvas_to_digit leaves alone, as a share of the ink's extent (MNIST's 90th percentile)
PEN_SHARE = STROKE_TARGET * (1 + STROKE_TOLERANCE) / WORK


@dataclass(frozen=True)
class Drawing:
    strokes: list[np.ndarray]  # one (n, 2) float array of (x, y) per stroke, in [0, size]
    size: int = SIZE
    width: float = BRUSH
    seq: int = 0

    @property
    def empty(self) -> bool:
        return not self.strokes


def parse(text: str | bytes | dict | None) -> Drawing:
    """The surface's JSON (or the dict it decodes to; None before anything was drawn) -> a Drawing. Raises
    CanvasError saying what is wrong."""
    if text is None:
        return Drawing([])
    if isinstance(text, (str, bytes)):
        if not text.strip():
            return Drawing([])
        try:
            data = json.loads(text)
        except ValueError:
            raise CanvasError("the drawing is not valid JSON") from None
    else:
        data = text
    if not isinstance(data, dict) or not isinstance(data.get("strokes", []), list):
        raise CanvasError('expected {"strokes": [[x0, y0, x1, y1, ...], ...]}')
    size = _number(data.get("size", SIZE), "size")
    width = _number(data.get("width", BRUSH), "width")
    if not 8 <= size <= 4096 or not 0 < width <= size:
        raise CanvasError(f"size must be 8..4096 and width 0..size, got size {size}, width {width}")
    raw = data.get("strokes") or []
    if len(raw) > MAX_STROKES:
        raise CanvasError(f"{len(raw)} strokes; at most {MAX_STROKES}")
    strokes, total = [], 0
    for s in raw:
        if not isinstance(s, list) or len(s) % 2 or not all(isinstance(v, (int, float)) for v in s):
            raise CanvasError("each stroke must be a flat list of numbers x0, y0, x1, y1, ...")
        total += len(s) // 2
        if total > MAX_POINTS:
            raise CanvasError(f"more than {MAX_POINTS} points")
        if s:
            pts = np.asarray(s, np.float64).reshape(-1, 2)
            if not np.isfinite(pts).all():
                raise CanvasError("stroke points must be finite numbers")
            strokes.append(np.clip(pts, 0, size))
    seq = data.get("seq", 0)
    return Drawing(strokes, int(size), float(width), int(seq) if isinstance(seq, (int, float)) else 0)


def _number(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise CanvasError(f"{name} must be a number, got {v!r}")
    return float(v)


def pen_width(drawing: Drawing) -> float:
    """The pen the strokes are drawn back with. A drawing small for the visitor's pen (a digit 50 px tall with
    a 22-px brush) would come out a blob with its loops filled in, and be misread; the strokes say where the pen
    went, so it is drawn back with a pen fitted to it: no wider than the widest stroke canvas_to_digit leaves
    alone (PEN_SHARE of the ink's extent; wider ones it thins anyway, but too late for the loops), never
    thinner than a third of the visitor's pen. A mark no bigger than the pen (a tap, a dot) keeps it.
    bench/reader/writing_styles.py --scale 0.35 (digits ~45 px tall): 72% read right with the visitor's pen, 99% with
    the fitted one."""
    extent = float(np.ptp(np.concatenate(drawing.strokes), 0).max())  # of the pen's path
    if extent < drawing.width:
        return drawing.width
    fitted = extent * PEN_SHARE / (1 - PEN_SHARE)  # the ink spans the path plus one pen width
    return min(drawing.width, max(fitted, drawing.width / 3))


def rasterise(drawing: Drawing, out_size: int = SIZE) -> np.ndarray | None:
    """(out_size, out_size, 4) uint8: black strokes, alpha = ink (round caps and joints), or None if empty.

    A round pen of radius r (half the pen, less half a pixel at SUPERSAMPLE x) swept along each stroke's segments:
    at SUPERSAMPLE x the size, a pixel's coverage is
    r + 1/2 minus its centre's distance to the nearest segment, clipped to [0, 1] (a one-pixel anti-aliased edge);
    each SUPERSAMPLE x SUPERSAMPLE block is averaged and rounded to 0..255. Plain float64 arithmetic in a fixed
    order, so the Draw tab's in-browser reader (lenet/static/reader.js, `rasterise`) computes the very same bytes."""
    if drawing.empty:
        return None
    alpha = _alpha(drawing, out_size)
    out = np.zeros((out_size, out_size, 4), np.uint8)
    out[..., 3] = alpha
    return out


def _alpha(drawing: Drawing, out_size: int) -> np.ndarray:
    k = SUPERSAMPLE * out_size / drawing.size
    big = SUPERSAMPLE * out_size
    # The ink PIL's wide lines left (what the shipped reader was measured and calibrated with): the pen's width
    # rounded to whole pixels at 2x, less one pixel (a 22-px pen: 21.5 px of ink across, at 280 px)
    r = max(0.5, max(1, round(pen_width(drawing) * k)) / 2 - 0.5)
    reach = r + 1.0  # pixels further than r + 1/2 from a segment get nothing
    cover = np.zeros((big, big), np.float64)
    centres = np.arange(big, dtype=np.float64) + 0.5
    for stroke in drawing.strokes:
        pts = stroke * k
        ends = list(zip(pts[:-1], pts[1:])) if len(pts) > 1 else [(pts[0], pts[0])]
        for (ax, ay), (bx, by) in ends:
            x0, x1 = max(0, math.floor(min(ax, bx) - reach)), min(big, math.ceil(max(ax, bx) + reach) + 1)
            y0, y1 = max(0, math.floor(min(ay, by) - reach)), min(big, math.ceil(max(ay, by) + reach) + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            px, py = centres[x0:x1][None, :], centres[y0:y1][:, None]
            vx, vy = bx - ax, by - ay
            l2 = vx * vx + vy * vy
            t = np.clip(((px - ax) * vx + (py - ay) * vy) / l2, 0.0, 1.0) if l2 > 0 else 0.0
            dx, dy = px - (ax + t * vx), py - (ay + t * vy)
            c = np.clip(r + 0.5 - np.sqrt(dx * dx + dy * dy), 0.0, 1.0)
            np.maximum(cover[y0:y1, x0:x1], c, out=cover[y0:y1, x0:x1])
    b = cover.reshape(out_size, SUPERSAMPLE, out_size, SUPERSAMPLE)
    total = np.zeros((out_size, out_size), np.float64)
    for i in range(SUPERSAMPLE):  # summed in a fixed order: row by row, left to right
        for j in range(SUPERSAMPLE):
            total = total + b[:, i, :, j]
    return np.floor(total * (255 / SUPERSAMPLE**2) + 0.5).astype(np.uint8)


def drawing_image(text) -> np.ndarray | None:
    """The surface's JSON -> the RGBA canvas it stands for, or None when nothing is drawn."""
    return rasterise(parse(text))
