"""LeNet-5 Studio: draw a digit, train LeNet-5 live, look inside it.

This file only builds the UI and wires components to the core in `lenet/` (what each tab shows is
computed in `lenet/views.py`). Per-visitor things (the visitor's own model) live in `gr.State`;
module globals are loaded once and never changed.
"""
from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import html
import math
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path


try:  # ZeroGPU: imported before anything touches CUDA; without the package or the Space setting, a no-op.
    import spaces
except ImportError:
    spaces = None

import gradio as gr
import numpy as np
import torch
from PIL import Image

from lenet import views
from lenet.background import in_background
from lenet.checkpoint import CheckpointError, write_download
from lenet.config import ARCHITECTURES
from lenet.data import DATASETS, DatasetUnavailable, dataset_info
from lenet.device import available_devices
from lenet.canvas import pick_part
from lenet.explain import OCCLUSION_PATCH, OCCLUSION_STRIDE, FeatureIndex, occlusion
from lenet.inference import LoadedModel, Reading, load_shipped, read_canvas, read_digit
from lenet.preprocess import MAX_SIDE, CanvasError, canvas_to_digit
from lenet.strokes import sequence
from lenet.train import OPTIMIZERS, SCHEDULES, TrainConfig, recipe, train_stream
from lenet.watch import RunHistory

# Readings run at 1 torch thread: tiny work, as fast, and no OpenMP workers to spin or to wake; a training run
# takes every core in its own thread (lenet.background explains why that matters).
CORES = torch.get_num_threads()
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent
SHIPPED = load_shipped(ROOT / "checkpoints")  # read-only, shared by every visitor
DEFAULT_MODEL = "lenet5-mnist" if "lenet5-mnist" in SHIPPED else next(iter(SHIPPED))
TRAIN_CONCURRENCY = int(os.environ.get("LENET_TRAIN_CONCURRENCY", "1"))
MAX_EPOCHS = int(os.environ.get("LENET_MAX_EPOCHS", "30"))
DEFAULT_DATASET = views.default_dataset()  # full MNIST when it is on disk, else the bundled sample
gpu = spaces.GPU(duration=300) if spaces is not None else (lambda fn: fn)


def _model(key, mine) -> LoadedModel:
    return views.resolve_model(key, SHIPPED, mine, DEFAULT_MODEL)


# ---------- Draw ----------

@contextmanager
def unreadable_as_gr_error():
    """A canvas the core cannot read -> a clear message in the UI (and to API clients), no traceback."""
    try:
        yield
    except (CanvasError, ValueError) as e:
        raise gr.Error(f"Could not read that image: {e}") from None


def read_drawing(drawing, key, mine):
    """The Draw surface's strokes -> verdict, probabilities, what the network sees, and the drawing's sequence
    number (the surface compares it with its own to know whether the reading on screen is current)."""
    lm = _model(key, mine)
    with unreadable_as_gr_error():
        text, confidences, image = views.draw_view(lm, drawing)
    return text, confidences, views.seen_html(lm, image), sequence(drawing)


def model_notes(key, mine):
    """The selected model in words under the selector, and the Draw tab's notice when it does not read digits."""
    lm = _model(key, mine)
    return views.draw_notice(lm), gr.update(info=views.model_info(lm) + " Used by Draw and Inspect.")


def api_canvas(payload) -> np.ndarray | None:
    """The API's raw canvas value -> RGBA pixels. Gradio has already checked the file is an upload; the
    header is read before the pixels, so a huge image is refused without decoding it."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise gr.Error('Expected a canvas value: {"background": None, "layers": [], "composite": <image file>}')
    part = pick_part(payload)
    if part is None:
        return None
    if not isinstance(part, dict) or not part.get("path"):
        raise gr.Error("Could not read that image: expected an uploaded image file")
    try:
        im = Image.open(part["path"])  # reads the header only
    except (OSError, ValueError, Image.DecompressionBombError):
        raise gr.Error("Could not read that image: the file is not a PNG, JPEG or other image") from None
    with im:
        if max(im.size) > MAX_SIDE:
            raise gr.Error(f"Could not read that image: it is {im.size[0]}x{im.size[1]} pixels; at most {MAX_SIDE} "
                           "per side, please")
        try:
            return np.asarray(im.convert("RGBA"))
        except (OSError, ValueError):
            raise gr.Error("Could not read that image: the file is damaged or truncated") from None


def api_reading(payload) -> Reading | None:
    """The default shipped model's reading of an API canvas value; None when the canvas holds no ink."""
    image = api_canvas(payload)
    if image is None:
        return None
    with unreadable_as_gr_error():
        return read_canvas(SHIPPED[DEFAULT_MODEL], image)


def predict(payload):
    """The public /predict: a canvas value in, the label value out, with the default shipped model.
    Only the probabilities: the verdict text and the picture of what the network sees are UI-only work."""
    reading = api_reading(payload)
    return None if reading is None else reading.confidences()


