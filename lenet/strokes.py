"""The Draw tab's stroke payload -> the canvas image it stands for (no UI framework).

The drawing surface (lenet/static/pad.js) sends what the visitor drew as a small JSON text, not as images:

    {"seq": 7, "size": 280, "width": 22, "strokes": [[x0, y0, x1, y1, ...], ...]}

coordinates in a square `size` x `size` drawing space (whatever size the canvas has on screen), `width` the
brush diameter in that space. `rasterise` draws the strokes back as black ink on a transparent canvas, the
same (H, W, 4) RGBA picture gr.Sketchpad(image_mode="RGBA") produced, so `lenet.preprocess.canvas_to_digit`
reads it exactly as it read the Sketchpad. A few hundred points are a few KB; a PNG per layer was ~21 uploads.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from lenet.preprocess import CanvasError

SIZE = 280  # the drawing space the surface sends (and the Sketchpad's canvas size before it)
BRUSH = 22  # brush diameter in that space: a stroke of ~1/10 of a digit's height, like a pen on paper
MAX_POINTS = 20_000  # a digit is a few hundred points; more is not a drawing
MAX_STROKES = 500
SUPERSAMPLE = 2  # strokes drawn at 2x and averaged down: anti-aliased edges, as a browser canvas draws them


@dataclass(frozen=True)
class Drawing:
    strokes: list[np.ndarray]  # one (n, 2) float array of (x, y) per stroke, in [0, size]
    size: int = SIZE
    width: float = BRUSH
    seq: int = 0

    @property
    def empty(self) -> bool:
        return not self.strokes


def parse(text: str | bytes | dict) -> Drawing:
    """The surface's JSON (or the dict it decodes to) -> a Drawing. Raises CanvasError saying what is wrong."""
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


SMALL = 3.0  # ink narrower and shorter than this many pen widths: the pen fills the digit's loops


def drawn_small(drawing: Drawing) -> bool:
    """True when the ink (the pen included) spans less than SMALL pen widths both ways. Measured with
    bench/writing_styles.py --scale: a digit ~45 px tall on the 280-px canvas (about 2-3 pen widths) is read
    right 72% of the time, at full size 99%."""
    if drawing.empty:
        return False
    pts = np.concatenate(drawing.strokes)
    return bool((np.ptp(pts, 0) + drawing.width).max() < SMALL * drawing.width)


def rasterise(drawing: Drawing, out_size: int = SIZE) -> np.ndarray | None:
    """(out_size, out_size, 4) uint8: black strokes, alpha = ink (round caps and joints), or None if empty."""
    if drawing.empty:
        return None
    k = SUPERSAMPLE * out_size / drawing.size
    big = SUPERSAMPLE * out_size
    im = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(im)
    w = max(1.0, drawing.width * k)
    r = w / 2
    for stroke in drawing.strokes:
        pts = [(float(x) * k, float(y) * k) for x, y in stroke]
        if len(pts) > 1:
            pen.line(pts, fill=255, width=max(1, round(w)), joint="curve")
        for x, y in {pts[0], pts[-1]}:  # round caps (and a dot for a tap)
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    alpha = np.asarray(im.resize((out_size, out_size), Image.BOX))
    out = np.zeros((out_size, out_size, 4), np.uint8)
    out[..., 3] = alpha
    return out


def sequence(value) -> str:
    """The sequence number the surface put in its value ("0" for anything else): echoed back to it."""
    try:
        return str(parse(value).seq) if isinstance(value, (str, bytes)) else "0"
    except CanvasError:
        return "0"


def drawing_image(text) -> np.ndarray | None:
    """The surface's JSON -> the RGBA canvas it stands for, or None when nothing is drawn."""
    return rasterise(parse(text))
