"""One reading path (issue 28): a drawing goes through lenet.reading.inference.read once, and Draw, Inspect, /read,
/predict and the Train tab's pinned digit all show that reading's verdict -- one rule for "unsure", one term for
"not a digit", for digit models and for models of other classes alike."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench.common.digit_strokes import DIGITS, payload
from lenet.present import draw_view, inspect_view, watch_view
from lenet.present.train_view import WATCH_DRAWING
from lenet.reading.canvas import sketchpad_value
from lenet.reading.inference import LoadedModel, read
from lenet.reading.verdict import Thresholds, title
from helpers import TWO_CLOSE, clothes_model

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_KEYS = sorted(p.stem for p in (ROOT / "checkpoints").glob("*.safetensors"))


def plain(text: str) -> str:
    """What a reader sees of a verdict line: no tags, no Markdown marks, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text).replace("**", "")).strip()


def draw_heading(markdown: str) -> str:
    return plain(markdown.split("\n")[0].removeprefix("### "))


def inspect_headline(head: str) -> tuple[str, str]:
    """(the verdict's kind, its line) from Inspect's head HTML."""
    m = re.search(r'<p class="inspect-verdict" data-verdict="([^"]+)"[^>]*>(.*?)</p>', head)
    return m.group(1), plain(m.group(2).split(" · true label")[0])


def grid_png(folder: Path) -> str:
    """A grid, as people draw to test a reader: not a digit."""
    img = Image.new("RGB", (280, 280), "white")
    d = ImageDraw.Draw(img)
    for v in (70, 140, 210):
        d.line([(30, v), (250, v)], fill="black", width=14)
        d.line([(v, 30), (v, 250)], fill="black", width=14)
    path = folder / "grid.png"
    img.save(path)
    return str(path)


@pytest.fixture(scope="module")
def drawings(digit_png, tmp_path_factory) -> list[str]:
    """Eight real MNIST test digits from the shipped sample, drawn black on white, and a grid."""
    return [digit_png(i)[0] for i in range(8)] + [grid_png(tmp_path_factory.mktemp("grid"))]


@pytest.mark.parametrize("key", SHIPPED_KEYS)
def test_draw_inspect_read_and_the_pinned_digit_give_one_verdict(app_module, drawings, key):
    from ui import api
    from ui.common import DEFAULT_MODEL, SHIPPED

    lm, tab = SHIPPED[key], app_module.inspect_tab
    kinds = set()
    for path in drawings:
        value = sketchpad_value(np.asarray(Image.open(path).convert("RGBA")))  # what /read decodes it to
        reading = read(lm, value)
        v = reading.verdict
        kinds.add(v.kind)
        # the probabilities are computed once: the verdict states the reading's own
        assert v.best == reading.classes[reading.top] and v.probability == pytest.approx(reading.probs.max() * (1 - v.letter))
        text, label, _ = draw_view.draw_view(lm, value)
        assert draw_heading(text) == plain(title(v))
        shown = tab.show(inspect_view.MY_DRAWING, value, None, None, key, None, None)
        assert inspect_headline(shown[tab.head]) == (v.kind, draw_heading(text))
        pinned = watch_view.pinned_digit(WATCH_DRAWING, value, "0", lm.dataset)
        pinned_reading = read(lm, pinned.image)  # what ui/train.py reads at every model update
        assert pinned_reading.verdict == v and np.array_equal(pinned_reading.probs, reading.probs)
        if key == DEFAULT_MODEL:
            upload = sketchpad_value({"path": path})
            answer = api.read_verdict(upload)
            assert (answer["verdict"], answer["digit"], answer["reason"]) == (v.kind, v.digit, v.reason)
            assert answer["confidences"] == api.predict(upload) == reading.confidences()
            if v.kind != "not a digit":  # the panel states the verdict's numbers, P(letter) among them
                assert label[v.best] == pytest.approx(min(v.probability, draw_view.PANEL_TOP))
                assert label.get(draw_view.LETTER, 0.0) == v.letter > 0
                assert sum(label.values()) == pytest.approx(1.0, abs=0.01)
    if key == DEFAULT_MODEL:
        assert {"digit", "not a digit"} <= kinds, kinds  # both sides of the rule were checked


def test_the_draw_tab_parses_the_strokes_once_and_shows_what_inspect_shows(app_module):
    """The app's own handlers on the surface's stroke JSON: Draw's verdict and Inspect's headline agree."""
    from ui.common import DEFAULT_MODEL

    strokes = json.dumps(payload(DIGITS["4"], seq=7))
    out = app_module.draw_tab.read(strokes, DEFAULT_MODEL, None)
    assert out[app_module.draw_tab.read_seq] == "7"
    tab = app_module.inspect_tab
    shown = tab.show(inspect_view.MY_DRAWING, strokes, None, None, DEFAULT_MODEL, None, None)
    assert inspect_headline(shown[tab.head]) == ("digit", draw_heading(out[app_module.draw_tab.verdict]))


@pytest.mark.parametrize("thresholds, kind", [(None, "unsure"), (Thresholds("energy", None, 0.3, 0.05), "digit")])
def test_a_class_model_has_the_one_unsure_rule_in_draw_and_inspect(thresholds, kind):
    """Two close classes are "unsure" in Draw and in Inspect alike, by the model's own thresholds: lower them and
    both read the top class. (Fashion-MNIST words: the advice is about an item, not a digit.)"""
    lm = clothes_model(TWO_CLOSE, thresholds)
    drawing = json.dumps(payload(DIGITS["7"]))
    reading = read(lm, drawing)
    assert reading.verdict.kind == kind
    text, _, _ = draw_view.draw_view(lm, drawing)
    head, _, _ = inspect_view.inspect_view(lm, reading)
    assert inspect_headline(head) == (kind, draw_heading(text))
    if kind == "unsure":
        assert draw_heading(text) == "Not sure — T-shirt/top or Trouser?" and "one clear item" in text
        assert "digit" not in text
    else:
        assert draw_heading(text) == "I read: T-shirt/top"


def test_a_class_model_never_says_not_a_digit():
    """Even a MAP "none of these" that takes all the probability does not make a clothes model say "not a digit":
    only digit models learned what is not a digit."""
    drawing = json.dumps(payload(DIGITS["1"]))
    clothes = clothes_model([], rbf_reject=1.0)
    reading = read(clothes, drawing)
    assert reading.reject > 0.99 and reading.verdict.kind == "unsure"
    digits = LoadedModel(clothes.model, {**clothes.meta, "dataset": "mnist"})  # the same network, read as digits
    assert read(digits, drawing).verdict.kind == "not a digit"