def read_verdict(payload):
    """The public /read: a canvas value in (as /predict takes it), the verdict out as JSON:
    {"verdict": "digit" | "unsure" | "not a digit", "digit": "7" or None, "confidences": {...}, "model", "reason"}."""
    image = api_canvas(payload)
    with unreadable_as_gr_error():
        return views.read_json(SHIPPED[DEFAULT_MODEL], image)


def feature_maps(payload):
    with unreadable_as_gr_error():
        return views.feature_maps(SHIPPED[DEFAULT_MODEL], api_canvas(payload))


# ---------- Inspect ----------

@functools.lru_cache(maxsize=None)
def shipped_index(key: str) -> FeatureIndex:
    """A shipped model's F6 features of the bundled sample, built on first use and then shared read-only."""
    return FeatureIndex.build(SHIPPED[key])


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


def inspect(source, canvas, pick, seen, key, mine, cache):
    """Everything Inspect shows, for the visitor's drawing or a picked test image.

    Every trigger runs this same function. A pick not yet shown (`seen` is the last shown one's key) wins over
    the source radio: when the Train tab sets a pick and selects this tab, both the pick's change and the tab's
    select arrive, in either order, and both then show the pick."""
    lm = _model(key, mine)
    index, cache = feature_index(key, lm, cache)
    others = [(m.label, m) for m in SHIPPED.values()] + ([(f"your model: {mine.label}", mine)] if mine else [])
    if pick is not None and pick_key(pick) != seen:
        source = views.TEST_IMAGE
    digit = None
    if source != views.TEST_IMAGE:
        with unreadable_as_gr_error():
            image = views.canvas_image(canvas)
            digit = None if image is None else canvas_to_digit(image)
    if digit is not None:
        head, layers, more = views.inspect_view(lm, digit, title="your drawing", index=index, others=others)
    else:
        shown = pick or first_test_image(index)
        title = shown["title"] if source == views.TEST_IMAGE else f"nothing drawn yet, so {shown['title']}"
        head, layers, more = views.inspect_view(lm, shown["image"], shown.get("label"), title=title, index=index,
                                                others=others)
    # Showing the drawing: the "show me…" picker is not what is shown, so it shows nothing picked.
    picker = gr.update(choices=views.class_choices(lm), **({"value": None} if digit is not None else {}))
    return source, picker, head, layers, more, cache, pick_key(pick)


def pick_test_image(choice, pick, key, mine, cache):
    lm = _model(key, mine)
    index, cache = feature_index(key, lm, cache)
    new = views.pick_test_image(index, choice, np.random.default_rng(), avoid=(pick or {}).get("index"))
    if new is None:
        gr.Warning("This model reads every bundled test image correctly: there is no misread one to show."
                   if choice == views.MISREAD else "No test image of that class in the bundled sample.")
        return gr.skip(), cache
    return new, cache


def neighbours(payload):
    """The public /neighbours: the bundled training images nearest to a canvas in the default model's F6 space."""
    reading = api_reading(payload)
    if reading is None:
        return {"neighbours": []}
    return {"neighbours": shipped_index(DEFAULT_MODEL).neighbours(reading.activations["f6"])}


def occlusion_map(payload):
    """The public /occlusion: per place of a grey patch, the drop in the read class's probability."""
    reading = api_reading(payload)
    if reading is None:
        return {"map": [], "digit": None}
    return {"map": np.round(occlusion(SHIPPED[DEFAULT_MODEL], reading), 5).tolist(), "digit": reading.classes[reading.top],
            "patch": OCCLUSION_PATCH, "stride": OCCLUSION_STRIDE}


# ---------- Train ----------
# Handlers return {component: value} dicts: a component left out is left unchanged, so adding an output
# means naming it where its value is made (and once in the event's outputs list below).

@gpu
def _train_on_device(cfg: TrainConfig):
    yield from train_stream(cfg)  # plain dicts and CPU state dicts only: safe to cross from a GPU worker


class StopSignal:
    """A per-visitor Stop button: the training loop checks it between events and ends the run cleanly. It also
    keeps why this visitor's last run failed, for the status line once the error toast has gone."""

    def __init__(self):
        self.requested = False
        self.failure = ""

    def fail(self, message: str) -> gr.Error:
        self.failure = message
        return gr.Error(message)


def reset_stop(signal: StopSignal):
    """Runs unqueued when Train is clicked: a Stop pressed from now on (even while queued) ends this run.
    Train is disabled and Stop enabled until the run's last step (end_of_run)."""
    signal.requested = False
    signal.failure = ""
    return {train_btn: gr.update(interactive=False), stop_btn: gr.update(interactive=True), reload_note: "",
            status: "### ⏳ Waiting for the training slot…\nRuns take turns: if another visitor's run is going, "
                    "yours starts when it ends. Your place in the queue shows below."}


def request_stop(signal: StopSignal):
    signal.requested = True


