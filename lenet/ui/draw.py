"""The Draw tab: a drawing surface that sends its strokes, and the reading beside it."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from lenet import views
from lenet.strokes import sequence
from lenet.ui.common import DEFAULT_MODEL, SHIPPED, Page, static_text, unreadable_as_gr_error


@dataclass
class DrawTab:
    pad: gr.HTML  # the surface (lenet/static/components/pad.js): its value is the strokes as JSON
    notice: gr.Markdown
    verdict: gr.Markdown
    label: gr.Label
    seen: gr.HTML
    read_seq: gr.HTML  # the drawing sequence number a reading answers (the surface drops stale readings)

    def read(self, drawing, key, mine) -> dict:
        """The strokes -> verdict, probabilities, what the network sees, and the drawing's sequence number
        (the surface compares it with its own to know whether the reading on screen is current)."""
        lm = Page.model(key, mine)
        with unreadable_as_gr_error():
            text, confidences, image = views.draw_view(lm, drawing)
        return {self.verdict: text, self.label: confidences, self.seen: views.seen_html(lm, image),
                self.read_seq: sequence(drawing)}

    def model_notes(self, key, mine, model_dd: gr.Dropdown) -> dict:
        """The selected model in words under the selector, and the notice when it does not read digits."""
        lm = Page.model(key, mine)
        return {self.notice: views.draw_notice(lm),
                model_dd: gr.update(info=views.model_info(lm) + " Used by Draw and Inspect.")}

    def wire(self, page: Page) -> None:
        # always_last: while a reading is running, newer drawings wait and only the newest is read next, so
        # answers arrive in order and the last one is always of the drawing as it is now. queue=False: one plain
        # POST per reading instead of a queue join plus an event stream (pen-up -> verdict p50 54 ms instead of
        # 114 ms, bench/stroke_latency.py). The model selector re-reads the drawing the same way.
        gr.on([self.pad.change, page.model_dd.change], self.read, [self.pad, page.model_dd, page.my_model],
              [self.verdict, self.label, self.seen, self.read_seq], api_visibility="private",
              trigger_mode="always_last", show_progress="hidden", queue=False)
        page.model_dd.change(lambda key, mine: self.model_notes(key, mine, page.model_dd),
                             [page.model_dd, page.my_model], [self.notice, page.model_dd], api_visibility="private",
                             show_progress="hidden", queue=False)


def build() -> DrawTab:
    lm = SHIPPED[DEFAULT_MODEL]
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            pad = gr.HTML("", html_template=static_text("components/pad.html"),
                          js_on_load=static_text("components/pad.js"), elem_id="pad", label="Draw a digit",
                          padding=False)
        with gr.Column(scale=1, min_width=300):
            notice = gr.Markdown(views.draw_notice(lm), elem_id="draw-notice")
            verdict = gr.Markdown(views.EMPTY_PROMPT, elem_id="verdict")
            with gr.Row(equal_height=False, elem_id="reading"):
                label = gr.Label(num_top_classes=11, label="Probabilities", elem_id="probs", min_width=170)
                seen = gr.HTML(views.seen_html(lm, None), elem_id="seen", js_on_load=None, min_width=170)
            read_seq = gr.HTML("0", html_template='<output data-seq="${value}" hidden></output>', js_on_load=None,
                               elem_id="read-seq")
    return DrawTab(pad, notice, verdict, label, seen, read_seq)
