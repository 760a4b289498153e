"""/read through a real launched server: the verdict as JSON, and /predict unchanged beside it."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import canvas_value

KEYS = {"verdict", "digit", "confidences", "model", "reason"}


def _canvas(tmp_path, name, draw):
    img = Image.new("RGB", (280, 280), "white")
    draw(ImageDraw.Draw(img))
    path = tmp_path / f"{name}.png"
    img.save(path)
    return str(path)


def smiley(d):
    d.ellipse([50, 50, 230, 230], outline="black", width=16)
    d.ellipse([95, 100, 120, 125], fill="black")
    d.ellipse([160, 100, 185, 125], fill="black")
    d.arc([90, 110, 190, 195], 20, 160, fill="black", width=14)


def star(d):
    pts = [(140 + 100 * math.cos(-math.pi / 2 + k * 4 * math.pi / 5),
            140 + 100 * math.sin(-math.pi / 2 + k * 4 * math.pi / 5)) for k in range(6)]
    d.line(pts, fill="black", width=16, joint="curve")


def hash_sign(d):
    for v in (105, 175):
        d.line([(v, 40), (v - 10, 240)], fill="black", width=16)
        d.line([(40, v), (240, v)], fill="black", width=16)


def scribble(d):
    rng = np.random.default_rng(7)
    d.line([tuple(p) for p in rng.uniform(40, 240, (14, 2))], fill="black", width=14, joint="curve")


def check(out):
    assert set(out) >= KEYS, out
    assert out["verdict"] in ("digit", "unsure", "not a digit")
    assert isinstance(out["model"], str) and out["model"]
    if out["verdict"] == "digit":
        assert out["digit"] in [str(i) for i in range(10)]
    else:
        assert out["digit"] is None
    return out


def test_read_gives_the_digit_for_real_mnist_digits(client, digit_png):
    right = 0
    for i in range(10):
        path, truth = digit_png(i)
        out = check(client.predict(canvas_value(path), api_name="/read"))
        conf = out["confidences"]
        assert set(conf) == {str(d) for d in range(10)} and sum(conf.values()) == pytest.approx(1.0, abs=1e-3)
        right += out["verdict"] == "digit" and out["digit"] == truth
    assert right >= 9, f"only {right}/10 real digits were read as the right digit"


@pytest.mark.parametrize("name,draw", [("smiley", smiley), ("star", star), ("hash", hash_sign),
                                       ("scribble", scribble)])
def test_read_says_not_a_digit_kindly(client, tmp_path, name, draw):
    out = check(client.predict(canvas_value(_canvas(tmp_path, name, draw)), api_name="/read"))
    assert out["verdict"] == "not a digit", f"a {name} was read as {out}"
    assert out["reason"] and "digit" in out["reason"]


def test_read_on_an_empty_canvas(client, blank_png):
    for value in (canvas_value(blank_png), canvas_value(None)):
        out = check(client.predict(value, api_name="/read"))
        assert out["verdict"] == "not a digit" and out["digit"] is None and out["confidences"] == {}
        assert "empty" in out["reason"]


def test_predict_keeps_its_label_output_for_a_non_digit(client, tmp_path):
    out = client.predict(canvas_value(_canvas(tmp_path, "smiley", smiley)), api_name="/predict")
    conf = {c["label"]: c["confidence"] for c in out["confidences"]}
    assert set(conf) == {str(d) for d in range(10)} and sum(conf.values()) == pytest.approx(1.0, abs=1e-3)
    assert out["label"] == max(conf, key=conf.get)