def end_of_run():
    return {train_btn: gr.update(interactive=True), stop_btn: gr.update(interactive=False)}


def after_failure(signal: StopSignal):
    """A run that raised: buttons back, the reason in the status line, and the progress box redrawn (which
    clears Gradio's "Error" badge, otherwise left on it after the toast closes)."""
    why = html.escape(signal.failure or "see the message in the corner")
    return {**end_of_run(), queue_box: "",
            status: f"### ⚠️ The run did not complete\n{why}\n\nFix it and press **Train** again."}


def train(arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device,
          watch_what=views.WATCH_DRAWING, watch_class="7", canvas=None, previous: views.Curves | None = None,
          negatives=False, styles=False, signal: StopSignal | None = None):
    try:
        cfg = recipe(arch, dataset=dataset, epochs=_whole(epochs, "epochs"),
                     batch_size=_whole(batch_size, "batch size"), lr=float(lr), optimizer=optimizer,
                     schedule=schedule, augment=bool(augment), val_split=float(val_split),
                     seed=_whole(seed, "seed"), device=device, negatives=bool(negatives), styles=bool(styles))
    except (TypeError, ValueError) as e:
        raise _failed(signal, f"Please fix the settings: {e}") from None
    if signal is not None and signal.requested:  # Stop pressed while this run waited in the queue
        yield {status: "### ⏹️ Stopped before it started\nPress **Train** to start a run."}
        return
    view = views.TrainView(cfg, previous=previous if isinstance(previous, views.Curves) else None)
    try:
        pinned = views.pinned_digit(watch_what, canvas, str(watch_class), cfg.dataset)
    except (CanvasError, ValueError):
        pinned = None
    history = RunHistory(cfg.dataset, list(dataset_info(cfg.dataset).classes), pinned)
    charts = lambda: {status: view.status(), loss_chart: view.loss_html(), error_chart: view.error_html()}  # noqa: E731
    # "Loading data…" before the first batch; the previous run's snapshots and drill-down are cleared.
    yield {**charts(), watch: views.watch_html(history), confusion: views.confusion_view(history),
           snap_slider: gr.update(visible=False, value=0), shown_snapshot: None, run_history: history,
           drill_gallery: gr.update(value=None, visible=False), drill_caption: "", drill_indices: [],
           results: "", download: gr.update(visible=False)}
    added = False
    try:
        # In its own low-priority thread: visitors' readings go first, and training never waits for the UI.
        stream = in_background(lambda: _train_on_device(cfg), threads=CORES)
        for batch in stream:
            if signal is not None and signal.requested:  # Stop: end cleanly, keeping the last yielded model
                stream.close()
                view.stopped()
                yield {**charts(), previous_curves: view.curves()}
                return
            weights, evaluated = None, False
            for ev, w in batch:
                view.add(ev)
                if ev["type"] == "error":
                    gr.Warning(ev["message"])
                if ev["type"] == "eval" and "confusion" in ev:
                    history.add_eval(ev["epoch"] - 1 + ev.get("epoch_progress", 1.0), ev["accuracy"], ev["confusion"],
                                     ev["predictions"].numpy())
                    evaluated = True
                weights = w if w is not None else weights
            out = charts()
            if weights is not None:  # a model update: the pinned digit is read again, the kernels redrawn
                model = view.model(weights)
                probs = read_digit(model, pinned.image).probs if pinned is not None else None
                history.add(view.epoch, view.last.get("step", 0), views.kernels_of(model), probs)
                out |= {my_model: model, watch: views.watch_html(history)}
                if not added:  # "your model" appears as soon as there is one
                    added = True
                    out[model_dd] = gr.update(choices=views.model_choices(SHIPPED, model))
            if evaluated:
                out[confusion] = views.confusion_view(history)
            yield out
        yield {**charts(), previous_curves: view.curves()}  # kept to draw under the visitor's next run
    except DatasetUnavailable as e:
        raise _failed(signal, str(e)) from None
    except ValueError as e:
        raise _failed(signal, f"Training could not start: {e}") from None


def _failed(signal: StopSignal | None, message: str) -> gr.Error:
    return signal.fail(message) if signal is not None else gr.Error(message)


def _whole(value, name) -> int:
    if value is None or not math.isfinite(float(value)) or float(value) != int(value):
        raise ValueError(f"{name} must be a whole number, got {value}")
    return int(value)


def _pick_after_run(final: LoadedModel, current: str | None) -> str:
    """The model Draw and Inspect use after a run: the new one, unless it learned nothing (then it is listed
    but not selected, and what was in use stays: a shipped model; "yours" would now be the failed run)."""
    if final.run_state != "failed":
        return views.YOURS
    return current if current in SHIPPED else DEFAULT_MODEL


