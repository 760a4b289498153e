"""LeNet-5 Studio: draw a digit, train LeNet-5 live, look inside it.

This file only builds the UI and wires components to the core in `lenet/` (what each tab shows is
computed in `lenet/views.py`). Per-visitor things (the visitor's own model) live in `gr.State`;
module globals are loaded once and never changed.
"""
from __future__ import annotations

import functools
import gc
import math
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

# Before torch loads: OpenMP threads that spin while idle (the default) double the CPU of every small
# inference call, and steal the cores that training and other visitors' requests need (bench/load_test.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:  # ZeroGPU: imported before anything touches CUDA; without the package or the Space setting, a no-op.
    import spaces
except ImportError:
    spaces = None

import gradio as gr
import numpy as np
from PIL import Image

from lenet import views
from lenet.background import in_background
from lenet.checkpoint import CheckpointError
from lenet.config import DESCRIPTIONS, PRESETS
from lenet.data import DATASETS, DatasetUnavailable
from lenet.device import available_devices
from lenet.canvas import pick_part
from lenet.explain import OCCLUSION_PATCH, OCCLUSION_STRIDE, FeatureIndex, occlusion
from lenet.inference import LoadedModel, load_shipped, read_canvas
from lenet.preprocess import MAX_SIDE, CanvasError, canvas_to_digit
from lenet.strokes import sequence
from lenet.train import OPTIMIZERS, SCHEDULES, TrainConfig

ROOT = Path(__file__).resolve().parent
SHIPPED = load_shipped(ROOT / "checkpoints")  # read-only, shared by every visitor
DEFAULT_MODEL = "lenet5-mnist" if "lenet5-mnist" in SHIPPED else next(iter(SHIPPED))
TRAIN_CONCURRENCY = int(os.environ.get("LENET_TRAIN_CONCURRENCY", "1"))
MAX_EPOCHS = int(os.environ.get("LENET_MAX_EPOCHS", "30"))
DEFAULT_DATASET = views.default_dataset()  # full MNIST when it is on disk, else the bundled sample
gpu = spaces.GPU(duration=300) if spaces is not None else (lambda fn: fn)
DOWNLOADS = Path(tempfile.mkdtemp(prefix="lenet5-studio-"))  # visitors' checkpoints; pruned after an hour


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


def read(drawing, key, mine):
    """The Draw surface's strokes -> verdict, probabilities, what the network sees, and the drawing's sequence
    number (the surface compares it with its own to know whether the reading on screen is current)."""
    lm = _model(key, mine)
    with unreadable_as_gr_error():
        text, confidences, image = views.draw_view(lm, drawing)
    return text, confidences, views.seen_html(lm, image), sequence(drawing)


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


def predict(payload):
    """The public /predict: a canvas value in, the label value out, with the default shipped model.
    Only the probabilities: the verdict text and the picture of what the network sees are UI-only work."""
    image = api_canvas(payload)
    if image is None:
        return None
    with unreadable_as_gr_error():
        reading = read_canvas(SHIPPED[DEFAULT_MODEL], image)
    return None if reading is None else reading.confidences()


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


def inspect(source, canvas, pick, key, mine, cache):
    """Everything Inspect shows, for the visitor's drawing or a picked test image."""
    lm = _model(key, mine)
    index, cache = feature_index(key, lm, cache)
    others = [(m.label, m) for m in SHIPPED.values()] + ([(f"your model: {mine.label}", mine)] if mine else [])
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
    return (gr.update(choices=views.class_choices(lm)), head, layers, more, cache)


def show_pick(pick, canvas, key, mine, cache):
    """A test image was picked (here, or by the Train tab's "open in Inspect"): show it."""
    return (views.TEST_IMAGE, *inspect(views.TEST_IMAGE, canvas, pick, key, mine, cache))


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
    image = api_canvas(payload)
    with unreadable_as_gr_error():
        reading = None if image is None else read_canvas(SHIPPED[DEFAULT_MODEL], image)
    if reading is None:
        return {"neighbours": []}
    return {"neighbours": shipped_index(DEFAULT_MODEL).neighbours(reading.activations["f6"])}


def occlusion_map(payload):
    """The public /occlusion: per place of a grey patch, the drop in the read class's probability."""
    image = api_canvas(payload)
    lm = SHIPPED[DEFAULT_MODEL]
    with unreadable_as_gr_error():
        reading = None if image is None else read_canvas(lm, image)
    if reading is None:
        return {"map": [], "digit": None}
    return {"map": np.round(occlusion(lm, reading), 5).tolist(), "digit": reading.classes[reading.top],
            "patch": OCCLUSION_PATCH, "stride": OCCLUSION_STRIDE}


