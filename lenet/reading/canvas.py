"""What a canvas value holds, in one place: the Draw surface's stroke JSON, or a Sketchpad / ImageEditor dict.

A Sketchpad-style value is {"background", "layers", "composite"}; the picture is the composite, else the first
layer, else the background (`pick_part`). The API (/predict, /feature_maps) sends that dict with uploaded files;
the Draw tab sends its strokes (lenet/reading/strokes.py). Both come here, so every reader picks the same part.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from lenet.reading.strokes import Drawing, drawing_image, rasterise


def pick_part(value: dict) -> Any:
    """The part of a Sketchpad-style dict that holds the picture: composite, then layers, then background."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a canvas value (a dict with 'composite'), got {type(value).__name__}")
    for candidate in (value.get("composite"), *(value.get("layers") or []), value.get("background")):
        if candidate is not None and not (isinstance(candidate, (str, dict)) and not candidate):
            return candidate
    return None


def canvas_image(value) -> np.ndarray | None:
    """Whatever the Draw surface holds (its JSON, or a parsed Drawing), a Sketchpad value or an image array -> an
    image array, or None when nothing is drawn."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (str, bytes)):
        return drawing_image(value)
    if isinstance(value, Drawing):  # strokes already parsed (the Draw tab needs their sequence number too)
        return rasterise(value)
    part = pick_part(value)
    return None if part is None else np.asarray(part)


def sketchpad_value(composite) -> dict:
    """A Sketchpad-style value around one picture (an array, or a gradio_client file handle): what tests,
    benchmarks and API clients send."""
    return {"background": None, "layers": [], "composite": composite}