def finish(mine: LoadedModel | None, history: RunHistory | None, current: str | None = None):
    """After a run ends or is stopped: test figures, the final snapshot, mistakes, download; select the model."""
    if mine is None or mine.source != "trained" or mine.finalized:
        return {}
    try:
        md, final, r = views.finish_view(mine)
    except DatasetUnavailable as e:
        raise gr.Error(str(e)) from None
    history = history if history is not None else RunHistory(final.dataset, final.classes)
    last = history.snapshots[-1] if history.snapshots else None
    history.add_eval(last.epoch if last else 0, r["accuracy"], r["confusion"], r["predictions"])
    pinned = history.pinned
    history.add(last.epoch if last else 0, last.step if last else 0, views.kernels_of(final),
                read_digit(final, pinned.image).probs if pinned is not None else None, final=True)
    path = write_download(final.model, final.meta, views.download_name(final))
    items, indices, caption = views.misread_images(history)
    n = len(history)
    return {results: md, my_model: final, run_history: history, shown_snapshot: None,
            model_dd: gr.update(choices=views.model_choices(SHIPPED, final), value=_pick_after_run(final, current)),
            watch: views.watch_html(history), confusion: views.confusion_view(history),
            snap_slider: gr.update(visible=n > 1, minimum=0, maximum=max(n - 1, 1), value=n - 1),
            drill_gallery: gr.update(value=items, visible=bool(items)), drill_indices: indices,
            drill_caption: caption, download: gr.update(value=str(path), visible=True)}


def show_snapshot(index, history: RunHistory | None):
    """The snapshot slider: the pinned digit's reading, the kernels and the confusion matrix at that moment."""
    if history is None or not len(history):
        return {}
    index = int(index)
    return {shown_snapshot: index, watch: views.watch_html(history, index),
            confusion: views.confusion_view(history, index)}


def show_cell(history: RunHistory | None, index, evt: gr.EventData):
    """A click on a confusion-matrix cell: list those test images (each opens in Inspect)."""
    cell = (getattr(evt, "_data", None) or {}).get("cell") if evt is not None else None
    if history is None or not len(history) or not cell:
        return {}
    true, read = (int(v) for v in str(cell).split(","))
    items, indices, caption = views.cell_images(history, index, true, read)
    return {drill_gallery: gr.update(value=items, visible=True, selected_index=None), drill_indices: indices,
            drill_caption: caption, confusion: views.confusion_view(history, index, selected=(true, read))}


def open_in_inspect(history: RunHistory | None, indices: list, evt: gr.SelectData):
    if history is None or evt is None or not indices or evt.index is None or evt.index >= len(indices):
        return {}
    return {inspect_pick: views.inspect_pick(history, indices[evt.index]), tabs: gr.Tabs(selected="inspect")}


def load_upload(path):
    if not path:
        return {}
    try:
        lm = LoadedModel.from_file(path, source="uploaded")
    except CheckpointError as e:
        raise gr.Error(f"That file was not loaded: {e}. Your current model is unchanged.") from None
    return {my_model: lm, model_dd: gr.update(choices=views.model_choices(SHIPPED, lm), value=views.YOURS),
            results: f"### Loaded {Path(path).name}\n**{views.model_name(lm)}** ({lm.arch}) is now your model in "
                     "Draw and Inspect."}


# ---------- Layout ----------

# Every stylesheet in lenet/static/, each beside the part of the UI whose HTML it styles.
CSS = "\n".join(p.read_text() for p in sorted((ROOT / "lenet" / "static").glob("*.css")))

STATIC = ROOT / "lenet" / "static"
# The drawing surface's js_on_load (it needs the component's `element` and `props`, so it is not a page
# script: components/ is outside the *.js that HEAD loads).
PAD_JS = (STATIC / "components" / "pad.js").read_text()
PAD_HTML = """
<div class="pad-wrap">
  <canvas class="pad-canvas" role="img" tabindex="0"
    aria-label="Drawing area: draw one digit with a mouse, pen or finger. Ctrl+Z undoes, Delete clears."></canvas>
  <p class="pad-hint" aria-hidden="true">Draw a digit here</p>
  <div class="pad-tools">
    <button type="button" class="pad-undo" disabled><span aria-hidden="true">↶</span> Undo</button>
    <button type="button" class="pad-clear" disabled><span aria-hidden="true">×</span> Clear</button>
  </div>
</div>
"""

# The confusion matrix (an HTML table) reports which cell was clicked, or chosen with Enter / Space.
CELL_CLICK_JS = """
const pick = (e) => {
  const td = e.target.closest('td[data-cell]');
  if (!td) return;
  if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
  e.preventDefault();
  trigger('click', {cell: td.dataset.cell});
};
element.addEventListener('click', pick);
element.addEventListener('keydown', pick);
"""

