"""What each tab shows, as plain values (markdown, numpy images, HTML): no UI framework.

`app.py` wires these to Gradio components; keeping them here makes every view testable without
a server.
"""
from __future__ import annotations

import dataclasses
import functools
import html
import math
from dataclasses import dataclass, field

import numpy as np

from lenet import canvas
from lenet.config import ARCHITECTURES
from lenet.data import DATASETS, dataset_info, is_available_offline, load_split
from lenet.evaluate import evaluate
from lenet.explain import OCCLUSION_PATCH, FeatureIndex, occlusion, saliency, unit_payload
from lenet.icons import ASK, FAIL, OK, PEN, SHIRT, STOP, WAIT, WARN
from lenet.inference import LoadedModel, Reading, read_canvas, read_digit
from lenet.inference import verdict as judge_reading
from lenet.verdict import Verdict
from lenet.verdict import markdown as verdict_markdown
from lenet.verdict import probability_words
from lenet.model import c3_connection_matrix
from lenet.charts import Series, line_chart, log_range
from lenet.preprocess import canvas_to_digit
from lenet.render import (bars_html, confusion_html, connection_table_html, gray, maps_html, network_view,
                          percent, png_data_url, prob_bars_html, upscale)
from lenet.render_inspect import (compare_html, distance_bars_html, f6_map_svg, figure2_html, input_figure,
                                  neighbours_html, unit_panel_html, why_html)
from lenet.train import TrainConfig, run_outcome
from lenet.watch import EvalSnapshot, Pinned, RunHistory

EMPTY_PROMPT = f"### {PEN} Draw a digit\nBig, anywhere in the box: it is scaled and centred the way MNIST was."


# ---------- canvas values ----------

canvas_image = canvas.canvas_image  # the Draw surface's value (strokes) or a Sketchpad dict -> image or None


# ---------- models ----------

YOURS = "yours"  # the model dropdown's value for this visitor's own model

def arch_name(arch: str) -> str:
    """A person's name for an architecture id (the id itself for one this app does not know)."""
    return ARCHITECTURES[arch].name if arch in ARCHITECTURES else arch


def _dataset_short(dataset: str) -> str:
    return DATASETS[dataset].short if dataset in DATASETS else dataset


def arch_choices() -> list[tuple[str, str]]:
    return [(a.name, k) for k, a in ARCHITECTURES.items()]


def arch_info(arch: str) -> str:
    description = ARCHITECTURES[arch].description if arch in ARCHITECTURES else ""
    return description


def model_name(lm: LoadedModel) -> str:
    """Short enough for the selector on a phone: "LeNet-5 · MNIST · 99.3%"."""
    acc = f" · {lm.test_accuracy:.1%}" if lm.test_accuracy is not None else ""
    return f"{arch_name(lm.arch)} · {_dataset_short(lm.dataset)}{acc}"


def model_choices(shipped: dict[str, LoadedModel], mine: LoadedModel | None) -> list[tuple[str, str]]:
    choices = [(model_name(lm), key) for key, lm in shipped.items()]
    if mine is not None:
        acc = f" · {mine.test_accuracy:.1%}" if mine.test_accuracy is not None else ""
        # its architecture is in model_info, under the selector: the name stays short enough for a phone
        choices.append((f"your model · {_dataset_short(mine.dataset)}{acc}", YOURS))
    return choices


def model_info(lm: LoadedModel) -> str:
    """The selected model in full, under the selector."""
    trained_on = DATASETS[lm.dataset].title if lm.dataset in DATASETS else lm.dataset
    description = ARCHITECTURES[lm.arch].description if lm.arch in ARCHITECTURES else lm.arch
    return f"{description}, trained on {trained_on}."


def resolve_model(key: str | None, shipped: dict[str, LoadedModel], mine: LoadedModel | None,
                  default: str) -> LoadedModel:
    if key == YOURS and mine is not None:
        return mine
    return shipped.get(key) or shipped[default]


# ---------- Draw ----------

def reads_digits(lm: LoadedModel) -> bool:
    return tuple(lm.classes) == DATASETS["mnist"].classes


