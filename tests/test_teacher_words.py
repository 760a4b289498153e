"""What a teacher reads (issue 31), as plain values: the About tab, the model list's order, the F6 map's colours and
labels, the occlusion caption for clothes, and icons that need no emoji font."""
from __future__ import annotations

import re

import numpy as np

from lenet.present.render_inspect import CLASS_COLOURS, f6_map_svg, why_html

EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u23E9-\u23FA\u2B50\uFE0F]")


def test_about_says_how_to_use_each_tab_and_names_the_shipped_models():
    from ui import about
    from ui.common import DEFAULT_MODEL, SHIPPED

    text = about.text()
    for tab in ("**Draw**", "**Train**", "**Inspect**"):
        assert tab in text
    assert "LeNet-5 · MNIST** (the default)" in text and "11 outputs" in text and "“not a digit”" in text
    assert "LeNet-5 (1998) · MNIST" in text and "Fashion-MNIST" in text
    assert "`lenet5" not in text and "id:" not in text, "architectures by name, not by code id"
    assert next(iter(SHIPPED)) == DEFAULT_MODEL, "the default model leads the selector and every list"


def test_f6_map_labels_each_cluster_in_ten_distinct_colours():
    assert len(set(CLASS_COLOURS)) == 10
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    xy = rng.normal(size=(200, 2)) + labels[:, None] * 3.0
    svg = f6_map_svg(xy, labels, [str(i) for i in range(10)], np.zeros(2))
    names = re.findall(r'<text class="f6-cluster"[^>]*>([^<]*)</text>', svg)
    assert names == [str(i) for i in range(10)]


def test_occlusion_covers_the_item_for_clothes():
    z = np.zeros((32, 32), np.float32)
    occ = np.zeros((4, 4), np.float32)
    assert "covering the item" in why_html(z, 2, z, occ, "Bag", 6, noun="item")
    assert "covering the digit" in why_html(z, 2, z, occ, "7", 6)


def test_status_lines_and_verdicts_use_icons_not_emoji():
    from lenet.present import draw_view, icons, train_view
    from lenet.training.config import TrainConfig

    assert not EMOJI.search(draw_view.EMPTY_PROMPT) and icons.PEN in draw_view.EMPTY_PROMPT
    view = train_view.TrainView(TrainConfig(dataset="mnist-sample", epochs=1))
    for state in ("starting", "stopped", "diverged"):
        view.state = state
        assert not EMOJI.search(view.status()), view.status()
