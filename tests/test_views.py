"""The tab views as plain values: canvas values, Draw, Inspect HTML, colour maps (Train: test_train_view.py)."""
from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from lenet.net.config import preset
from lenet.sources.data import load_split
from lenet.reading.inference import LoadedModel, read
from lenet.net.model import LeNet
from lenet.present.render import colorize, layer_scale, maps_html
from lenet.reading.canvas import sketchpad_value
from lenet.reading.explain import FeatureIndex
from lenet.reading.canvas import canvas_image
from lenet.present.draw_view import EMPTY_PROMPT, LETTER, PANEL_TOP, draw_view, feature_maps, seen_html
from lenet.present.inspect_view import ANY_CLASS, MISREAD, class_choices, inspect_view, pick_test_image

ROOT = Path(__file__).resolve().parents[1]
CLEARED = sketchpad_value(None)  # a Sketchpad after the trash-can Clear


@pytest.fixture(scope="module")
def shipped(shipped_model) -> LoadedModel:
    return shipped_model


@pytest.fixture(scope="module")
def test_split():
    return load_split("mnist-sample", train=False)


def canvas_of(digit28: np.ndarray) -> np.ndarray:
    """An MNIST digit as a 280x280 black-on-white "L" composite, like the Sketchpad sends."""
    return np.array(Image.fromarray(255 - digit28).resize((280, 280), Image.BILINEAR))


def untrained(arch: str) -> LoadedModel:
    torch.manual_seed(0)
    return LoadedModel.from_model(LeNet(preset(arch)), {"arch": arch, "dataset": "mnist"})


def tiles(html: str, layer: str) -> int:
    return len(re.findall(rf'<figure class="fmap-tile" data-layer="{layer}"', html))