def verdict(reading: Reading, judged: Verdict | None) -> str:
    """The verdict text: digit / unsure / not a digit (`judged`, lenet.verdict) when the model reads digits,
    else its top classes."""
    if judged is not None:
        return verdict_markdown(judged)
    order = np.argsort(reading.probs)[::-1]
    first, second = reading.classes[order[0]], reading.classes[order[1]]
    p1, p2 = reading.probs[order[0]], reading.probs[order[1]]
    if reading.unsure:
        why = (f"no digit prototype is close (“none of these”: {reading.reject:.0%})" if reading.reject > p1
               else f"then {html.escape(second)} ({p2:.0%})")
        return (f"### {ASK} Not sure — is that a digit?\nBest guess **{html.escape(first)}** ({p1:.0%}), {why}. "
                "Try drawing it again, more clearly.")
    return (f"### I read: **{html.escape(first)}**\nProbability {probability_words(p1)} · runner-up "
            f"{html.escape(second)} ({probability_words(p2)})")


def seen_image(lm: LoadedModel, reading: Reading) -> np.ndarray:
    cfg = lm.model.config
    return network_view(reading.input01, cfg.pad, factor=8)


def draw_notice(lm: LoadedModel) -> str:
    """A warning above the verdict when the selected model was not trained on digits (or "" when it was)."""
    if reads_digits(lm):
        return ""
    title = DATASETS[lm.dataset].title if lm.dataset in DATASETS else lm.dataset
    names = ", ".join(html.escape(c) for c in lm.classes[:4])
    return (f'<p class="draw-notice">{SHIRT} <b>This model reads clothes, not digits.</b> It was trained on '
            f"{html.escape(title)}: its 10 classes are {names}… Whatever you draw, it answers with one of them. "
            "Pick an MNIST model above to read digits.</p>")


def seen_html(lm: LoadedModel, image: np.ndarray | None) -> str:
    """What the network sees (from draw_view), as a figure with alt text and a caption; a same-sized empty
    frame before the first stroke, so nothing moves when the first reading arrives."""
    size = lm.model.config.input_size
    pad = (size - 28) // 2
    caption = ("Your drawing the way MNIST digits were made: scaled into 20×20 with its strokes evened to MNIST's "
               "pen, centred in 28×28"
               + (f"; the blue frame is the padding to LeNet-5's {size}×{size} input." if pad else
                  f"; this model reads {size}×{size} with no padding."))
    if image is None:
        body = '<div class="seen-empty">What the network sees appears here</div>'
    else:
        k = image.shape[0] // size if image.shape[0] % size == 0 else 1
        small = np.ascontiguousarray(image[::k, ::k])  # draw_view upscales by repetition: undo it, let CSS scale
        alt = (f"What the network sees: your drawing as a {size}×{size} grey image, white ink on black, scaled "
               "and centred" + (f", inside a blue {pad}-pixel frame of padding" if pad else ""))
        body = f'<img class="px" src="{png_data_url(small)}" width="{size}" height="{size}" alt="{alt}">'
    return (f'<figure class="seen"><figcaption class="seen-title">What the network sees</figcaption>{body}'
            f'<figcaption class="seen-caption">{caption}</figcaption></figure>')


def read_value(lm: LoadedModel, value) -> Reading | None:
    """A canvas value (Draw strokes, a Sketchpad dict or an image array) read by a model; None when it holds no ink."""
    image = canvas_image(value)
    return None if image is None else read_canvas(lm, image)


def draw_view(lm: LoadedModel, value) -> tuple[str, dict | None, np.ndarray | None]:
    """(verdict markdown, label value {class: probability} or None, what the network sees or None)."""
    reading = read_value(lm, value)
    if reading is None:
        return EMPTY_PROMPT, None, None
    judged = judge_reading(lm, reading) if reads_digits(lm) else None  # once: the text and the panel share it
    return verdict(reading, judged), label_value(lm, reading, judged), seen_image(lm, reading)


PROBABILITY_SCORES = ("reject", "head", "reject+head")  # reject scores that are a probability of "not a digit"