# ---------- Train ----------

@gpu
def _train_on_device(cfg: TrainConfig):
    yield from views.train_stream(cfg)  # plain dicts and CPU state dicts only: safe to cross from a GPU worker


def arm(signal: views.StopSignal):
    """Runs unqueued when Train is clicked: a Stop pressed from now on (even while queued) ends this run."""
    signal.requested = False


def request_stop(signal: views.StopSignal):
    signal.requested = True


def train(arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device, mine,
          signal: views.StopSignal | None = None):
    try:
        cfg = TrainConfig(arch=arch, dataset=dataset, epochs=_whole(epochs, "epochs"),
                          batch_size=_whole(batch_size, "batch size"), lr=float(lr), optimizer=optimizer,
                          schedule=schedule, augment=bool(augment), val_split=float(val_split),
                          seed=_whole(seed, "seed"), device=device)
    except (TypeError, ValueError) as e:
        raise gr.Error(f"Please fix the settings: {e}") from None
    view = views.TrainView(cfg)
    yield view.status(), gr.skip(), gr.skip(), gr.skip(), gr.skip()  # "Loading data…" before the first batch
    added = False
    try:
        # In its own low-priority thread: visitors' readings go first, and training never waits for the UI.
        stream = in_background(lambda: _train_on_device(cfg))
        for batch in stream:
            if signal is not None and signal.requested:  # Stop: end cleanly, keeping the last yielded model
                stream.close()
                view.stopped()
                yield view.status(), view.loss_df(), view.acc_df(), gr.skip(), gr.skip()
                return
            weights = None
            for ev, w in batch:
                view.add(ev)
                if ev["type"] == "error":
                    gr.Warning(ev["message"])
                weights = w if w is not None else weights
            model = view.model(weights) if weights is not None else gr.skip()
            dropdown = gr.skip()
            if weights is not None and not added:  # "your model" appears as soon as there is one
                added = True
                dropdown = gr.update(choices=views.model_choices(SHIPPED, model))
            yield view.status(), view.loss_df(), view.acc_df(), model, dropdown
    except DatasetUnavailable as e:
        raise gr.Error(str(e)) from None
    except ValueError as e:
        raise gr.Error(f"Training could not start: {e}") from None


def _whole(value, name) -> int:
    if value is None or not math.isfinite(float(value)) or float(value) != int(value):
        raise ValueError(f"{name} must be a whole number, got {value}")
    return int(value)


def finish(mine: LoadedModel | None):
    """After a run ends or is stopped: test figures, confusion matrix, mistakes, download; select the model."""
    if mine is None or mine.source != "trained" or mine.meta.get("finalized"):
        return (gr.skip(),) * 6
    try:
        md, confusion, gallery, final = views.finish_view(mine)
    except DatasetUnavailable as e:
        raise gr.Error(str(e)) from None
    path = views.checkpoint_file(final, DOWNLOADS)
    choices = views.model_choices(SHIPPED, final)
    return (md, gr.update(value=confusion, visible=True), gr.update(value=gallery, visible=True),
            gr.update(value=str(path), visible=True),
            gr.update(choices=choices, value=views.YOURS), final)


def load_upload(path):
    if not path:
        return gr.skip(), gr.skip(), gr.skip()
    try:
        lm = LoadedModel.from_file(path, source="uploaded")
    except CheckpointError as e:
        raise gr.Error(f"That file was not loaded: {e}. Your current model is unchanged.") from None
    return (lm, gr.update(choices=views.model_choices(SHIPPED, lm), value=views.YOURS),
            f"### Loaded {Path(path).name}\n`{lm.label}` is now your model in Draw and Inspect.")


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

{chr(10).join(f"- **{views.ARCH_NAMES[k]}** (`{k}`): {DESCRIPTIONS[k]}" for k in PRESETS)}

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
d = TrainConfig()

