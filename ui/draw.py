"""The Draw tab: a drawing surface, and the reading beside it -- made in the visitor's browser.

The page gets the selected model once per model change (lenet/reading/webread.py's payload, in a hidden gr.JSON) and
reads every pen move itself (lenet/static/reader.js) through a browser-only event: no request per stroke. If
the reader cannot run there (an old browser, an error), the surface says so and asks the server instead
(`read`, on the surface's "input" event, which it fires only then)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from lenet.present import draw_view, selectors
from lenet.reading.strokes import parse
from ui.common import DEFAULT_MODEL, SHIPPED, Page, static_text, unreadable_as_gr_error
from lenet.reading.webread import export_payload

# The browser-only reading: the surface's strokes and the model payload in, the four outputs out (see pad.js).
# If the reader is missing or fails, nothing is changed and the surface falls back to the server.
LOCAL_READ_JS = """
(drawing, payload) => {
  const keep = {__type__: "update"};
  try {
    if (!window.LenetPad) throw new Error("the drawing surface is not ready");
    return window.LenetPad.read(drawing, payload);
  } catch (e) {
    if (window.LenetPad) window.LenetPad.fallback(e);
    else console.error("LeNet reader:", e);
    return [keep, keep, keep, keep];
  }
}
"""


@dataclass
class DrawTab:
    pad: gr.HTML  # the surface (lenet/static/components/pad.js): its value is the strokes as JSON
    notice: gr.Markdown
    verdict: gr.Markdown
    label: gr.Label
    seen: gr.HTML
    read_seq: gr.HTML  # the drawing sequence number a reading answers (the surface drops stale readings)
    model_web: gr.JSON  # the selected model as the page's reader takes it (lenet/reading/webread.py), hidden

    def read(self, value, key, mine) -> dict:
        """The strokes -> verdict, probabilities, what the network sees, and the drawing's sequence number
        (the surface compares it with its own to know whether the reading on screen is current)."""
        with unreadable_as_gr_error():
            drawing = parse(value)  # once: the reading and the sequence number both come from it
            text, confidences, seen = draw_view.draw_view(Page.model(key, mine), drawing)
        return {self.verdict: text, self.label: confidences, self.seen: seen, self.read_seq: str(drawing.seq)}

    def payload(self, key, mine) -> dict:
        """The selected model for the page's reader: sent once per model change (shipped ones made once)."""
        return {self.model_web: export_payload(Page.model(key, mine))}

    def my_payload(self, key, mine):
        """The visitor's own model changed (a training update, an upload): the page gets it if it is selected."""
        if key != selectors.YOURS or mine is None:
            return {self.model_web: gr.skip()}
        return self.payload(key, mine)

    def model_notes(self, key, mine, model_dd: gr.Dropdown) -> dict:
        """The selected model in words under the selector, and the notice when it does not read digits."""
        lm = Page.model(key, mine)
        return {self.notice: draw_view.draw_notice(lm),
                model_dd: gr.update(info=selectors.model_info(lm) + " For Draw and Inspect.")}

    def wire(self, page: Page) -> None:
        outputs = [self.verdict, self.label, self.seen, self.read_seq]
        # Every pen move is read in the page (lenet/static/reader.js): a browser-only event, no request.
        local = dict(fn=None, inputs=[self.pad, self.model_web], outputs=outputs, js=LOCAL_READ_JS,
                     api_visibility="private", show_progress="hidden", queue=False)
        self.pad.change(**local)
        # A new model: its payload once, then the drawing is read again in the page.
        for trigger, fn in ((page.model_dd.change, self.payload), (page.my_model.change, self.my_payload)):
            trigger(fn, [page.model_dd, page.my_model], [self.model_web], api_visibility="private",
                    show_progress="hidden", queue=False).then(**local)
        # The fallback, when the page cannot read: the surface fires "input" and the server reads. always_last:
        # while a reading is running, newer drawings wait and only the newest is read next, so answers arrive in
        # order and the last one is always of the drawing as it is now. queue=False: one plain POST per reading.
        self.pad.input(self.read, [self.pad, page.model_dd, page.my_model], outputs, api_visibility="private",
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
            notice = gr.Markdown(draw_view.draw_notice(lm), elem_id="draw-notice")
            verdict = gr.Markdown(draw_view.EMPTY_PROMPT, elem_id="verdict")
            with gr.Row(equal_height=False, elem_id="reading"):
                # no heading: the verdict above is the headline (a big "1" beside "Probability 76.6%" claimed more)
                label = gr.Label(num_top_classes=11, label="Probabilities", elem_id="probs", min_width=170,
                                 show_heading=False)
                seen = gr.HTML(draw_view.seen_html(lm, None), elem_id="seen", js_on_load=None, min_width=170)
            read_seq = gr.HTML("0", html_template='<output data-seq="${value}" hidden></output>', js_on_load=None,
                               elem_id="read-seq")
            model_web = gr.JSON(export_payload(lm), visible=False, elem_id="model-web")
    return DrawTab(pad, notice, verdict, label, seen, read_seq, model_web)