def label_value(lm: LoadedModel, reading: Reading, judged: Verdict | None) -> dict[str, float]:
    """The Probabilities panel. When the verdict is "not a digit" (and its score is a probability), that leads:
    the panel headlines its top entry, and a big "0" under "That doesn't look like a digit" contradicted it.
    The digits then share what is left, in their usual proportions."""
    confidences = reading.confidences()
    if judged is None or judged.kind != "not a digit" or lm.thresholds.score not in PROBABILITY_SCORES:
        return confidences
    return {"not a digit": judged.score} | {c: (1 - judged.score) * p for c, p in confidences.items()}


def read_json(lm: LoadedModel, value) -> dict:
    """The public /read answer: {"verdict", "digit", "confidences", "model", "reason"}."""
    reading = read_value(lm, value)
    if reading is None:
        return {"verdict": "not a digit", "digit": None, "confidences": {}, "model": lm.label,
                "reason": "the canvas is empty: draw a digit"}
    v = judge_reading(lm, reading)
    return {"verdict": v.kind, "digit": v.digit, "confidences": reading.confidences(), "model": lm.label,
            "reason": v.reason}


def feature_maps(lm: LoadedModel, value) -> dict:
    """C1 and C3 maps for a canvas value, as nested lists (for the /feature_maps API)."""
    reading = read_value(lm, value)
    if reading is None:
        return {"empty": True, "model": lm.label}
    a = reading.activations
    return {"empty": False, "model": lm.label, "prediction": reading.classes[reading.top],
            "c1": np.round(a["c1"], 5).tolist(), "c3": np.round(a["c3"], 5).tolist(),
            "c1_shape": list(a["c1"].shape), "c3_shape": list(a["c3"].shape)}


# ---------- Inspect ----------

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
    """The same 28x28 input read by each model."""
    rows = []
    for name, lm in models:
        r = read_digit(lm, digit)
        title = DATASETS.get(lm.dataset, DATASETS["mnist"]).title
        note = "" if lm.dataset.startswith("mnist") else f"knows only {title}"
        read, prob = r.classes[r.top], float(r.probs[r.top])
        probs, classes = r.probs, list(r.classes)
        if r.reject > prob:  # e.g. the 1998 model's "none of these": no digit prototype is close
            probs, classes = np.append(r.probs, r.reject), classes + ["none of these"]
            note = f"no digit is close: closest {read}"
            read, prob = "none", float(r.reject)
        rows.append({"name": name, "read": read, "prob": prob, "probs": probs,
                     "classes": classes, "note": "unsure" if r.unsure and not note else note})
    return rows


