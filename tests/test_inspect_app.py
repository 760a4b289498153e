"""The Inspect handlers in app.py, called as Gradio calls them (no server): what shows when nothing is drawn,
the `inspect_pick` contract the Train tab relies on, and the per-visitor F6 index cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet.config import preset
from lenet.inference import LoadedModel
from lenet.model import LeNet
from lenet.views import MISREAD, MY_DRAWING, TEST_IMAGE, YOURS

CLEARED = {"background": None, "layers": [], "composite": None}


def drawn_seven() -> np.ndarray:
    """A canvas with a 7 drawn on it (black on white, as the Sketchpad sends)."""
    canvas = np.full((280, 280), 255, np.uint8)
    canvas[60:80, 70:210] = 0
    for y in range(80, 230):
        x = int(205 - (y - 80) * 0.6)
        canvas[y, x - 9:x + 9] = 0
    return canvas


def visitors_model(seed: int) -> LoadedModel:
    torch.manual_seed(seed)
    return LoadedModel.from_model(LeNet(preset("lenet5")), {"arch": "lenet5", "dataset": "mnist-sample"})


def test_nothing_drawn_shows_a_test_digit_not_a_blank_page(app_module):
    source, picker, head, layers, more, cache, seen = app_module.inspect(MY_DRAWING, CLEARED, None, None,
                                                                         app_module.DEFAULT_MODEL, None, None)
    assert source == MY_DRAWING and seen is None
    assert "nothing drawn yet" in head and "Reads" in head and "true label" in head
    assert layers.count('class="unit-map"') == 44 and 'class="nb"' in more
    assert cache is None, "a shipped model needs no per-visitor cache"


def test_a_picked_image_from_the_train_tab_is_shown(app_module, mnist_test_split):
    """The Train tab sets inspect_pick to {"image", "label", "title"} (no "index") and selects Inspect."""
    pick = {"image": mnist_test_split.images[5].numpy().astype(np.float32) / 255,
            "label": str(int(mnist_test_split.labels[5])), "title": "test image #5"}
    # The pick's change and the tab's select may arrive in either order, with whatever the source radio says:
    # both show the pick.
    for source in (MY_DRAWING, TEST_IMAGE):
        shown, picker, head, layers, more, cache, seen = app_module.inspect(source, drawn_seven(), pick, None,
                                                                            app_module.DEFAULT_MODEL, None, None)
        assert shown == TEST_IMAGE and seen == app_module.pick_key(pick)
        assert "test image #5" in head and f"true label <b>{pick['label']}</b>" in head
    # once shown, choosing "my drawing" shows the drawing again
    shown, _, head, *_ = app_module.inspect(MY_DRAWING, drawn_seven(), pick, seen, app_module.DEFAULT_MODEL, None,
                                            None)
    assert shown == MY_DRAWING and "your drawing" in head
    # and "another one" after such a pick still works (there is no index to avoid)
    new, _ = app_module.pick_test_image("3", pick, app_module.DEFAULT_MODEL, None, None)
    assert new["label"] == "3"


def test_misread_pick_is_misread_by_the_chosen_model(app_module):
    index = app_module.shipped_index(app_module.DEFAULT_MODEL)
    new, _ = app_module.pick_test_image(MISREAD, None, app_module.DEFAULT_MODEL, None, None)
    assert index.test_pred[new["index"]] != int(new["label"])


def test_a_visitors_model_gets_its_own_index_cached_in_their_state(app_module):
    mine = visitors_model(0)
    index, cache = app_module.feature_index(YOURS, mine, None)
    assert cache[0] is mine.model and cache[1] is index
    again, cache2 = app_module.feature_index(YOURS, mine, cache)
    assert again is index and cache2 is cache, "the same model is not indexed twice"
    other = visitors_model(1)
    index2, cache3 = app_module.feature_index(YOURS, other, cache)
    assert index2 is not index and cache3[0] is other.model
    assert not np.array_equal(index2.train_f6.numpy(), index.train_f6.numpy())
    # the shipped model's index is shared and never lands in (or replaces) a visitor's cache
    shared, kept = app_module.feature_index(app_module.DEFAULT_MODEL, app_module.SHIPPED[app_module.DEFAULT_MODEL],
                                            cache3)
    assert shared is app_module.shipped_index(app_module.DEFAULT_MODEL) and kept is cache3


def test_a_visitors_model_is_compared_with_every_shipped_one(app_module):
    mine = visitors_model(2)
    _, _, head, _, more, _, _ = app_module.inspect(MY_DRAWING, CLEARED, None, None, YOURS, mine, None)
    assert more.count("<tr>") == 1 + len(app_module.SHIPPED) + 1
    assert "your model" in more


@pytest.mark.parametrize("bad", ["not a canvas", 42])
def test_a_bad_canvas_is_a_clear_error(app_module, bad):
    import gradio as gr

    with pytest.raises(gr.Error, match="Could not read"):
        app_module.inspect(MY_DRAWING, bad, None, None, app_module.DEFAULT_MODEL, None, None)