# A run lives in the page that started it (closing the page cancels its queue events). The page notes that a
# run is going; if it reloads before the run ends, the new page says what happened.
MARK_RUN_JS = "() => { try { localStorage.setItem('lenet5-run', String(Date.now())); } catch (e) {} }"
UNMARK_RUN_JS = "() => { try { localStorage.removeItem('lenet5-run'); } catch (e) {} }"
RELOAD_NOTE_JS = """
() => {
  let started = null;
  try { started = localStorage.getItem('lenet5-run'); localStorage.removeItem('lenet5-run'); } catch (e) {}
  return started ? '**⏹️ Your last run was stopped when the page was reloaded or closed.** A run lives in the ' +
    'page that started it; press Train to run again.' : '';
}
"""

ABOUT = f"""
## What is this?
**LeNet-5** (LeCun, Bottou, Bengio, Haffner, *Gradient-Based Learning Applied to Document Recognition*,
Proc. IEEE 1998) is the convolutional network that read cheques in the 1990s. Its layers:

| layer | what it does | output size |
|---|---|---|
| C1 | 6 convolutions 5×5 | 6 × 28×28 |
| S2 | 2×2 subsampling | 6 × 14×14 |
| C3 | 16 convolutions 5×5 over S2 (sparse table in the paper) | 16 × 10×10 |
| S4 | 2×2 subsampling | 16 × 5×5 |
| C5 | 120 units, each sees all of S4 | 120 |
| F6 | 84 units | 84 |
| output | 10 classes (Euclidean RBF in the paper) | 10 |

The paper's network has **60,000** trainable parameters and a **0.95%** test error on MNIST (0.8% with
distortions); the common modern variant (ReLU, max-pool) has 61,706.

**Architectures here:**

{chr(10).join(f"- **{a.name}** (`{k}`): {a.description}" for k, a in ARCHITECTURES.items())}

**Your data stays yours:** models you train or upload live in your browser session only; other visitors
never see them, and reloading the page returns to the shipped models.

Data: MNIST by Yann LeCun and Corinna Cortes (CC BY-SA 3.0); Fashion-MNIST by Zalando Research (MIT).
"""

# Gradio 6: styling goes to launch(). show_error: an API client that sends a malformed value is told
# which field is wrong (Gradio's own validation, before our code runs) instead of a generic "error".
# Fonts set explicitly: the Soft theme's regular-weight Montserrat is served as Montserrat *Alternates* in
# Gradio 6.31 ("F6" reads "ꟻ6"). The system's own sans face needs no download and reads plainly everywhere.
# Helper text (info=, captions, hints) is darkened to reach WCAG AA 4.5:1 in both colour schemes (the
# theme's neutral-400 gives 2.5:1 on the light background); tests/test_browser.py measures it.
THEME = gr.themes.Soft(
    primary_hue="indigo",
    font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans",
          "Liberation Sans", "DejaVu Sans", "sans-serif"],
    font_mono=[gr.themes.LocalFont("IBM Plex Mono"), "ui-monospace", "Menlo", "Consolas", "monospace"],
).set(
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
    block_info_text_color="*neutral_600", block_info_text_color_dark="*neutral_300",
    block_label_text_color="*primary_700", block_title_text_color="*primary_700",
)
# Scripts beside their stylesheets (lenet/static/*.js), loaded once per page; they act on the HTML by delegation.
HEAD = "\n".join(f"<script>{p.read_text()}</script>" for p in sorted((ROOT / "lenet" / "static").glob("*.js")))
LAUNCH_OPTIONS = dict(css=CSS, head=HEAD, theme=THEME, show_error=True)
defaults = TrainConfig()

