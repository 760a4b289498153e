"""The public API: /predict, /read, /feature_maps, /neighbours, /occlusion, each with the default shipped model.

Each takes a Sketchpad-style canvas value {"background", "layers", "composite": <image file>} (a hidden
Sketchpad gives the endpoints that input type; the Draw tab itself sends strokes).
"""
from __future__ import annotations

import numpy as np
import gradio as gr
from PIL import Image

from lenet.present import draw_view
from lenet.reading.canvas import pick_part
from lenet.reading.explain import OCCLUSION_PATCH, OCCLUSION_STRIDE, occlusion
from lenet.reading.inference import Reading, read
from lenet.reading.preprocess import MAX_SIDE
from ui.common import DEFAULT_MODEL, SHIPPED, shipped_index, unreadable_as_gr_error

QUIET = dict(show_progress="hidden", concurrency_limit=4, concurrency_id="read", preprocess=False)


def api_canvas(payload) -> np.ndarray | None:
    """The API's raw canvas value -> RGBA pixels. Gradio has already checked the file is an upload; the
    header is read before the pixels, so a huge image is refused without decoding it."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise gr.Error('Expected a canvas value: {"background": None, "layers": [], "composite": <image file>}')
    part = pick_part(payload)
    if part is None:
        return None
    if not isinstance(part, dict) or not part.get("path"):
        raise gr.Error("Could not read that image: expected an uploaded image file")
    try:
        im = Image.open(part["path"])  # reads the header only
    except (OSError, ValueError, Image.DecompressionBombError):
        raise gr.Error("Could not read that image: the file is not a PNG, JPEG or other image") from None
    with im:
        if max(im.size) > MAX_SIDE:
            raise gr.Error(f"Could not read that image: it is {im.size[0]}x{im.size[1]} pixels; at most {MAX_SIDE} "
                           "per side, please")
        try:
            return np.asarray(im.convert("RGBA"))
        except (OSError, ValueError):
            raise gr.Error("Could not read that image: the file is damaged or truncated") from None


def api_reading(payload) -> Reading | None:
    """The default shipped model's reading of an API canvas value; None when the canvas holds no ink."""
    image = api_canvas(payload)
    with unreadable_as_gr_error():
        return read(SHIPPED[DEFAULT_MODEL], image)


def predict(payload):
    """/predict: the label value (each class's probability). The verdict text and the picture of what the
    network sees are UI-only work."""
    reading = api_reading(payload)
    return None if reading is None else reading.confidences()


def read_verdict(payload):
    """/read: {"verdict": "digit" | "unsure" | "not a digit", "digit": "7" or None, "confidences": {...}, "model",
    "reason"}."""
    return draw_view.read_json(SHIPPED[DEFAULT_MODEL], api_reading(payload))


def feature_maps(payload):
    return draw_view.feature_maps(SHIPPED[DEFAULT_MODEL], api_reading(payload))


def neighbours(payload):
    """/neighbours: the bundled training images nearest to a canvas in the default model's F6 space."""
    reading = api_reading(payload)
    if reading is None:
        return {"neighbours": []}
    return {"neighbours": shipped_index(DEFAULT_MODEL).neighbours(reading.activations["f6"])}


def occlusion_map(payload):
    """/occlusion: per place of a grey patch, the drop in the read class's probability."""
    reading = api_reading(payload)
    if reading is None:
        return {"map": [], "digit": None}
    return {"map": np.round(occlusion(SHIPPED[DEFAULT_MODEL], reading), 5).tolist(),
            "digit": reading.classes[reading.top], "patch": OCCLUSION_PATCH, "stride": OCCLUSION_STRIDE}


def build_and_wire() -> None:
    """Hidden components and the five named endpoints. Call it before the Draw tab is wired: its private
    reading events would otherwise take the name "read"."""
    with gr.Row(visible=False):
        pad = gr.Sketchpad(type="numpy", image_mode="RGBA", label="Canvas")
        label = gr.Label()
        out = gr.JSON()
        buttons = {name: gr.Button() for name in ("read", "predict", "feature_maps", "neighbours", "occlusion")}
    buttons["read"].click(read_verdict, [pad], [out], api_name="read", **QUIET)
    buttons["predict"].click(predict, [pad], [label], api_name="predict", **QUIET)
    buttons["feature_maps"].click(feature_maps, [pad], [out], api_name="feature_maps", **QUIET)
    buttons["neighbours"].click(neighbours, [pad], [out], api_name="neighbours", **QUIET)
    buttons["occlusion"].click(occlusion_map, [pad], [out], api_name="occlusion", **QUIET)
