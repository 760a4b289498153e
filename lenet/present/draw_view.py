"""What the Draw tab shows (and /read answers): the verdict, the probabilities and what the network sees."""
from __future__ import annotations

import html

import numpy as np

from lenet.sources.data import DATASETS
from lenet.present.icons import PEN, SHIRT
from lenet.reading.inference import LoadedModel, Reading, read
from lenet.reading.verdict import markdown as verdict_markdown
from lenet.present.render import network_view, png_data_url


EMPTY_PROMPT = f"### {PEN} Draw a digit\nBig, anywhere in the box: it is scaled and centred the way MNIST was."


def draw_notice(lm: LoadedModel) -> str:
    """A warning above the verdict when the selected model was not trained on digits (or "" when it was)."""
    if lm.reads_digits:
        return ""
    title = DATASETS[lm.dataset].title if lm.dataset in DATASETS else lm.dataset
    names = ", ".join(html.escape(c) for c in lm.classes[:4])
    return (f'<p class="draw-notice">{SHIRT} <b>This model reads clothes, not digits.</b> It was trained on '
            f"{html.escape(title)}: its 10 classes are {names}… Whatever you draw, it answers with one of them. "
            "Pick an MNIST model above to read digits.</p>")


def seen_html(lm: LoadedModel, reading: Reading | None) -> str:
    """What the network sees, as a figure with alt text and a caption (the S x S input itself: CSS enlarges it);
    a same-sized empty frame before the first stroke, so nothing moves when the first reading arrives."""
    size = lm.model.config.input_size
    pad = (size - 28) // 2
    caption = ("Your drawing the way MNIST digits were made: scaled into 20×20 with its strokes evened to MNIST's "
               "pen, centred in 28×28"
               + (f"; the blue frame is the padding to LeNet-5's {size}×{size} input." if pad else
                  f"; this model reads {size}×{size} with no padding."))
    if reading is None:
        body = '<div class="seen-empty">What the network sees appears here</div>'
    else:
        alt = (f"What the network sees: your drawing as a {size}×{size} grey image, white ink on black, scaled "
               "and centred" + (f", inside a blue {pad}-pixel frame of padding" if pad else ""))
        body = (f'<img class="px" src="{png_data_url(network_view(reading.input01, pad))}" width="{size}" '
                f'height="{size}" alt="{alt}">')
    return (f'<figure class="seen"><figcaption class="seen-title">What the network sees</figcaption>{body}'
            f'<figcaption class="seen-caption">{caption}</figcaption></figure>')


def draw_view(lm: LoadedModel, drawing) -> tuple[str, dict | None, str]:
    """(verdict markdown, label value {class: probability} or None, what the network sees as HTML) for anything
    lenet.reading.inference.read takes."""
    reading = read(lm, drawing)
    if reading is None:
        return EMPTY_PROMPT, None, seen_html(lm, None)
    return verdict_markdown(reading.verdict), label_value(lm, reading), seen_html(lm, reading)


PROBABILITY_SCORES = ("reject", "head", "reject+head")  # reject scores that are a probability of "not a digit"


LETTER = "a letter"  # short: the top rows are set big, and a phone wrapped "a letter or symbol"
# gr.Label shows whole percents: 0.995 and more would read "100%", a certainty no model has (the verdict says
# "over 99.9%")
PANEL_TOP = 0.994


def label_value(lm: LoadedModel, reading: Reading) -> dict[str, float]:
    """The Probabilities panel (Draw's, and Inspect's bars): the numbers the verdict states. When the verdict is
    "not a digit" (and its score is a probability), that leads: the panel headlines its top entry, and a big "0"
    under "That doesn't look like a digit" contradicted it. A model with a lookalike head states each digit's
    probability less P(letter) (lenet.reading.verdict): P(letter) is an entry too, or an S read "5 · probability
    60%" showed 5 at 100%. The digits share what is left, in their usual proportions; no entry reaches "100%"."""
    v, confidences = reading.verdict, reading.confidences()
    if v.kind == "not a digit" and lm.thresholds.score in PROBABILITY_SCORES:
        lead, share = "not a digit", v.score
    else:
        lead, share = LETTER, v.letter  # 0 without a lookalike head: no entry
    panel = ({lead: share} if share > 0 else {}) | {c: (1 - share) * p for c, p in confidences.items()}
    return {c: min(p, PANEL_TOP) for c, p in panel.items()}


def read_json(lm: LoadedModel, reading: Reading | None) -> dict:
    """The public /read answer: {"verdict", "digit", "confidences", "model", "reason"}."""
    if reading is None:
        return {"verdict": "not a digit", "digit": None, "confidences": {}, "model": lm.label,
                "reason": "the canvas is empty: draw a digit"}
    v = reading.verdict
    return {"verdict": v.kind, "digit": v.digit, "confidences": reading.confidences(), "model": lm.label,
            "reason": v.reason}


def feature_maps(lm: LoadedModel, reading: Reading | None) -> dict:
    """C1 and C3 maps of a reading, as nested lists (for the /feature_maps API)."""
    if reading is None:
        return {"empty": True, "model": lm.label}
    a = reading.activations
    return {"empty": False, "model": lm.label, "prediction": reading.classes[reading.top],
            "c1": np.round(a["c1"], 5).tolist(), "c3": np.round(a["c3"], 5).tolist(),
            "c1_shape": list(a["c1"].shape), "c3_shape": list(a["c3"].shape)}