with gr.Blocks(title="LeNet-5 Studio", delete_cache=(3600, 3600)) as demo:
    my_model = gr.State(None)  # this visitor's trained or uploaded model (a LoadedModel), never shared
    stop_signal = gr.State(StopSignal())  # Gradio deep-copies this per visitor on first use
    # Inspect's picked test image, {"image": 28x28 float in [0, 1], "label", "title"} or None; the Train tab's
    # "open in Inspect" sets it too (then selects the Inspect tab), and Inspect shows it.
    inspect_pick = gr.State(None)
    index_cache = gr.State(None)  # (this visitor's model, its FeatureIndex): rebuilt only when the model changes
    pick_seen = gr.State(None)  # which pick Inspect showed last (pick_key), so a new one shows itself once
    run_history = gr.State(None)  # this visitor's last run: bounded snapshots (lenet/watch.py)
    previous_curves = gr.State(None)  # this visitor's previous run's curves, drawn dashed for comparison
    shown_snapshot = gr.State(None)  # the snapshot the slider shows; None = the latest
    drill_indices = gr.State([])  # test-set indices of the images in the drill-down gallery

    with gr.Row(equal_height=True):
        with gr.Column(scale=2, min_width=300):  # min widths let the row wrap on a phone
            gr.Markdown("# LeNet-5 Studio\nDraw a digit and watch LeNet-5 read it · train it live · look inside.",
                        elem_id="intro")
        model_dd = gr.Dropdown(choices=views.model_choices(SHIPPED, None), value=DEFAULT_MODEL, label="Model",
                               info=views.model_info(SHIPPED[DEFAULT_MODEL]) + " Used by Draw and Inspect.",
                               elem_id="model-select", scale=1, min_width=260)

    with gr.Tabs(elem_id="tabs") as tabs:
        with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=300):
                    pad = gr.HTML("", html_template=PAD_HTML, js_on_load=PAD_JS, elem_id="pad",
                                  label="Draw a digit", padding=False)
                with gr.Column(scale=1, min_width=300):
                    notice = gr.Markdown(views.draw_notice(SHIPPED[DEFAULT_MODEL]), elem_id="draw-notice")
                    verdict = gr.Markdown(views.EMPTY_PROMPT, elem_id="verdict")
                    with gr.Row(equal_height=False, elem_id="reading"):
                        label = gr.Label(num_top_classes=11, label="Probabilities", elem_id="probs", min_width=170)
                        seen = gr.HTML(views.seen_html(SHIPPED[DEFAULT_MODEL], None), elem_id="seen",
                                       js_on_load=None, min_width=170)
                    read_seq = gr.HTML("0", html_template='<output data-seq="${value}" hidden></output>',
                                       js_on_load=None, elem_id="read-seq")
        with gr.Tab("Train", id="train", elem_id="tab-train"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=280):
                    arch = gr.Dropdown(views.arch_choices(), value=defaults.arch, label="Architecture", elem_id="arch",
                                       info=views.arch_info(defaults.arch))
                    dataset = gr.Dropdown(views.dataset_choices(), value=DEFAULT_DATASET, label="Dataset",
                                          info=views.DATASET_INFO,
                                          elem_id="dataset")
                    with gr.Row():
                        epochs = gr.Slider(1, MAX_EPOCHS, value=views.suggested_epochs(DEFAULT_DATASET), step=1,
                                           label="Epochs", elem_id="epochs")
                        batch_size = gr.Number(value=defaults.batch_size, label="Batch size", precision=0,
                                               elem_id="batch-size")
                    with gr.Row():
                        lr = gr.Number(value=defaults.lr, label="Learning rate (peak)", elem_id="lr")
                        optimizer = gr.Radio(list(OPTIMIZERS), value=defaults.optimizer, label="Optimizer")
                    schedule = gr.Dropdown(list(SCHEDULES), value=defaults.schedule, label="LR schedule")
                    negatives = gr.Checkbox(value=defaults.negatives, label="Also learn what is not a digit",
                                            info="Mixes generated scribbles, letters and doodles into training "
                                                 "(an 11th output), so your model can say “that is not a digit”.",
                                            elem_id="negatives")
                    with gr.Accordion("More settings", open=False):
                        augment = gr.Checkbox(value=defaults.augment, label="Augment: random rotation, shift, scale, "
                                              "squeeze and shear (the paper's distortions)")
                        val_split = gr.Slider(0, 0.3, value=defaults.val_split, step=0.05, label="Validation split")
                        styles = gr.Checkbox(value=defaults.styles, label="Also learn the continental 1",
                                             info="A one with a long flag and a foot, as most of Europe writes it: "
                                                  "MNIST's American writers rarely did, and a model trained on "
                                                  "MNIST alone reads it as 7. Draws such ones, and slashed "
                                                  "zeros, into 3% of each batch (about 2 s to draw them "
                                                  "first).", elem_id="styles")
                        seed = gr.Number(value=defaults.seed, label="Seed", precision=0)
                        device = gr.Dropdown(["auto"] + available_devices(), value="auto", label="Device")
                    with gr.Row():
                        watch_what = gr.Radio([views.WATCH_DRAWING, views.WATCH_TEST], value=views.WATCH_TEST,
                                              label="Digit to watch while it trains", elem_id="watch-what",
                                              info="Pinned when you press Train; read again at every update.")
                        watch_class = gr.Dropdown(views.class_names(DEFAULT_DATASET),
                                                  value=views.class_names(DEFAULT_DATASET)[7], label="Class",
                                                  elem_id="watch-class", min_width=100, scale=0)
                    with gr.Row():
                        train_btn = gr.Button("Train", variant="primary", elem_id="train-btn")
                        stop_btn = gr.Button("Stop", variant="stop", elem_id="stop-btn", interactive=False)
                    upload = gr.UploadButton("Load a checkpoint (.safetensors)", file_types=[".safetensors"],
                                             type="filepath", size="sm", elem_id="upload")
                with gr.Column(scale=2, min_width=300):
                    status = gr.Markdown(f"Pick settings and press **Train**. On full MNIST the defaults pass 99.0% "
                                         f"test accuracy within {defaults.epochs} epochs (every one of the 30 seeds we "
                                         "measured) and end at 98.98–99.34%. A run belongs to this page: reloading or "
                                         "closing it stops the run.", elem_id="train-status")
                    reload_note = gr.Markdown("", elem_id="reload-note")
                    # Gradio's queue text ("queue: 2/2 | 3.1/24.0s") is drawn over the event's progress target;
                    # this box is tall enough to show it, so a visitor waiting behind another's run sees it.
                    queue_box = gr.HTML("", elem_id="train-queue", min_height=44, padding=False)
                    empty_run = views.TrainView(dataclasses.replace(
                        defaults, dataset=DEFAULT_DATASET, epochs=views.suggested_epochs(DEFAULT_DATASET)))
                    loss_chart = gr.HTML(empty_run.loss_html(), elem_id="loss-plot", padding=False)
                    error_chart = gr.HTML(empty_run.error_html(), elem_id="error-plot", padding=False)
            with gr.Row(equal_height=False):
                with gr.Column(min_width=300):
                    gr.Markdown("#### Watch it learn", elem_id="watch-title")
                    watch = gr.HTML(views.watch_html(None), elem_id="watch", padding=False)
                    snap_slider = gr.Slider(0, 1, value=0, step=1, visible=False, elem_id="snap-slider",
                                            label="Scrub through the run: snapshot (kernels, reading, confusion)")
                    results = gr.Markdown(elem_id="train-results")
                    download = gr.DownloadButton("Download your model (.safetensors)", visible=False,
                                                 elem_id="download")
                with gr.Column(min_width=300):
                    confusion = gr.HTML(views.confusion_view(None), elem_id="confusion", padding=False,
                                        js_on_load=CELL_CLICK_JS)
                    drill_caption = gr.Markdown("", elem_id="drill-caption")
                    drill_gallery = gr.Gallery(label="Test images (true → read); click one to open it in Inspect",
                                               show_label=False, columns=6, height=300, elem_id="wrong",
                                               object_fit="contain", visible=False, allow_preview=False,
                                               fit_columns=False, buttons=[])
        with gr.Tab("Inspect", id="inspect", elem_id="tab-inspect") as inspect_tab:
            with gr.Row(elem_id="inspect-controls"):
                source = gr.Radio([views.MY_DRAWING, views.TEST_IMAGE], value=views.MY_DRAWING, label="Input",
                                  elem_id="inspect-source", scale=1, min_width=220)
                pick_class = gr.Radio(views.class_choices(SHIPPED[DEFAULT_MODEL]), value=None,
                                      label="Show me a test image of…", elem_id="inspect-pick", scale=3,
                                      min_width=300)
                another = gr.Button("Another one", size="sm", elem_id="another", scale=0, min_width=130)
            inspect_head = gr.HTML(elem_id="inspect-head", js_on_load=None)
            layers_html = gr.HTML(elem_id="inspect-layers", js_on_load=None)
            more_html = gr.HTML(elem_id="inspect-more", js_on_load=None)
        with gr.Tab("About", id="about"):
            gr.Markdown(ABOUT, elem_id="about-text")

    # API-only twins of the UI events: the documented /predict, /feature_maps, /neighbours and /occlusion take a canvas.
    with gr.Row(visible=False):
        # The documented API takes a Sketchpad-style value {"background", "layers", "composite"}: this hidden
        # Sketchpad gives /predict and /feature_maps that input type (the Draw tab itself sends strokes).
        api_pad = gr.Sketchpad(type="numpy", image_mode="RGBA", label="Canvas")
        api_predict_btn = gr.Button()
        api_maps_btn = gr.Button()
        api_maps_out = gr.JSON()
        api_neighbours_btn = gr.Button()
        api_occlusion_btn = gr.Button()
        api_read_btn = gr.Button()
        api_read_out = gr.JSON()

    # --- Draw ---
    read_inputs = [pad, model_dd, my_model]
    read_outputs = [verdict, label, seen, read_seq]
    # always_last: while a reading is running, newer drawings wait and only the newest is read next, so
    # answers arrive in order and the last one is always of the drawing as it is now.
    quiet = dict(show_progress="hidden", concurrency_limit=4, concurrency_id="read")
    # Registered before the Draw tab's private `read` events, which would otherwise take the name "read".
    api_read_btn.click(read_verdict, [api_pad], [api_read_out], api_name="read", preprocess=False, **quiet)
    # queue=False: one plain POST per reading instead of a queue join plus an event stream; pen-up -> verdict
    # p50 54 ms instead of 114 ms here (bench/stroke_latency.py). A reading is ~6 ms of server work.
    # The model selector re-reads the drawing the same way.
    gr.on([pad.change, model_dd.change], read_drawing, read_inputs, read_outputs, api_visibility="private",
          trigger_mode="always_last", show_progress="hidden", queue=False)
    model_dd.change(model_notes, [model_dd, my_model], [notice, model_dd], api_visibility="private",
                    show_progress="hidden", queue=False)
    api_predict_btn.click(predict, [api_pad], [label], api_name="predict", preprocess=False, **quiet)
    api_maps_btn.click(feature_maps, [api_pad], [api_maps_out], api_name="feature_maps", preprocess=False, **quiet)

    # --- Inspect --- (re-rendered when its input or the model changes; a picked test image shows itself)
    INSPECT_OPTIONS = dict(api_visibility="private", show_progress="hidden", concurrency_limit=4,
                           concurrency_id="inspect")
    # Not on pad.change: the canvas cannot change while Inspect is showing, and selecting the tab re-renders.
    # source.input (not .change): inspect() sets the source itself, which must not render twice.
    gr.on([model_dd.change, source.input, inspect_tab.select, inspect_pick.change], inspect,
          [source, pad, inspect_pick, pick_seen, model_dd, my_model, index_cache],
          [source, pick_class, inspect_head, layers_html, more_html, index_cache, pick_seen], **INSPECT_OPTIONS)
    gr.on([pick_class.input, another.click], pick_test_image, [pick_class, inspect_pick, model_dd, my_model,
                                                                 index_cache], [inspect_pick, index_cache],
          **INSPECT_OPTIONS)
    api_neighbours_btn.click(neighbours, [api_pad], [api_maps_out], api_name="neighbours", preprocess=False, **quiet)
    api_occlusion_btn.click(occlusion_map, [api_pad], [api_maps_out], api_name="occlusion", preprocess=False, **quiet)

    # --- Train ---  (trainer thread -> train() generator -> these components; see README "How it is built")
    train_inputs = [arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device,
                    watch_what, watch_class, pad, previous_curves, negatives, styles]
    train_outputs = [status, loss_chart, error_chart, watch, confusion, my_model, model_dd, run_history,
                     previous_curves, snap_slider, shown_snapshot, drill_gallery, drill_caption, drill_indices,
                     results, download]
    train_btn.click(None, js=MARK_RUN_JS)
    run = train_btn.click(reset_stop, stop_signal, [train_btn, stop_btn, status, reload_note], queue=False,
                          api_visibility="private").then(
        train, train_inputs + [stop_signal], train_outputs, api_name="train", concurrency_limit=TRAIN_CONCURRENCY,
        concurrency_id="train", show_progress="full", show_progress_on=[queue_box])
    # `.then` runs only after success in Gradio 6.31: a failed run has its own follow-up.
    finished = run.then(finish, [my_model, run_history, model_dd], train_outputs, api_visibility="private",
                        show_progress="hidden")
    for done in (finished.then, finished.failure):
        done(end_of_run, None, [train_btn, stop_btn], queue=False, api_visibility="private").then(
            None, js=UNMARK_RUN_JS)
    run.failure(after_failure, stop_signal, [train_btn, stop_btn, status, queue_box], queue=False,
                api_visibility="private").then(None, js=UNMARK_RUN_JS)
    # A cooperative Stop (not Gradio's cancel): the run ends at its next event, its curves stay, finish() runs.
    stop_btn.click(request_stop, stop_signal, None, queue=False, api_visibility="private")
    snap_slider.input(show_snapshot, [snap_slider, run_history], [shown_snapshot, watch, confusion],
                      api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    confusion.click(show_cell, [run_history, shown_snapshot],
                    [drill_gallery, drill_indices, drill_caption, confusion], api_visibility="private",
                    show_progress="hidden")
    drill_gallery.select(open_in_inspect, [run_history, drill_indices], [inspect_pick, tabs],
                         api_visibility="private")
    dataset.change(views.suggested_epochs, dataset, epochs, api_visibility="private")
    dataset.change(lambda ds: gr.update(choices=views.class_names(ds), value=views.class_names(ds)[7]), dataset,
                   watch_class, api_visibility="private", queue=False)
    # each architecture starts from its own learning rate (lenet.train.ARCH_RECIPES)
    arch.change(lambda a: (gr.update(info=views.arch_info(a)), recipe(a).lr), arch, [arch, lr],
                api_visibility="private")
    upload.upload(load_upload, upload, [my_model, model_dd, results], api_visibility="private")
    demo.load(None, None, reload_note, js=RELOAD_NOTE_JS)


demo.queue(default_concurrency_limit=4)

# Everything built so far lives as long as the app. A full garbage collection walks all of it (~320k
# objects, ~100 ms with every thread stopped); frozen, it is skipped, and those pauses leave the
# visitors' latency tail (bench/load_test.py).
gc.collect()
gc.freeze()

if __name__ == "__main__":
    # Inspect's first visit needs the default model's F6 index (~0.5 s to build): build it while nobody waits.
    threading.Thread(target=shipped_index, args=(DEFAULT_MODEL,), daemon=True, name="warm-inspect").start()
    # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by launch() itself.
    demo.launch(**LAUNCH_OPTIONS)  # returns when stopped (Ctrl-C)
    # A run or Inspect may still be busy in torch in a worker thread; finalising the interpreter under it
    # aborts ("terminate called without an active exception", exit 134). Nothing is left to save (downloads
    # are written atomically when asked for), so the process ends here, cleanly.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