def decode_png(data_url: str) -> np.ndarray:
    assert data_url.startswith("data:image/png;base64,")
    return np.array(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB"))


# ---------- canvas values ----------

def test_canvas_image_prefers_the_composite():
    comp = np.full((10, 10), 200, np.uint8)
    layer = np.zeros((10, 10, 4), np.uint8)
    bg = np.full((10, 10, 3), 255, np.uint8)
    got = canvas_image({"background": bg, "layers": [layer], "composite": comp})
    assert got.shape == (10, 10) and np.array_equal(got, comp)


def test_canvas_image_falls_back_to_layers_then_background():
    layer = np.zeros((10, 10, 4), np.uint8)
    layer[3, 4, 3] = 255
    bg = np.full((10, 10, 3), 255, np.uint8)
    assert np.array_equal(canvas_image({"background": bg, "layers": [layer], "composite": None}), layer)
    assert np.array_equal(canvas_image({"background": None, "layers": [layer], "composite": None}), layer)
    assert np.array_equal(canvas_image({"background": bg, "layers": [], "composite": None}), bg)


@pytest.mark.parametrize("value", [None, CLEARED, {"background": None, "layers": None, "composite": None}, {}])
def test_canvas_image_of_nothing_is_none(value):
    assert canvas_image(value) is None


def test_canvas_image_passes_arrays_and_rejects_other_types():
    a = np.zeros((5, 5), np.uint8)
    assert canvas_image(a) is a
    with pytest.raises(ValueError):
        canvas_image("digit.png")


# ---------- Draw ----------

@pytest.mark.parametrize("value", [None, CLEARED, sketchpad_value(np.full((280, 280), 255, np.uint8))])
def test_draw_view_on_an_empty_canvas_prompts(shipped, value):
    assert draw_view(shipped, value) == (EMPTY_PROMPT, None, seen_html(shipped, None))


def test_draw_view_on_drawn_digits(shipped, test_split):
    correct = 0
    for i in range(5):
        label = str(int(test_split.labels[i]))
        md, probs, seen = draw_view(shipped, sketchpad_value(canvas_of(test_split.images[i].numpy())))
        assert isinstance(md, str) and md != EMPTY_PROMPT
        assert set(probs) == {str(d) for d in range(10)} | {LETTER}  # the shipped model has a lookalike head
        assert all(isinstance(p, float) and 0 <= p <= PANEL_TOP for p in probs.values())
        assert sum(probs.values()) == pytest.approx(1.0, abs=0.006)  # the top at most PANEL_TOP
        top = max((c for c in probs if c != LETTER), key=probs.get)
        assert f"**{top}**" in md
        correct += top == label
        s = shipped.model.config.input_size
        image = decode_png(re.search(r'src="([^"]+)"', seen).group(1))
        assert image.shape == (s, s, 3)  # the S x S input itself: CSS enlarges it
        assert image.max() > 200 and image.min() < 60  # bright ink on a dark field
    assert correct >= 4


def test_a_reading_gives_the_classes_among_themselves_and_none_of_these_beside_them(test_split):
    torch.manual_seed(0)
    lm = LoadedModel.from_model(LeNet(preset("lenet5-1998", rbf_reject=84.0)), {"arch": "lenet5-1998"})
    r = read(lm, test_split.images[0].numpy().astype(np.float32) / 255)
    assert r.probs.shape == (10,) and 0.01 < r.reject < 0.99  # the MAP's "none of these", beside the ten
    assert r.probs.sum() == pytest.approx(1.0, abs=1e-9)  # the ten among themselves
    modern = read(untrained("lenet5"), test_split.images[0].numpy().astype(np.float32) / 255)
    assert modern.reject == 0.0 and modern.probs.sum() == pytest.approx(1.0, abs=1e-9)


def test_feature_maps_api_shapes(shipped, test_split):
    out = feature_maps(shipped, read(shipped, sketchpad_value(canvas_of(test_split.images[0].numpy()))))
    assert out["empty"] is False
    assert out["c1_shape"] == [6, 28, 28] and out["c3_shape"] == [16, 10, 10]
    assert np.array(out["c1"]).shape == (6, 28, 28) and np.array(out["c3"]).shape == (16, 10, 10)
    assert feature_maps(shipped, read(shipped, CLEARED))["empty"] is True


# ---------- Inspect ----------

@pytest.mark.parametrize("arch, n_c1, n_c3", [("lenet5", 6, 16), ("lenet5-1998", 6, 16), ("lenet5-bn", 32, 64),
                                              ("lenet5-28-avg", 6, 16)])
def test_inspect_view_shows_every_c1_and_c3_map(arch, n_c1, n_c3, test_split):
    lm = untrained(arch)
    digit = test_split.images[1].numpy().astype(np.float32) / 255
    head, layers, more = inspect_view(lm, read(lm, digit), true_label=str(int(test_split.labels[1])))
    assert tiles(layers, "c1") == n_c1
    assert tiles(layers, "c3") == n_c3
    assert tiles(layers, "s2") == n_c1 and tiles(layers, "s4") == n_c3
    assert tiles(layers, "k1") == n_c1  # one 5x5 kernel per C1 map
    c1_size = lm.model.config.input_size - 4
    first_c1 = re.search(r'data-layer="c1"><img src="([^"]+)"', layers).group(1)
    assert decode_png(first_c1).shape == (c1_size, c1_size, 3)
    assert "true label" in head
    if arch == "lenet5-1998":
        table = re.search(r'<table class="c3-table">.*?</table>', layers, re.S).group(0)
        assert table.count('class="on"') == 60
        assert table.count('class="off"') == 16 * 6 - 60
    else:
        assert 'class="c3-table"' not in layers


def test_inspect_view_without_a_digit(shipped):
    head, layers, more = inspect_view(shipped, None)
    assert "Draw" in head and layers == "" and more == ""


def test_inspect_view_shows_the_reading_why_and_the_neighbours(shipped, test_split):
    index = FeatureIndex.build(shipped)
    digit = test_split.images[0].numpy().astype(np.float32) / 255
    truth = str(int(test_split.labels[0]))
    head, layers, more = inspect_view(shipped, read(shipped, digit), truth, title="test image #0", index=index,
                                      others=[("a", shipped), ("b", untrained("lenet5"))])
    # Fig. 2: eight blocks, each opening a section that exists on the page
    targets = re.findall(r'class="fig2-block" href="#([\w-]+)"', head)
    assert len(targets) == 8
    for t in targets:
        assert f'id="{t}"' in head + layers + more, t
    # probability bars: one per class and one for "a letter" (P(letter)), the read class highlighted
    assert head.count('class="pbar-row') == 11 and re.search(rf'pbar-row hi" role="listitem"><span class="pbar-lab"[^>]*>{truth}<', head)
    assert "Saliency" in head and "Occlusion" in head
    # the unit panel carries the packed values the browser computes from
    payload = json.loads(html.unescape(re.search(r'data-payload="([^"]+)"', layers).group(1)))
    assert set(payload["maps"]) >= {"input", "c1", "s2", "c3", "s4"}
    assert layers.count('class="unit-map"') == 6 + 6 + 16 + 16  # every C1, S2, C3, S4 map can be pointed at
    # neighbours: eight training images with labels; the F6 map has a dot per test image and a star
    assert more.count('class="nb"') == 8 and more.count("<circle") == len(index.test) and 'class="star"' in more
    assert more.count("<tr>") == 1 + 2  # header + two models compared


def test_rbf_models_show_distances_on_their_own_scale(test_split):
    lm = untrained("lenet5-1998")
    head, _, _ = inspect_view(lm, read(lm, test_split.images[3].numpy().astype(np.float32) / 255))
    assert head.count('class="pbar-row dist') == 10 and "own axis" in head
    widths = [float(w) for w in re.findall(r'pbar-row dist[^"]*"><span class="pbar-lab">[^<]*</span><span class="pbar">'
                                            r'<span style="width:([\d.]+)%', head)]
    reading = read(lm, test_split.images[3].numpy().astype(np.float32) / 255)
    dist = reading.activations["output"]
    assert widths[int(dist.argmax())] == 100.0 and widths[int(dist.argmin())] > 0  # the axis starts below the nearest
    assert sorted(widths) == [widths[i] for i in np.argsort(dist)], "a longer bar is a larger distance"


def test_pick_test_image_by_class_and_misread(shipped):
    index = FeatureIndex.build(shipped)
    rng = np.random.default_rng(0)
    for cls in range(10):
        pick = pick_test_image(index, str(cls), rng)
        assert pick["label"] == str(cls) and pick["image"].shape == (28, 28) and 0 <= pick["image"].max() <= 1
        assert f"#{pick['index']}" in pick["title"]
    wrong = pick_test_image(index, MISREAD, rng)
    assert index.test_pred[wrong["index"]] != int(wrong["label"]) and "read as" in wrong["title"]
    first = pick_test_image(index, "3", rng)
    assert all(pick_test_image(index, "3", rng, avoid=first["index"])["index"] != first["index"] for _ in range(5))
    assert pick_test_image(index, ANY_CLASS, rng) is not None


def test_class_choices_follow_the_models_classes():
    fashion = LoadedModel(untrained("lenet5").model, {"arch": "lenet5", "dataset": "fashion-mnist"})
    labels = [label for label, _ in class_choices(fashion)]
    assert "Sneaker" in labels and labels[0] == "any" and class_choices(fashion)[-1][1] == MISREAD


# ---------- colour maps ----------

def test_signed_colour_map_known_values():
    a = np.array([[0.0, 2.0, -2.0]])
    rgb = colorize(a, signed=True, limit=2.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    assert tuple(rgb[0, 0]) == (247, 247, 247)  # zero is the white middle of the diverging map
    assert tuple(rgb[0, 1]) == (178, 24, 43)  # the largest positive value: the last (red) colour
    assert tuple(rgb[0, 2]) == (33, 102, 172)  # the most negative: the first (blue) colour


def test_unsigned_colour_map_known_values():
    rgb = colorize(np.array([[0.0, 5.0, 10.0]]), signed=False, limit=10.0)
    assert tuple(rgb[0, 0]) == (0, 0, 4)  # zero: the dark end
    assert tuple(rgb[0, 2]) == (252, 255, 164)  # the maximum: the bright end
    assert rgb[0, 0].sum() < rgb[0, 1].sum() < rgb[0, 2].sum()


def test_colour_maps_clip_out_of_range_values():
    rgb = colorize(np.array([[5.0, -5.0]]), signed=True, limit=1.0)
    assert tuple(rgb[0, 0]) == (178, 24, 43) and tuple(rgb[0, 1]) == (33, 102, 172)


def test_layer_scale():
    assert layer_scale(np.array([0.0, 1.0, 3.0])) == (False, 3.0)
    assert layer_scale(np.array([-4.0, 1.0])) == (True, 4.0)
    assert layer_scale(np.zeros(4)) == (False, 1.0)  # an all-zero layer still gets a usable scale


def test_maps_html_tiles_are_the_colourised_maps():
    maps = np.zeros((3, 4, 5))
    maps[0, 1, 2] = 2.0
    maps[1, 3, 4] = -1.0
    html = maps_html("c9", maps, "C9 <test>")
    assert tiles(html, "c9") == 3
    assert "C9 &lt;test&gt;" in html  # the caption is escaped
    srcs = re.findall(r'data-layer="c9"><img src="([^"]+)"', html)
    assert len(srcs) == 3
    for m, src in zip(maps, srcs):
        img = decode_png(src)
        assert img.shape == (4, 5, 3)
        assert np.array_equal(img, colorize(m, True, 2.0))  # one signed scale for the whole layer
    assert tuple(decode_png(srcs[0])[1, 2]) == (178, 24, 43)


def grid_drawing() -> np.ndarray:
    """A grid, as people draw to test a reader: black on white, as the Sketchpad sends it."""
    img = Image.new("L", (280, 280), 255)
    d = ImageDraw.Draw(img)
    for v in (70, 140, 210):
        d.line([(30, v), (250, v)], fill=0, width=14)
        d.line([(v, 30), (v, 250)], fill=0, width=14)
    return np.array(img)


def test_a_non_digit_leads_the_probabilities_with_not_a_digit(shipped):
    value = sketchpad_value(grid_drawing())
    md, probs, _ = draw_view(shipped, value)
    assert "doesn't look like a digit" in md
    assert max(probs, key=probs.get) == "not a digit"  # what the panel headlines, so not a big digit
    assert set(probs) == {"not a digit"} | {str(d) for d in range(10)}
    assert sum(probs.values()) == pytest.approx(1.0, abs=0.006)
    assert probs["not a digit"] == pytest.approx(min(read(shipped, value).verdict.score, PANEL_TOP))


def test_the_panel_states_what_the_verdict_states_for_a_letter_written_like_a_digit(shipped):
    """An S, a B, a Z... written on the pad: the panel's digit is the verdict's probability (less P(letter)), and
    P(letter) is an entry of its own, never a digit at 100% beside "Probability 60%"."""
    from lenet.reading import lookalikes

    rng = np.random.default_rng(3)
    seen = 0
    for face, char, strokes in lookalikes.glyph_strokes(lookalikes.TEST_FACES[:2], "SBZgq"):
        canvas = lookalikes.pad_canvas(strokes, rng, height=(0.4, 0.7), pen=(18, 22), jitter=0.0)
        md, probs, _ = draw_view(shipped, canvas)
        v = read(shipped, canvas).verdict
        assert max(probs.values()) <= PANEL_TOP
        if v.kind == "digit":
            assert probs[LETTER] == pytest.approx(min(v.letter, PANEL_TOP))
            seen += 1
            assert probs[v.best] == pytest.approx(min(v.probability, PANEL_TOP)), (face, char)
            assert probs[v.best] < 0.95
    assert seen >= 3


def test_every_model_row_says_not_a_digit_in_its_verdicts_words(shipped_model):
    """Issue 31: the 1998 model's row read "reads 4 · sure 0.04%" when its "none of these" took the rest. Each row
    now says its model's verdict, as Draw would (one term: "not a digit"), with the closest class beside it."""
    from lenet.present.inspect_view import compare_rows

    reading = read(shipped_model, grid_drawing())
    assert reading.verdict.kind == "not a digit"
    row = compare_rows([("LeNet-5", shipped_model)], reading.digit)[0]
    assert row["read"] == "not a digit" and row["note"] == f"closest {reading.verdict.best}"
    assert row["classes"][int(np.argmax(row["probs"]))] == "not a digit"


def test_inspect_never_writes_a_probability_as_100_percent():
    from lenet.present.render import percent

    assert [percent(p) for p in (1.0, 0.99999, 0.9997, 0.5, 0.0009, 0.00001)] == \
        [">99.99%", ">99.99%", "99.97%", "50.0%", "0.09%", "<0.01%"]