with gr.Blocks(title="LeNet-5 Studio", delete_cache=(3600, 3600)) as demo:
    my_model = gr.State(None)  # this visitor's trained or uploaded model (a LoadedModel), never shared
    stop_signal = gr.State(views.StopSignal())  # Gradio deep-copies this per visitor on first use
    # Inspect's picked test image, {"image": 28x28 float in [0, 1], "label", "title"} or None; the Train tab's
    # "open in Inspect" sets it too (then selects the Inspect tab), and Inspect shows it.
    inspect_pick = gr.State(None)
    index_cache = gr.State(None)  # (this visitor's model, its FeatureIndex): rebuilt only when the model changes

    with gr.Row(equal_height=True):
        with gr.Column(scale=2, min_width=300):  # min widths let the row wrap on a phone
            gr.Markdown("# LeNet-5 Studio\nDraw a digit and watch LeNet-5 read it · train it live · look inside.",
                        elem_id="intro")
        model_dd = gr.Dropdown(choices=views.model_choices(SHIPPED, None), value=DEFAULT_MODEL, label="Model",
                               info=views.model_info(SHIPPED[DEFAULT_MODEL]) + " Used by Draw and Inspect.",
                               elem_id="model-select", scale=1, min_width=260)

    with gr.Tabs(elem_id="tabs"):
        with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=300):
                    pad = gr.HTML("", html_template=PAD_HTML, js_on_load=PAD_JS, elem_id="pad",
                                  label="Draw a digit", padding=False)
                with gr.Column(scale=1, min_width=300):
                    notice = gr.Markdown(views.draw_notice(SHIPPED[DEFAULT_MODEL]), elem_id="draw-notice")
                    verdict = gr.Markdown(views.EMPTY_PROMPT, elem_id="verdict")
                    with gr.Row(equal_height=False, elem_id="reading"):
                        label = gr.Label(num_top_classes=10, label="Probabilities", elem_id="probs", min_width=170)
                        seen = gr.HTML(views.seen_html(SHIPPED[DEFAULT_MODEL], None), elem_id="seen",
                                       js_on_load=None, min_width=170)
                    read_seq = gr.HTML("0", html_template='<output data-seq="${value}" hidden></output>',
                                       js_on_load=None, elem_id="read-seq")
        with gr.Tab("Train", id="train", elem_id="tab-train"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=280):
                    arch = gr.Dropdown(views.arch_choices(), value=d.arch, label="Architecture", elem_id="arch",
                                       info=views.arch_info(d.arch))
                    dataset = gr.Dropdown(views.dataset_choices(), value=DEFAULT_DATASET, label="Dataset",
                                          info=views.DATASET_INFO,
                                          elem_id="dataset")
                    with gr.Row():
                        epochs = gr.Slider(1, MAX_EPOCHS, value=views.suggested_epochs(DEFAULT_DATASET), step=1,
                                           label="Epochs", elem_id="epochs")
                        batch_size = gr.Number(value=d.batch_size, label="Batch size", precision=0,
                                               elem_id="batch-size")
                    with gr.Row():
                        lr = gr.Number(value=d.lr, label="Learning rate (peak)", elem_id="lr")
                        optimizer = gr.Radio(list(OPTIMIZERS), value=d.optimizer, label="Optimizer")
                    schedule = gr.Dropdown(list(SCHEDULES), value=d.schedule, label="LR schedule")
                    with gr.Accordion("More settings", open=False):
                        augment = gr.Checkbox(value=d.augment, label="Augment: random rotation, shift, scale, "
                                              "squeeze and shear (the paper's distortions)")
                        val_split = gr.Slider(0, 0.3, value=d.val_split, step=0.05, label="Validation split")
                        seed = gr.Number(value=d.seed, label="Seed", precision=0)
                        device = gr.Dropdown(["auto"] + available_devices(), value="auto", label="Device")
                    with gr.Row():
                        train_btn = gr.Button("Train", variant="primary", elem_id="train-btn")
                        stop_btn = gr.Button("Stop", variant="stop", elem_id="stop-btn")
                    upload = gr.UploadButton("Load a checkpoint (.safetensors)", file_types=[".safetensors"],
                                             type="filepath", size="sm", elem_id="upload")
                with gr.Column(scale=2, min_width=300):
                    status = gr.Markdown("Pick settings and press **Train**. The defaults reach about 99% on "
                                         "full MNIST in two epochs.", elem_id="train-status")
                    loss_plot = gr.LinePlot(views.curve([], views.LOSS_SERIES), x="epoch", y="value", color="series",
                                            title="Loss", x_title="epoch", y_title="cross-entropy",
                                            height=240, elem_id="loss-plot")
                    acc_plot = gr.LinePlot(views.curve([], views.ACC_SERIES), x="epoch", y="value", color="series",
                                           title="Accuracy", x_title="epoch", y_title="accuracy %",
                                           height=240, elem_id="acc-plot")
            with gr.Row(equal_height=False):
                with gr.Column(min_width=300):
                    results = gr.Markdown(elem_id="train-results")
                    confusion = gr.Image(label="Confusion matrix (test set)", show_label=False, interactive=False,
                                         elem_id="confusion", buttons=[], visible=False)
                with gr.Column(min_width=300):
                    wrong = gr.Gallery(label="Misread test images (true → read)", show_label=False, columns=5,
                                       height=360, elem_id="wrong", object_fit="contain", visible=False)
                    download = gr.DownloadButton("Download your model (.safetensors)", visible=False,
                                                 elem_id="download")
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

    # --- Draw ---
    read_inputs = [pad, model_dd, my_model]
    read_outputs = [verdict, label, seen, read_seq]
    # always_last: while a reading is running, newer drawings wait and only the newest is read next, so
    # answers arrive in order and the last one is always of the drawing as it is now.
    quiet = dict(show_progress="hidden", concurrency_limit=4, concurrency_id="read")
    # queue=False: one plain POST per reading instead of a queue join plus an event stream; pen-up -> verdict
    # p50 54 ms instead of 114 ms here (bench/stroke_latency.py). A reading is ~6 ms of server work.
    pad.change(read, read_inputs, read_outputs, api_visibility="private", trigger_mode="always_last",
               show_progress="hidden", queue=False)
    model_dd.change(read, read_inputs, read_outputs, api_visibility="private", **quiet)
    model_dd.change(lambda key, mine: (views.draw_notice(_model(key, mine)),
                                       gr.update(info=views.model_info(_model(key, mine)) + " Used by Draw and Inspect.")),
                    [model_dd, my_model], [notice, model_dd], api_visibility="private", show_progress="hidden",
                    queue=False)
    api_predict_btn.click(predict, [api_pad], [label], api_name="predict", preprocess=False, **quiet)
    api_maps_btn.click(feature_maps, [api_pad], [api_maps_out], api_name="feature_maps", preprocess=False, **quiet)

    # --- Inspect --- (re-rendered when its input or the model changes; a picked test image shows itself)
    INSPECT_OPTIONS = dict(api_visibility="private", show_progress="hidden", concurrency_limit=4,
                           concurrency_id="inspect")
    inspect_outputs = [pick_class, inspect_head, layers_html, more_html, index_cache]
    # Not on pad.change: the canvas cannot change while Inspect is showing, and selecting the tab re-renders.
    # source.input (not .change): show_pick sets the source itself, which must not render twice.
    gr.on([model_dd.change, source.input, inspect_tab.select], inspect,
          [source, pad, inspect_pick, model_dd, my_model, index_cache], inspect_outputs, **INSPECT_OPTIONS)
    gr.on([inspect_pick.change], show_pick, [inspect_pick, pad, model_dd, my_model, index_cache],
          [source] + inspect_outputs, **INSPECT_OPTIONS)
    gr.on([pick_class.input, another.click], pick_test_image, [pick_class, inspect_pick, model_dd, my_model,
                                                                 index_cache], [inspect_pick, index_cache],
          **INSPECT_OPTIONS)
    api_neighbours_btn.click(neighbours, [api_pad], [api_maps_out], api_name="neighbours", preprocess=False, **quiet)
    api_occlusion_btn.click(occlusion_map, [api_pad], [api_maps_out], api_name="occlusion", preprocess=False, **quiet)

    # --- Train ---
    train_inputs = [arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device]
    run = train_btn.click(arm, stop_signal, None, queue=False, api_visibility="private").then(
        train, train_inputs + [my_model, stop_signal], [status, loss_plot, acc_plot, my_model, model_dd],
        api_name="train", concurrency_limit=TRAIN_CONCURRENCY, concurrency_id="train",
        show_progress="minimal", show_progress_on=[status])
    run.then(finish, my_model, [results, confusion, wrong, download, model_dd, my_model],
             api_visibility="private")
    # A cooperative Stop (not Gradio's cancel): the run ends at its next event, its curves stay, finish() runs.
    stop_btn.click(request_stop, stop_signal, None, queue=False, api_visibility="private")
    dataset.change(views.suggested_epochs, dataset, epochs, api_visibility="private")
    arch.change(lambda a: gr.update(info=views.arch_info(a)), arch, arch, api_visibility="private")
    upload.upload(load_upload, upload, [my_model, model_dd, results], api_visibility="private")


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
    demo.launch(**LAUNCH_OPTIONS)
