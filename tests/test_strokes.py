"""The Draw surface's stroke payload (lenet/reading/strokes.py) and the one canvas parser (lenet/reading/canvas.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.common.digit_strokes import DIGITS, payload
from lenet.reading.canvas import canvas_image, pick_part, sketchpad_value
from lenet.reading.inference import LoadedModel, read
from lenet.reading.preprocess import CanvasError
from lenet.reading.strokes import BRUSH, SIZE, parse, pen_width, rasterise
from lenet.present.draw_view import draw_view

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped() -> LoadedModel:
    return LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-mnist.safetensors")


def test_a_horizontal_stroke_is_drawn_where_it_was_sent_with_the_brush_width():
    img = rasterise(parse(json.dumps({"size": 280, "width": 20, "strokes": [[40, 140, 240, 140]]})))
    assert img.shape == (SIZE, SIZE, 4) and img.dtype == np.uint8
    assert not img[..., :3].any(), "black ink"
    ink = img[..., 3] > 127
    rows, cols = np.nonzero(ink)
    assert abs(rows.min() - 130) <= 1 and abs(rows.max() - 149) <= 1, "20 px wide, centred on y=140"
    assert abs(cols.min() - 30) <= 1 and abs(cols.max() - 249) <= 1, "round caps reach half a width past the ends"
    assert ((img[..., 3] > 0) & (img[..., 3] < 255)).any(), "anti-aliased edges, as a browser canvas draws them"


def test_coordinates_scale_from_the_sent_drawing_space():
    small = rasterise(parse({"size": 140, "width": 10, "strokes": [[20, 70, 120, 70]]}))
    big = rasterise(parse({"size": 280, "width": 20, "strokes": [[40, 140, 240, 140]]}))
    assert np.abs(small[..., 3].astype(int) - big[..., 3]).mean() < 2


def test_a_tap_is_a_dot():
    img = rasterise(parse({"strokes": [[100, 100]]}))
    ys, xs = np.nonzero(img[..., 3] > 127)
    assert abs(ys.mean() - 100) < 1 and abs(xs.mean() - 100) < 1
    assert abs((ys.max() - ys.min() + 1) - BRUSH) <= 2


@pytest.mark.parametrize("value", ["", " ", '{"strokes": []}', {"seq": 3, "strokes": []}])
def test_nothing_drawn_is_none(value):
    assert canvas_image(value) is None


@pytest.mark.parametrize("bad", ["not json", "[1, 2]", '{"strokes": [[1, 2, 3]]}', '{"strokes": [["a", "b"]]}',
                                 '{"strokes": [[1, 2]], "size": 0}', '{"strokes": [[1, 2]], "width": -1}',
                                 '{"strokes": [[1, 2]], "size": "big"}', '{"strokes": "x"}',
                                 json.dumps({"strokes": [[0, 0] * 20001]}),
                                 json.dumps({"strokes": [[1, 1]] * 501})])
def test_malformed_payloads_say_what_is_wrong(bad):
    with pytest.raises(CanvasError):
        canvas_image(bad)


def test_points_off_the_canvas_are_clamped_not_refused():
    img = canvas_image(json.dumps({"strokes": [[-50, 140, 400, 140]]}))
    assert img[140, 0, 3] == 255 and img[140, SIZE - 1, 3] == 255


def test_the_sequence_number_comes_with_the_parsed_drawing():
    assert parse(json.dumps({"seq": 12, "strokes": []})).seq == 12
    assert parse(json.dumps({"seq": "x", "strokes": []})).seq == 0
    assert parse(None).empty and parse("").empty


def test_hand_drawn_digits_are_read_through_the_stroke_path(shipped):
    """Each digit of bench/common/digit_strokes.py, as pad.js sends it, goes through the same preprocessing as the
    Sketchpad's RGBA composite did, and is read right."""
    for digit, strokes in DIGITS.items():
        reading = read(shipped, json.dumps(payload(strokes)))
        assert reading is not None and reading.classes[reading.top] == digit, digit


def test_the_stroke_path_is_the_sketchpad_path(shipped):
    """The rasterised strokes, sent as a Sketchpad composite, read exactly the same."""
    img = canvas_image(json.dumps(payload(DIGITS["4"])))
    a = read(shipped, img)
    b = read(shipped, canvas_image(sketchpad_value(img)))
    assert np.array_equal(a.probs, b.probs)


# ---------- one parser for Sketchpad-style values ----------

def test_pick_part_order_is_composite_then_layers_then_background():
    assert pick_part({"background": "bg", "layers": ["layer"], "composite": "comp"}) == "comp"
    assert pick_part({"background": "bg", "layers": ["layer"], "composite": None}) == "layer"
    assert pick_part({"background": "bg", "layers": [], "composite": None}) == "bg"
    assert pick_part(sketchpad_value(None)) is None
    assert pick_part({"background": None, "layers": None, "composite": {}}) is None, "an empty file value is nothing"


def test_pick_part_refuses_non_dicts():
    with pytest.raises(ValueError):
        pick_part(["composite"])


def drawn(digit: str, scale: float = 1.0, width: float = BRUSH) -> str:
    return json.dumps(payload([[(x * scale, y * scale) for x, y in s] for s in DIGITS[digit]], width=width))


def test_a_drawing_small_for_the_pen_is_drawn_back_with_a_narrower_one():
    assert pen_width(parse(drawn("8", 1.5))) == BRUSH  # filling the box: the visitor's pen
    small = pen_width(parse(drawn("8", 0.3)))
    assert BRUSH / 3 <= small < BRUSH / 2
    assert pen_width(parse(drawn("8", 0.3, width=4))) == 4  # a fine pen is never widened
    tap = {"size": SIZE, "width": BRUSH, "strokes": [[140, 140, 141, 141]]}
    assert pen_width(parse(tap)) == BRUSH  # a dot keeps the pen


def test_small_digits_keep_their_loops_and_are_read(shipped):
    """Ten digits drawn 40-60 px tall with the default 22-px brush: drawn back with that brush, their loops
    fill in (the 8 becomes a blob); with the fitted pen each is read right at two sizes of three at least, and
    29 of the 30 readings are right. (With the coverage rasteriser the page shares, the 8 at exactly 0.3 is
    refused: its "not a digit" score is 0.989 against the calibrated 0.979; it was 0.38 with PIL's lines. At 0.25
    and 0.35 it is read; bench/reader/writing_styles.py at --scale 0.25 and 0.35 reads as well as or better than before.)"""
    wrong = []
    for digit in DIGITS:
        right = [draw_view(shipped, drawn(digit, scale))[0].startswith(f"### I read: **{digit}**")
                 for scale in (0.25, 0.3, 0.35)]
        assert sum(right) >= 2, (digit, right)
        wrong += [digit] * (3 - sum(right))
    assert len(wrong) <= 1, wrong
    eight = rasterise(parse(drawn("8", 0.3)))[..., 3] > 127
    rows, cols = np.nonzero(eight)
    middle = eight[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = middle.shape
    assert not middle[h // 4, w // 2] and not middle[3 * h // 4, w // 2], "both loops of the 8 stay open"
