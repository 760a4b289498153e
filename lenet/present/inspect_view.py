"""What the Inspect tab shows for a drawing or a test image: the reading, every layer, why, and the comparisons."""
from __future__ import annotations

import html

import numpy as np

from lenet.sources.data import DATASETS
from lenet.reading.explain import OCCLUSION_PATCH, FeatureIndex, occlusion, saliency, unit_payload
from lenet.reading.inference import LoadedModel, Reading, read
from lenet.reading.verdict import title as verdict_title
from lenet.present.draw_view import label_value
from lenet.net.model import c3_connection_matrix
from lenet.present.render import bars_html, connection_table_html, maps_html, prob_bars_html
from lenet.present.render_inspect import (compare_html, distance_bars_html, f6_map_svg, figure2_html, input_figure,
                                  neighbours_html, unit_panel_html, why_html)


MY_DRAWING = "my drawing"  # Inspect's sources
TEST_IMAGE = "a test image"
ANY_CLASS = "any"  # the class picker's extra choices (the others are class indices as text)
MISREAD = "misread"


def class_choices(lm: LoadedModel) -> list[tuple[str, str]]:
    """The "show me…" picker: any test image, one of a class, or one this model misreads."""
    return ([("any", ANY_CLASS)] + [(c, str(i)) for i, c in enumerate(lm.classes)]
            + [("one it misreads", MISREAD)])


def picker_value(lm: LoadedModel, pick: dict) -> str | None:
    """What "Show me a test image of…" says for a test image shown: how it was picked ("any", "misread"), else its
    class."""
    if pick.get("choice") in (ANY_CLASS, MISREAD):
        return pick["choice"]
    label = pick.get("label")
    return str(list(lm.classes).index(label)) if label in list(lm.classes) else None


def pick_test_image(index: FeatureIndex, choice: str | None, rng: np.random.Generator,
                    avoid: int | None = None) -> dict | None:
    """A random bundled test image matching the choice, as Inspect's pick ({"image", "label", "title",
    "index"}); None when no image matches (e.g. the model misreads none)."""
    misread = choice == MISREAD
    cls = int(choice) if choice not in (None, ANY_CLASS, MISREAD) else None
    pool = index.indices_of(cls, misread=misread)
    if len(pool) > 1 and avoid is not None:
        pool = pool[pool != avoid]  # "another one" shows another one
    if len(pool) == 0:
        return None
    i = int(rng.choice(pool))
    classes = DATASETS[index.dataset].classes
    label = classes[int(index.test.labels[i])]
    how = f", read as {classes[int(index.test_pred[i])]}" if misread else ""
    return {"image": index.test.images[i].numpy().astype(np.float32) / 255, "label": label,
            "title": f"test image #{i} of the {DATASETS[index.dataset].title}{how}", "index": i}


def compare_rows(models: list[tuple[str, LoadedModel]], digit: np.ndarray) -> list[dict]:
    """The same 28x28 input read by each model: its verdict, and its probabilities as Draw shows them."""
    rows = []
    for name, lm in models:
        r = read(lm, digit)
        v, panel = r.verdict, label_value(lm, r)
        notes = [] if v.kind == "digit" else [f"closest {v.best}"]
        if not lm.reads_digits:
            notes.append(f"knows only {DATASETS.get(lm.dataset, DATASETS['mnist']).title}")
        rows.append({"name": name, "read": v.digit if v.kind == "digit" else v.kind, "prob": v.probability,
                     "probs": np.array(list(panel.values())), "classes": list(panel), "note": "; ".join(notes)})
    return rows


def _big(text: str) -> str:
    return f'<b class="big">{text}</b>'


def headline_html(reading: Reading, true_label: str | None) -> str:
    """The verdict, in Draw's words (lenet.reading.verdict.title), and why."""
    v = reading.verdict
    truth = f" · true label <b>{html.escape(true_label)}</b>" if true_label is not None else ""
    return (f'<p class="inspect-verdict" data-verdict="{v.kind}" data-best="{html.escape(v.best)}">'
            f"{verdict_title(v, bold=_big)}{truth}</p>"
            f'<p class="fmap-note">{html.escape(v.reason[:1].upper() + v.reason[1:])}.</p>')


