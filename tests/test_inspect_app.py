"""The Inspect handlers (ui/inspect.py), called as Gradio calls them (no server): what shows when nothing is drawn,
the `inspect_pick` contract the Train tab relies on, and the per-visitor F6 index cache."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lenet.net.config import preset
from lenet.reading.inference import LoadedModel
from lenet.net.model import LeNet
from ui.common import DEFAULT_MODEL, SHIPPED, shipped_index
from ui.inspect import feature_index, pick_key
from lenet.present.inspect_view import MISREAD, MY_DRAWING, TEST_IMAGE
from lenet.present.selectors import YOURS

CLEARED = {"background": None, "layers": [], "composite": None}


def drawn_seven() -> np.ndarray:
    """A canvas with a 7 drawn on it (black on white, as the Sketchpad sends)."""
    canvas = np.full((280, 280), 255, np.uint8)
    canvas[60:80, 70:210] = 0
    for y in range(80, 230):
        x = int(205 - (y - 80) * 0.6)
        canvas[y, x - 9:x + 9] = 0
    return canvas


def show(app_module, source, canvas, pick, seen, key, mine, cache, chosen=False) -> SimpleNamespace:
    """InspectTab.show as Gradio calls it, its {component: value} answer named by component."""
    tab = app_module.inspect_tab
    out = tab.show(source, canvas, pick, seen, key, mine, cache, chosen=chosen)
    return SimpleNamespace(source=out[tab.source], head=out[tab.head], layers=out[tab.layers], more=out[tab.more],
                           cache=out[tab.index_cache], seen=out[tab.pick_seen], picker=out[tab.pick_class]["value"])


def pick_test_image(app_module, choice, pick):
    tab = app_module.inspect_tab
    out = tab.pick_test_image(choice, pick, DEFAULT_MODEL, None, None, app_module.page.inspect_pick)
    return out[app_module.page.inspect_pick]


def visitors_model(seed: int) -> LoadedModel:
    torch.manual_seed(seed)
    return LoadedModel.from_model(LeNet(preset("lenet5")), {"arch": "lenet5", "dataset": "mnist-sample"})


def test_nothing_drawn_shows_a_test_digit_not_a_blank_page(app_module):
    out = show(app_module, MY_DRAWING, CLEARED, None, None, DEFAULT_MODEL, None, None)
    # the controls say what is shown: a test image, of a 7 (issue 31: they said "my drawing" and nothing)
    assert out.source == TEST_IMAGE and out.picker == "7" and out.seen is None
    assert "nothing drawn yet" in out.head and "I read: <b" in out.head and "true label" in out.head
    assert out.layers.count('class="unit-map"') == 44 and 'class="nb"' in out.more
    assert out.cache is None, "a shipped model needs no per-visitor cache"


def test_a_picked_image_from_the_train_tab_is_shown(app_module, mnist_test_split):
    """The Train tab sets inspect_pick to {"image", "label", "title"} (no "index") and selects Inspect."""
    pick = {"image": mnist_test_split.images[5].numpy().astype(np.float32) / 255,
            "label": str(int(mnist_test_split.labels[5])), "title": "test image #5"}
    # The pick's change and the tab's select may arrive in either order, with whatever the source radio says:
    # both show the pick.
    for source in (MY_DRAWING, TEST_IMAGE):
        out = show(app_module, source, drawn_seven(), pick, None, DEFAULT_MODEL, None, None)
        assert out.source == TEST_IMAGE and out.seen == pick_key(pick) and out.picker == pick["label"]
        assert "test image #5" in out.head and f"true label <b>{pick['label']}</b>" in out.head
    # once shown, choosing "my drawing" shows the drawing again
    again = show(app_module, MY_DRAWING, drawn_seven(), pick, out.seen, DEFAULT_MODEL, None, None)
    assert again.source == MY_DRAWING and "your drawing" in again.head and again.picker is None
    # and "another one" after such a pick still works (there is no index to avoid)
    new = pick_test_image(app_module, "3", pick)
    assert new["label"] == "3"


def test_the_first_test_image_gives_way_to_a_drawing_unless_chosen(app_module):
    """With nothing drawn the radio says "a test image"; once there is a drawing, the tab shows it (nobody chose the
    test image), but a visitor who sets the radio to "a test image" gets one."""
    empty = show(app_module, MY_DRAWING, CLEARED, None, None, DEFAULT_MODEL, None, None)
    drawn = show(app_module, empty.source, drawn_seven(), None, None, DEFAULT_MODEL, None, None)
    assert drawn.source == MY_DRAWING and "your drawing" in drawn.head
    chosen = show(app_module, TEST_IMAGE, drawn_seven(), None, None, DEFAULT_MODEL, None, None, chosen=True)
    assert chosen.source == TEST_IMAGE and "nothing drawn" not in chosen.head and "test image #" in chosen.head
    # a picked class or "one it misreads" stays selected in the picker while its image is shown
    new = pick_test_image(app_module, MISREAD, None)
    out = show(app_module, TEST_IMAGE, CLEARED, new, None, DEFAULT_MODEL, None, None)
    assert out.picker == MISREAD


def test_misread_pick_is_misread_by_the_chosen_model(app_module):
    index = shipped_index(DEFAULT_MODEL)
    new = pick_test_image(app_module, MISREAD, None)
    assert index.test_pred[new["index"]] != int(new["label"])


def test_a_visitors_model_gets_its_own_index_cached_in_their_state(app_module):
    mine = visitors_model(0)
    index, cache = feature_index(YOURS, mine, None)
    assert cache[0] is mine.model and cache[1] is index
    again, cache2 = feature_index(YOURS, mine, cache)
    assert again is index and cache2 is cache, "the same model is not indexed twice"
    other = visitors_model(1)
    index2, cache3 = feature_index(YOURS, other, cache)
    assert index2 is not index and cache3[0] is other.model
    assert not np.array_equal(index2.train_f6.numpy(), index.train_f6.numpy())
    # the shipped model's index is shared and never lands in (or replaces) a visitor's cache
    shared, kept = feature_index(DEFAULT_MODEL, SHIPPED[DEFAULT_MODEL], cache3)
    assert shared is shipped_index(DEFAULT_MODEL) and kept is cache3


def test_a_visitors_model_is_compared_with_every_shipped_one(app_module):
    mine = visitors_model(2)
    out = show(app_module, MY_DRAWING, CLEARED, None, None, YOURS, mine, None)
    assert out.more.count("<tr>") == 1 + len(SHIPPED) + 1
    assert "your model" in out.more


@pytest.mark.parametrize("bad", ["not a canvas", 42])
def test_a_bad_canvas_is_a_clear_error(app_module, bad):
    import gradio as gr

    with pytest.raises(gr.Error, match="Could not read"):
        show(app_module, MY_DRAWING, bad, None, None, DEFAULT_MODEL, None, None)