def inspect_view(lm: LoadedModel, digit: np.ndarray | None, true_label: str | None = None, *,
                 title: str = "", index: FeatureIndex | None = None,
                 others: list[tuple[str, LoadedModel]] = ()) -> tuple[str, str, str]:
    """(head HTML: Fig. 2, input, reading, saliency, occlusion; layers HTML: every map with its unit panel,
    kernels, C3 table, C5/F6; more HTML: nearest training digits, the F6 map, other models' readings)."""
    if digit is None:
        note = '<p class="fmap-note">Draw a digit in the <b>Draw</b> tab, or pick a test image above.</p>'
        return note, "", ""
    reading = read_digit(lm, digit)
    cfg = lm.model.config
    a = reading.activations
    top = reading.classes[reading.top]
    truth = f" · true label <b>{html.escape(true_label)}</b>" if true_label is not None else ""
    rbf = cfg.output == "rbf"
    outputs = prob_bars_html(reading.probs, reading.classes, reading.top)
    if rbf:
        outputs += distance_bars_html(a["output"], reading.classes, reading.top)
    reject = f" · “none of these” {reading.reject:.0%}" if reading.reject >= 0.005 else ""
    head = (
        figure2_html(cfg, {k: v.shape for k, v in a.items()})
        + '<div class="inspect-head" id="sec-input">'
        + input_figure(reading.input01, cfg.pad, f"Input {cfg.input_size}×{cfg.input_size}"
                       + (f" · {html.escape(title)}" if title else ""))
        + f'<div class="inspect-out"><p>Reads <b class="big">{html.escape(top)}</b> '
          f"({reading.probs[reading.top]:.1%}){truth}{reject}</p>{outputs}</div>"
        + why_html(reading.input01, cfg.pad, saliency(lm, reading), occlusion(lm, reading), top,
                   OCCLUSION_PATCH, noun="digit" if lm.dataset.startswith("mnist") else "item")
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


# ---------- Train ----------

def default_dataset() -> str:
    """Full MNIST when it is on this machine; otherwise the bundled sample, which always works."""
    return "mnist" if is_available_offline("mnist") else "mnist-sample"


def dataset_choices() -> list[tuple[str, str]]:
    """Names a person reads; where the data comes from is the dropdown's `info` (DATASET_INFO)."""
    return [(info.choice, k) for k, info in DATASETS.items()]


DATASET_INFO = "The full sets download once, on first use; the samples ship with the app and work offline."


def suggested_epochs(dataset: str) -> int:
    """The default recipe's epochs for full datasets (bench/time_to_99.py: every seed reaches 99.0% on MNIST);
    the bundled samples need more passes to learn."""
    return 10 if dataset_info(dataset).sample else TrainConfig().epochs


PAPER_ERRORS = (("1998 paper: 0.95% error", 0.95, False), ("1998 paper, distortions: 0.8%", 0.8, True))
WATCH_DRAWING = "my drawing"  # the Train tab's "digit to watch" choices: the Draw canvas, or a test image
WATCH_TEST = "a test digit of class"


def paper_lines(cfg: TrainConfig) -> list[tuple[str, float]]:
    """The paper's test errors where they apply: full MNIST only, 0.8% for runs with distortions."""
    if cfg.dataset != "mnist":
        return []
    return [(name, err) for name, err, distorted in PAPER_ERRORS if distorted == cfg.augment]


def run_label(cfg: TrainConfig) -> str:
    aug = " · augment" if cfg.augment else ""
    return f"{cfg.arch} · {cfg.optimizer} lr {cfg.lr:g} · bs {cfg.batch_size}{aug}"


def smoothing_span(n_train: int) -> int:
    """Images the running train error averages over: a tenth of an epoch, within 500-5,000 (round)."""
    span = min(max(n_train // 10, 500), 5000)
    return int(round(span, -2))


def smoothing_floor(eps: float, k: int) -> float:
    """The smallest cross-entropy against label-smoothed targets over k classes: their own entropy."""
    hi, lo = 1 - eps + eps / k, eps / k
    return -(hi * math.log(hi) + (k - 1) * lo * math.log(lo))


def _marker(epoch: float | None) -> tuple[float, str] | None:
    return None if epoch is None else (float(epoch), f"shown: epoch {epoch:.2f}".rstrip("0").rstrip("."))


@dataclass(frozen=True)
class Curves:
    """One run's curves, kept per visitor so the next run can draw them (dashed) for comparison."""
    label: str
    epochs: int
    loss: dict  # series name -> [(epoch, cross-entropy)]
    error: dict  # series name -> [(epoch, error %)]


@dataclass
class TrainView:
    """Accumulates events into curves, a status line and this visitor's model."""

    cfg: TrainConfig
    previous: Curves | None = None  # the visitor's previous run, drawn dashed
    loss: dict = field(default_factory=lambda: {"train": [], "val": [], "test": []})
    error: dict = field(default_factory=lambda: {"train": [], "val": [], "test": []})
    state: str = "starting"
    test_accuracy: float | None = None
    last: dict = field(default_factory=dict)
    start: dict = field(default_factory=dict)
    raw_error: list = field(default_factory=list)  # train error % of each window of batches (drawn faint)
    smooth_error: float | None = None
    span: int = 2000  # images the running train error averages over (smoothing_span)

    def __post_init__(self):
        # before the run's start event says how many training images there are: the usual count (the samples
        # bundle ~4,000, the full sets 60,000), less the validation split
        n = 4000 if self.cfg.dataset in DATASETS and dataset_info(self.cfg.dataset).sample else 60000
        self.span = smoothing_span(int(n * (1 - self.cfg.val_split)))

    def add(self, ev: dict) -> None:
        kind = ev["type"]
        if kind == "start":
            self.start = ev
            self.state = "training"
            self.span = smoothing_span(ev.get("n_train", 0))
        elif kind == "step":
            x = ev["epoch"] - 1 + ev["epoch_progress"]
            # the loss the test loss is comparable with: plain cross-entropy (the optimised one has label smoothing)
            self.loss["train"].append((x, ev.get("cross_entropy", ev["loss"])))
            # each window of batches is noisy (and 0% wrong on a lucky one): a running figure over the last
            # `span` images is the train error, the windows themselves are drawn faint under it
            error = 100 * (1 - ev["accuracy"])
            self.raw_error.append((x, error))
            k = 1 - math.exp(-ev.get("images", self.span) / self.span)
            self.smooth_error = error if self.smooth_error is None else self.smooth_error + k * (error - self.smooth_error)
            self.error["train"].append((x, self.smooth_error))
            self.last = ev
        elif kind == "eval":  # the end of an epoch, or a point inside the last one (epoch_progress < 1)
            x = ev["epoch"] - 1 + ev.get("epoch_progress", 1.0)
            self.loss[ev["split"]].append((x, ev["loss"]))
            self.error[ev["split"]].append((x, 100 * (1 - ev["accuracy"])))
            if ev["split"] == "test":
                self.test_accuracy = ev["accuracy"]
        elif kind == "done":
            self.state = "failed" if ev.get("failed") else "finished" if ev["reason"] == "finished" else "early-stopped"
            self.test_accuracy = ev["test_accuracy"]
            self.last = {**self.last, "failure": ev.get("failure")}
        elif kind == "error":
            self.state = "diverged"
            self.last = ev

    def stopped(self) -> None:
        self.state = "stopped"

    @property
    def epoch(self) -> float:
        """Fractional epochs done, for snapshots."""
        ev = self.last
        return ev["epoch"] - 1 + ev["epoch_progress"] if ev.get("type") == "step" else float(ev.get("epoch", 0))

    def curves(self) -> Curves:
        return Curves(run_label(self.cfg), self.cfg.epochs, self.loss, self.error)

    def _series(self, which: str) -> list[Series]:
        data, prev = (self.loss, self.previous.loss if self.previous else None) if which == "loss" else \
            (self.error, self.previous.error if self.previous else None)
        splits = ("train", "val", "test") if self.cfg.val_split > 0 else ("train", "test")
        out = [Series(name, name, data[name]) for name in splits]
        if which == "error":
            out.insert(1, Series("train, each update", "train", self.raw_error, faint=True))
        if prev is not None:  # the previous run: only the splits it has, so the legend stays true
            out += [Series(f"previous: {name}", name, prev[name], dashed=True) for name in ("train", "test")
                    if prev.get(name)]
        if which == "error":
            x_end = float(self.x_max)
            out += [Series(name, "ref", [(0.0, err), (x_end, err)], label_at_end=f"{err:g}%")
                    for name, err in paper_lines(self.cfg)]
        return out

    @property
    def x_max(self) -> int:
        return max(self.cfg.epochs, self.previous.epochs if self.previous else 0)

    def loss_html(self, marker: float | None = None) -> str:
        series = self._series("loss")
        values = [y for s in series for _, y in s.points]
        eps = self.cfg.label_smoothing
        note = "train: cross-entropy of the batches being learned, measured as for test."
        if eps > 0:
            k = len(dataset_info(self.cfg.dataset).classes) + self.cfg.negatives
            note += (f" Training minimises a label-smoothed loss ({eps:g}, never below "
                     f"{smoothing_floor(eps, k):.2f}) so the network is not over-confident.")
        return line_chart("Loss", "cross-entropy", series, self.x_max,
                          log_range(values, floor=1e-3, empty=(0.1, 10)), marker=_marker(marker), note=note)

    def error_html(self, marker: float | None = None) -> str:
        series = self._series("error")
        values = [y for s in series if not s.faint for _, y in s.points]
        note = (f"train: error over the last ~{self.span:,} training images (faint: each update alone). "
                "test: images it never trains on.")
        return line_chart("Error rate", "error %", series, self.x_max,
                          log_range(values, floor=0.01, ceiling=100, empty=(0.1, 100)), unit="%",
                          marker=_marker(marker), note=note)

    def status(self) -> str:
        s, ev = self.start, self.last
        if self.state == "diverged":
            return f"### {WARN} Stopped: the run diverged\n{html.escape(ev.get('message', ''))}"
        if not s:
            return f"### {WAIT} Loading {html.escape(dataset_info(self.cfg.dataset).title)}…"
        total = self.cfg.epochs * s["steps_per_epoch"]
        step = ev.get("step", 0)
        bar = _progress_bar(step / total if total else 0)
        where = f"on {html.escape(s['device'])} · {s['n_train']:,} training images · {s['parameters']:,} parameters"
        if self.state == "failed":
            return (f"### {FAIL} This run failed: it learned nothing\n{bar}\n{html.escape(ev.get('failure') or '')} "
                    "Draw and Inspect keep the model they had; pick “your model” in the Model menu to try it anyway.")
        if self.state in ("finished", "early-stopped"):
            how = "Done" if self.state == "finished" else "Done, stopped early (it had stopped improving)"
            return (f"### {OK} {how} · test accuracy {self.test_accuracy:.2%}\n{bar}\n"
                    f"{where}. Your model is now selected in Draw and Inspect.")
        if self.state == "stopped":
            at = f" in epoch {ev['epoch']}, step {step}" if ev else " before the first step"
            return f"### {STOP} Stopped{at}\n{bar}\nKept what was learned so far: its test results appear below."
        if not ev:
            return f"### Training started\n{bar}\n{where}"
        test = f" · test accuracy {self.test_accuracy:.2%}" if self.test_accuracy is not None else ""
        train = (f"train accuracy {1 - self.smooth_error / 100:.1%} (last ~{self.span:,} images)"
                 if self.smooth_error is not None else f"train accuracy {ev['accuracy']:.1%}")
        return (f"### Training · epoch {ev['epoch']}/{self.cfg.epochs} · step {step}/{total}\n{bar}\n"
                f"{train}{test} · {ev['images_per_s']:,.0f} images/s · "
                f"{ev['elapsed']:.0f} s elapsed · about {ev['eta']:.0f} s left\n\n{where}")

    def model(self, weights: dict) -> LoadedModel:
        info = dataset_info(self.cfg.dataset)
        meta = {"arch": self.cfg.arch, "dataset": self.cfg.dataset, "classes": list(info.classes),
                "settings": dataclasses.asdict(self.cfg),
                "metrics": {"test_accuracy": self.test_accuracy}, "epochs_done": self.last.get("epoch", 0)}
        lm = LoadedModel.from_weights(self.cfg.model_config(), weights, meta, source="trained")
        return dataclasses.replace(lm, run_state=self.state)


def _progress_bar(frac: float) -> str:
    frac = min(max(frac, 0.0), 1.0)
    return f'<div class="progress"><div style="width:{frac * 100:.1f}%"></div></div>'


def finish_view(lm: LoadedModel, data_dir: str | None = None) -> tuple[str, LoadedModel, dict]:
    """After a run (finished or stopped): the results text, the final model (finalized), its test evaluation."""
    split = test_split(lm.dataset, data_dir)
    r = evaluate(lm.model, split)
    meta = {**lm.meta, "metrics": {"test_accuracy": r["accuracy"], "test_loss": r["loss"], "test_n": r["n"]}}
    run_state = "stopped" if lm.run_state == "training" else lm.run_state
    outcome = run_outcome(r["accuracy"], len(lm.classes))
    if outcome["failed"] and run_state in ("finished", "early-stopped"):  # a run the visitor stopped stays "stopped"
        run_state = "failed"
    how = {"stopped": f"{STOP} Stopped — kept what was learned so far",
           "diverged": f"{WARN} The run diverged — kept the last good weights",
           "failed": f"{FAIL} This run failed: it learned nothing"}.get(run_state, f"{OK} Finished")
    title = DATASETS[lm.dataset].title
    use = ("It is now **your model** in Draw and Inspect, for you only; reloading the page returns to the shipped "
           "models. Download it below to keep it.")
    if run_state == "failed":
        use = (f"{html.escape(outcome['failure'])} Draw and Inspect keep the model they had; it is listed as “your "
               "model” in the Model menu if you want to try it anyway.")
    md = (f"### {how}\nTest accuracy **{r['accuracy']:.2%}** on {r['n']:,} {title} test images "
          f"({len(r['misclassified'])} misread). {use}")
    final = dataclasses.replace(lm, meta=meta, run_state=run_state, finalized=True)
    return md, final, r


@functools.lru_cache(maxsize=2)
def test_split(dataset: str, data_dir: str | None = None):
    """A dataset's test split, cached for the drill-down (read-only; full MNIST's is 7.8 MB)."""
    return load_split(dataset, train=False, data_dir=data_dir)


def download_name(lm: LoadedModel) -> str:
    return f"{lm.arch}-{lm.dataset}-yours.safetensors"


# ---------- Train: watching it learn ----------

def pinned_digit(choice: str, canvas, test_class: str, dataset: str) -> Pinned | None:
    """The digit the Train tab reads at every model update: the visitor's drawing, or the first test image
    of a class from the run's own test set (the bundled sample's, so it is there at once)."""
    if choice == WATCH_DRAWING:
        image = canvas_image(canvas)
        digit = None if image is None else canvas_to_digit(image)
        return None if digit is None else Pinned(digit, "your drawing")
    info = dataset_info(dataset)
    sample = load_split(dataset if info.sample else f"{dataset}-sample", train=False)
    classes = list(info.classes)
    k = classes.index(test_class) if test_class in classes else 0
    hits = (sample.labels == k).nonzero().flatten()
    index = int(hits[0]) if len(hits) else 0
    return Pinned(sample.images[index].numpy().astype(np.float32) / 255, f"test image #{index}",
                  classes[int(sample.labels[index])])


def class_names(dataset: str) -> list[str]:
    return list(dataset_info(dataset).classes)


def kernels_of(lm: LoadedModel) -> np.ndarray:
    return lm.model.c1[0].weight.detach()[:, 0].numpy()


def watch_html(history: RunHistory | None, index: int | None = None) -> str:
    """One snapshot: the pinned digit's ten probabilities and the C1 kernels at that moment."""
    if history is None or not history.snapshots:
        return ('<div class="watch-empty">While a run trains, the digit you pin here is read again at every model '
                'update, and C1’s kernels are drawn as they change.</div>')
    index = len(history.snapshots) - 1 if index is None else int(np.clip(index, 0, len(history.snapshots) - 1))
    snap = history.snapshots[index]
    when = "final model" if snap.final else f"epoch {snap.epoch:.2f} · step {snap.step:,}"
    parts = [f'<p class="watch-when">{when}</p><div class="watch">']
    pin = history.pinned
    if pin is None:
        parts.append('<p class="fmap-note watch-digit">No digit pinned: nothing was drawn in Draw when this run '
                     'started. Pick “a test digit of class” to watch one being read.</p>')
    if pin is not None and snap.probs is not None:
        top = int(snap.probs.argmax())
        truth = f" · true class <b>{html.escape(pin.label)}</b>" if pin.label is not None else ""
        parts.append(
            f'<figure class="watch-digit"><img class="px" src="{png_data_url(upscale(gray(pin.image), 3))}" '
            f'width="84" height="84" alt="the pinned digit: {html.escape(pin.title)}">'
            f'<figcaption>{html.escape(pin.title)}{truth}<br>reads <b class="big">{html.escape(history.classes[top])}'
            f'</b> {percent(float(snap.probs[top]))}</figcaption></figure>'
            + prob_bars_html(snap.probs, history.classes, top))
    parts.append('<div class="watch-kernels">' + maps_html(
        "k1", snap.kernels, f"C1 kernels · the {len(snap.kernels)} 5×5 weight patterns (red +, blue −)", tile_px=44)
        + "</div></div>")
    return "".join(parts)


def snapshot_at(history: RunHistory, epoch: float) -> int:
    """The index of the snapshot nearest `epoch` (the latest of equally near ones: the final model at the end)."""
    gaps = [abs(s.epoch - epoch) for s in history.snapshots]
    best = min(gaps)
    return max(i for i, g in enumerate(gaps) if g <= best + 1e-9)


def _evaluation_at(history: RunHistory | None, index: int | None) -> tuple[EvalSnapshot | None, bool]:
    """(the test evaluation shown at a snapshot, whether it is the final model's). index None: the latest
    evaluation, which may be newer than the latest snapshot (it arrives just before the epoch's weights)."""
    if history is None:
        return None, False
    snaps = history.snapshots
    if index is None:
        last = snaps[-1] if snaps else None
        return history.evaluation, last is not None and last.final and last.evaluation is history.evaluation
    if not snaps:
        return None, False
    snap = snaps[int(np.clip(index, 0, len(snaps) - 1))]
    return snap.evaluation, snap.final


def confusion_view(history: RunHistory | None, index: int | None = None,
                   selected: tuple[int, int] | None = None) -> str:
    ev, final = _evaluation_at(history, index)
    if ev is None:
        return '<p class="fmap-note">The confusion matrix appears at the first test evaluation (end of epoch 1).</p>'
    when = "the final model" if final else f"epoch {ev.epoch:g}"
    return confusion_html(ev.confusion, history.classes, f"Test set, {when}: {ev.accuracy:.2%} read right",
                          clickable=ev.predictions is not None, selected=selected)


def gallery_caption(index: int, true: str, read: str) -> str:
    """A gallery image's caption, what matters first (a narrow tile cuts the end): "9 → 4 · #57"."""
    return f"{true} → {read} · #{index}"


def cell_images(history: RunHistory, index: int | None, true: int, read: int, limit: int = 40,
                data_dir: str | None = None) -> tuple[list, list[int], str]:
    """The test images of one confusion cell at a snapshot: (gallery items, their indices, a caption)."""
    ev, _ = _evaluation_at(history, index)
    if ev is None or ev.predictions is None:
        return [], [], "No per-image readings were kept for this evaluation."
    split = test_split(history.dataset, data_dir)
    labels = split.labels.numpy()
    hits = np.flatnonzero((labels == true) & (ev.predictions[:len(labels)] == read))
    classes = history.classes
    images = f"{len(hits)} test image{'' if len(hits) == 1 else 's'} of a {classes[true]}"
    what = f"{images} read as {classes[read]}" if true != read else f"{images} read right"
    shown = hits[:limit]
    items = [(upscale(gray(split.images[i].numpy() / 255), 4), gallery_caption(i, classes[true], classes[read]))
             for i in shown]
    more = f" (first {limit} shown)" if len(hits) > limit else ""
    tip = " Click one to open it in Inspect." if len(shown) else ""
    return items, [int(i) for i in shown], f"**{what}**{more}.{tip}"


def misread_images(history: RunHistory, limit: int = 30, data_dir: str | None = None) -> tuple[list, list, str]:
    """Every misread test image of the final evaluation (the first `limit`), as cell_images gives one cell."""
    ev, _ = _evaluation_at(history, None)
    if ev is None or ev.predictions is None:
        return [], [], ""
    split = test_split(history.dataset, data_dir)
    labels = split.labels.numpy()
    wrong = np.flatnonzero(ev.predictions[:len(labels)] != labels)
    classes = history.classes
    items = [(upscale(gray(split.images[i].numpy() / 255), 4),
              gallery_caption(i, classes[labels[i]], classes[ev.predictions[i]])) for i in wrong[:limit]]
    return (items, [int(i) for i in wrong[:limit]],
            f"**{len(wrong)} misread test images** (first {min(limit, len(wrong))} shown). Click a cell of the "
            "matrix to list one kind of mistake; click an image to open it in Inspect.")


def inspect_pick(history: RunHistory, test_index: int, data_dir: str | None = None) -> dict:
    """What Inspect needs to open one test image: {"image", "label", "title"}."""
    split = test_split(history.dataset, data_dir)
    label = history.classes[int(split.labels[test_index])]
    return {"image": split.images[test_index].numpy().astype(np.float32) / 255, "label": label,
            "title": f"test image #{test_index} of the {dataset_info(history.dataset).title} (from your run)"}