def inspect_view(lm: LoadedModel, reading: Reading | None, true_label: str | None = None, *,
                 title: str = "", index: FeatureIndex | None = None,
                 others: list[tuple[str, LoadedModel]] = ()) -> tuple[str, str, str]:
    """(head HTML: Fig. 2, input, reading, saliency, occlusion; layers HTML: every map with its unit panel,
    kernels, C3 table, C5/F6; more HTML: nearest training digits, the F6 map, other models' readings)."""
    if reading is None:
        note = '<p class="fmap-note">Draw a digit in the <b>Draw</b> tab, or pick a test image above.</p>'
        return note, "", ""
    cfg = lm.model.config
    a = reading.activations
    top = reading.classes[reading.top]
    rbf = cfg.output == "rbf"
    panel = label_value(lm, reading)  # the same probabilities as Draw's panel
    values = list(panel.values())
    outputs = prob_bars_html(values, list(panel), int(np.argmax(values)))
    if rbf:
        outputs += distance_bars_html(a["output"], reading.classes, reading.top)
    head = (
        figure2_html(cfg, {k: v.shape for k, v in a.items()})
        + '<div class="inspect-head" id="sec-input">'
        + input_figure(reading.input01, cfg.pad, f"Input {cfg.input_size}×{cfg.input_size}"
                       + (f" · {html.escape(title)}" if title else ""))
        + f'<div class="inspect-out">{headline_html(reading, true_label)}{outputs}</div>'
        + why_html(reading.input01, cfg.pad, saliency(lm, reading), occlusion(lm, reading), top,
                   OCCLUSION_PATCH, noun=reading.verdict.noun)
        + "</div>")
    sections = [
        maps_html("c1", a["c1"], f"C1 · {a['c1'].shape[0]} feature maps {a['c1'].shape[1]}×{a['c1'].shape[2]} — "
                  f"each 5×5 kernel slid over the {cfg.input_size}×{cfg.input_size} input: edges and strokes at one "
                  "orientation", units=True),
        maps_html("k1", lm.model.c1[0].weight.detach()[:, 0].numpy(),
                  "C1 kernels · the 5×5 weights each C1 map uses (red +, blue −)", tile_px=60),
        maps_html("s2", a["s2"], f"S2 · subsampled to {a['s2'].shape[1]}×{a['s2'].shape[2]}: "
                  "the same features, less sensitive to exact position", units=True, open_=False),
        '<details class="fmap-layer" id="sec-table" open><summary><h4>S2 → C3 connections: which S2 maps each '
        "C3 map reads</h4></summary>"
        + connection_table_html(c3_connection_matrix().numpy() if cfg.c3_table == "paper" else None) + "</details>",
        maps_html("c3", a["c3"], f"C3 · {a['c3'].shape[0]} feature maps {a['c3'].shape[1]}×{a['c3'].shape[2]} — "
                  "combinations of S2 features: corners, stroke ends, curves", units=True),
        maps_html("s4", a["s4"], f"S4 · {a['s4'].shape[1]}×{a['s4'].shape[2]}: C3 subsampled; C5 reads all of it",
                  units=True, open_=False),
        '<details class="fmap-layer" id="sec-fc" open><summary><h4>C5 and F6 · fully connected units</h4></summary>'
        + bars_html(a["c5"], caption=f"C5: {a['c5'].shape[0]} units") + bars_html(
            a["f6"], caption=f"F6: {a['f6'].shape[0]} units" + (" — compared with each digit's 7×12 prototype by "
                                                               "the RBF output" if rbf else "")) + "</details>",
    ]
    layers = ('<div class="inspect-layers"><div class="layer-maps">' + "".join(sections) + "</div>"
              + unit_panel_html(unit_payload(lm, reading), reading.input01, cfg.pad) + "</div>")
    return head, layers, more_view(lm, reading, index, others)


def more_view(lm: LoadedModel, reading: Reading, index: FeatureIndex | None,
              others: list[tuple[str, LoadedModel]]) -> str:
    parts = []
    if index is not None:
        f6 = reading.activations["f6"]
        near = index.neighbours(f6)
        images = [index.train.images[n["index"]].numpy() / 255 for n in near]
        title = DATASETS[index.dataset].title
        parts.append(
            '<section class="fmap-layer" id="sec-neighbours"><h4>The training images it finds most alike</h4>'
            + neighbours_html(near, images, title, len(index.train)) + "</section>"
            '<section class="fmap-layer" id="sec-f6map"><h4>Where this input lands among the test images</h4>'
            + f6_map_svg(index.test_xy, index.test.labels.numpy(), list(DATASETS[index.dataset].classes),
                         index.project(f6))
            + f'<p class="fmap-note">Each dot is one of the {len(index.test):,} test images of the {title}, placed '
              "by the two directions along which their F6 features (the 84 numbers the output reads) vary most "
              "(PCA), coloured and labelled by true class. Clusters are what the network has learned to tell apart; "
              "the ★ is this input.</p></section>")
    if others:
        parts.append('<section class="fmap-layer" id="sec-compare"><h4>The same input, read by every model</h4>'
                     + compare_html(compare_rows(others, reading.digit)) + "</section>")
    return '<div class="inspect-more">' + "".join(parts) + "</div>"
