"""The Inspect tab: every layer of the network for the visitor's drawing or a picked test image."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import gradio as gr
import numpy as np

from lenet.present import inspect_view, selectors
from lenet.sources.data import DATASETS
from lenet.reading.explain import FeatureIndex
from lenet.reading.inference import LoadedModel, read
from ui.common import DEFAULT_MODEL, SHIPPED, Page, shipped_index, unreadable_as_gr_error

OPTIONS = dict(api_visibility="private", show_progress="hidden", concurrency_limit=4, concurrency_id="inspect")


def feature_index(key, lm: LoadedModel, cache: tuple | None) -> tuple[FeatureIndex, tuple | None]:
    """(the model's index, this visitor's cache). A visitor's own model gets its index in their own State,
    rebuilt only when their model changes; shipped models use the shared one."""
    if lm.source == "shipped":
        return shipped_index(key if key in SHIPPED else DEFAULT_MODEL), cache
    if cache is not None and cache[0] is lm.model:
        return cache[1], cache
    index = FeatureIndex.build(lm)
    return index, (lm.model, index)


def first_test_image(index: FeatureIndex) -> dict:
    """What Inspect shows before anything is drawn: the first test 7 (or image), never a blank page."""
    sevens = index.indices_of(7 if len(DATASETS[index.dataset].classes) > 7 else None)
    i = int(sevens[0]) if len(sevens) else 0
    label = DATASETS[index.dataset].classes[int(index.test.labels[i])]
    return {"image": index.test.images[i].numpy().astype(np.float32) / 255, "label": label,
            "title": f"test image #{i} of the {DATASETS[index.dataset].title}", "index": i}


def pick_key(pick: dict | None) -> str | None:
    """Which test image a pick is (its title and pixels), to tell a new pick from one already shown."""
    if pick is None:
        return None
    return pick.get("title", "") + hashlib.sha1(np.ascontiguousarray(pick["image"]).tobytes()).hexdigest()


@dataclass
class InspectTab:
    tab: gr.Tab
    source: gr.Radio
    pick_class: gr.Radio
    another: gr.Button
    head: gr.HTML
    layers: gr.HTML
    more: gr.HTML
    index_cache: gr.State  # (this visitor's model, its FeatureIndex): rebuilt only when the model changes
    pick_seen: gr.State  # which pick Inspect showed last (pick_key), so a new one shows itself once

    def show(self, source, canvas, pick, seen, key, mine, cache, chosen: bool = False) -> dict:
        """Everything Inspect shows, for the visitor's drawing or a picked test image; the two controls above it
        always say which (the Input radio, and the class of the test image shown in "Show me a test image of…").

        Every trigger runs this same function. A pick not yet shown (`seen` is the last shown one's key) wins
        over the source radio: when the Train tab sets a pick and selects this tab, both the pick's change and
        the tab's select arrive, in either order, and both then show the pick. Without a drawing the radio
        says "a test image" (that is what is shown); a test image nobody picked (`chosen`: the visitor set the
        radio) then gives way to the drawing as soon as there is one."""
        lm = Page.model(key, mine)
        index, cache = feature_index(key, lm, cache)
        others = [(selectors.model_name(m), m) for m in SHIPPED.values()] + (
            [(f"your model: {selectors.model_name(mine)}", mine)] if mine else [])
        if pick is not None and pick_key(pick) != seen:
            source = inspect_view.TEST_IMAGE
        reading = None
        if source != inspect_view.TEST_IMAGE or (pick is None and not chosen):
            with unreadable_as_gr_error():
                reading = read(lm, canvas)  # as Draw reads it: the same verdict
        if reading is not None:
            source = inspect_view.MY_DRAWING
            head, layers, more = inspect_view.inspect_view(lm, reading, title="your drawing", index=index,
                                                           others=others)
            picked = None  # the picker is not what is shown
        else:
            shown = pick or first_test_image(index)
            title = shown["title"] if pick is not None or chosen else f"nothing drawn yet, so {shown['title']}"
            source = inspect_view.TEST_IMAGE
            head, layers, more = inspect_view.inspect_view(lm, read(lm, shown["image"]), shown.get("label"),
                                                           title=title, index=index, others=others)
            picked = inspect_view.picker_value(lm, shown)
        picker = gr.update(choices=inspect_view.class_choices(lm), value=picked)
        return {self.source: source, self.pick_class: picker, self.head: head, self.layers: layers,
                self.more: more, self.index_cache: cache, self.pick_seen: pick_key(pick)}

    def pick_test_image(self, choice, pick, key, mine, cache, inspect_pick: gr.State) -> dict:
        lm = Page.model(key, mine)
        index, cache = feature_index(key, lm, cache)
        new = inspect_view.pick_test_image(index, choice, np.random.default_rng(), avoid=(pick or {}).get("index"))
        if new is None:
            gr.Warning("This model reads every bundled test image correctly: there is no misread one to show."
                       if choice == inspect_view.MISREAD else "No test image of that class in the bundled sample.")
            return {self.index_cache: cache}
        return {inspect_pick: {**new, "choice": choice}, self.index_cache: cache}

    def wire(self, page: Page, pad: gr.HTML) -> None:
        # Re-rendered when its input or the model changes; a picked test image shows itself. Not on pad.change:
        # the canvas cannot change while Inspect is showing, and selecting the tab re-renders. source.input (not
        # .change): show() sets the source itself, which must not render twice.
        inputs = [self.source, pad, page.inspect_pick, self.pick_seen, page.model_dd, page.my_model, self.index_cache]
        outputs = [self.source, self.pick_class, self.head, self.layers, self.more, self.index_cache, self.pick_seen]
        gr.on([page.model_dd.change, self.tab.select, page.inspect_pick.change], self.show, inputs, outputs, **OPTIONS)
        self.source.input(lambda *a: self.show(*a, chosen=True), inputs, outputs, **OPTIONS)
        gr.on([self.pick_class.input, self.another.click],
              lambda choice, pick, key, mine, cache: self.pick_test_image(choice, pick, key, mine, cache,
                                                                         page.inspect_pick),
              [self.pick_class, page.inspect_pick, page.model_dd, page.my_model, self.index_cache],
              [page.inspect_pick, self.index_cache], **OPTIONS)


def build(tab: gr.Tab) -> InspectTab:
    with gr.Row(elem_id="inspect-controls"):
        source = gr.Radio([inspect_view.MY_DRAWING, inspect_view.TEST_IMAGE], value=inspect_view.MY_DRAWING, label="Input",
                          elem_id="inspect-source", scale=1, min_width=220)
        pick_class = gr.Radio(inspect_view.class_choices(SHIPPED[DEFAULT_MODEL]), value=None,
                              label="Show me a test image of…", elem_id="inspect-pick", scale=3, min_width=300)
        another = gr.Button("Another one", size="sm", elem_id="another", scale=0, min_width=130)
    head = gr.HTML(elem_id="inspect-head", js_on_load=None)
    layers = gr.HTML(elem_id="inspect-layers", js_on_load=None)
    more = gr.HTML(elem_id="inspect-more", js_on_load=None)
    return InspectTab(tab, source, pick_class, another, head, layers, more, gr.State(None), gr.State(None))
