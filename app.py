"""LeNet-5 Studio: draw a digit, train LeNet-5 live, look inside it.

This file only builds the UI and wires components to the core in `lenet/` (what each tab shows is
computed in `lenet/views.py`). Per-visitor things (the visitor's own model) live in `gr.State`;
module globals are loaded once and never changed.
"""
from __future__ import annotations

import gc
import math
import os
import random
import tempfile
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
from lenet.data import DatasetUnavailable
from lenet.device import available_devices
from lenet.inference import LoadedModel, load_shipped, read_canvas
from lenet.preprocess import MAX_SIDE, CanvasError, canvas_to_digit
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


def read(canvas, key, mine):
    with unreadable_as_gr_error():
        return views.draw_view(_model(key, mine), canvas)


def api_canvas(payload) -> np.ndarray | None:
    """The API's raw canvas value -> RGBA pixels. Gradio has already checked the file is an upload; the
    header is read before the pixels, so a huge image is refused without decoding it."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise gr.Error('Expected a canvas value: {"background": None, "layers": [], "composite": <image file>}')
    parts = [payload.get("composite"), *(payload.get("layers") or []), payload.get("background")]
    part = next((p for p in parts if p), None)
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

def inspect(source, canvas, index, key, mine):
    lm = _model(key, mine)
    with unreadable_as_gr_error():
        if source == "a test digit":
            digit, truth = views.test_digit(int(index))
            return views.inspect_view(lm, digit, truth)
        image = views.canvas_image(canvas)
        return views.inspect_view(lm, None if image is None else canvas_to_digit(image))


def random_digit():
    return gr.update(value=random.randrange(views.n_test_samples()), visible=True), "a test digit"


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
            gr.update(choices=choices, value="yours"), final)


def load_upload(path):
    if not path:
        return gr.skip(), gr.skip(), gr.skip()
    try:
        lm = LoadedModel.from_file(path, source="uploaded")
    except CheckpointError as e:
        raise gr.Error(f"That file was not loaded: {e}. Your current model is unchanged.") from None
    return (lm, gr.update(choices=views.model_choices(SHIPPED, lm), value="yours"),
            f"### Loaded {Path(path).name}\n`{lm.label}` is now your model in Draw and Inspect.")


# ---------- Layout ----------

# Every stylesheet in lenet/static/, each beside the part of the UI whose HTML it styles.
CSS = "\n".join(p.read_text() for p in sorted((ROOT / "lenet" / "static").glob("*.css")))

PICK_BRUSH_JS = """
() => {
  // Gradio 6.31 opens the Sketchpad (and leaves it after Clear) with no tool selected: pick the brush.
  const pick = (n) => {
    const b = document.querySelector('#pad button[aria-label="Brush"]');
    if (b) b.click(); else if (n > 0) setTimeout(() => pick(n - 1), 250);
  };
  setTimeout(() => pick(20), 300);
}
"""

ABOUT = f"""
## What is this?
**LeNet-5** (LeCun, Bottou, Bengio, Haffner, *Gradient-Based Learning Applied to Document Recognition*,
Proc. IEEE 1998) is the convolutional network that read cheques in the 1990s. Its layers:

| layer | what it does | output (32×32 input) |
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

**Architectures here:** {", ".join(f"`{k}` ({DESCRIPTIONS[k]})" for k in PRESETS)}.

**Your data stays yours:** models you train or upload live in your browser session only; other visitors
never see them, and reloading the page returns to the shipped models.

Data: MNIST by Yann LeCun and Corinna Cortes (CC BY-SA 3.0); Fashion-MNIST by Zalando Research (MIT).
"""

# Gradio 6: styling goes to launch(). show_error: an API client that sends a malformed value is told
# which field is wrong (Gradio's own validation, before our code runs) instead of a generic "error".
LAUNCH_OPTIONS = dict(css=CSS, theme=gr.themes.Soft(primary_hue="indigo"), show_error=True)
d = TrainConfig()

with gr.Blocks(title="LeNet-5 Studio", delete_cache=(3600, 3600)) as demo:
    my_model = gr.State(None)  # this visitor's trained or uploaded model (a LoadedModel), never shared
    stop_signal = gr.State(views.StopSignal())  # Gradio deep-copies this per visitor on first use

    with gr.Row(equal_height=True):
        with gr.Column(scale=2, min_width=300):  # min widths let the row wrap on a phone
            gr.Markdown("# LeNet-5 Studio\nDraw a digit and watch LeNet-5 read it · train it live · look inside.",
                        elem_id="intro")
        model_dd = gr.Dropdown(choices=views.model_choices(SHIPPED, None), value=DEFAULT_MODEL, label="Model",
                               info="Used by Draw and Inspect; models you train appear here.",
                               elem_id="model-select", scale=1, min_width=260)

    with gr.Tabs(elem_id="tabs"):
        with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    pad = gr.Sketchpad(label="Draw a digit", type="numpy", image_mode="RGBA",
                                       canvas_size=(280, 280), fixed_canvas=True, layers=False, transforms=(),
                                       brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed"),
                                       elem_id="pad", height=360)
                with gr.Column(scale=2, min_width=260):
                    verdict = gr.Markdown(views.EMPTY_PROMPT, elem_id="verdict")
                    label = gr.Label(num_top_classes=10, label="Probabilities", elem_id="probs")
                    seen = gr.Image(label="What the network sees",
                                    interactive=False, elem_id="seen", height=220, buttons=[])
        with gr.Tab("Train", id="train", elem_id="tab-train"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=280):
                    arch = gr.Dropdown(list(PRESETS), value=d.arch, label="Architecture", elem_id="arch",
                                       info=DESCRIPTIONS[d.arch])
                    dataset = gr.Dropdown(views.dataset_choices(), value=DEFAULT_DATASET, label="Dataset",
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
                    status = gr.Markdown(f"Pick settings and press **Train**. The defaults reach 99% on full "
                                         f"MNIST in {d.epochs} epochs.", elem_id="train-status")
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
            with gr.Row():
                source = gr.Radio(["my drawing", "a test digit"], value="my drawing", label="Input",
                                  elem_id="inspect-source")
                digit_idx = gr.Slider(0, views.n_test_samples() - 1, value=0, step=1, visible=False,
                                      label="Test digit (bundled MNIST sample)", elem_id="digit-idx")
                shuffle = gr.Button("Random test digit", size="sm", elem_id="shuffle", scale=0, min_width=160)
            inspect_head = gr.HTML(elem_id="inspect-head")
            layers_html = gr.HTML(elem_id="inspect-layers")
        with gr.Tab("About", id="about"):
            gr.Markdown(ABOUT)

    # API-only twins of the UI events: the documented /predict and /feature_maps take just a canvas.
    with gr.Row(visible=False):
        api_predict_btn = gr.Button()
        api_maps_btn = gr.Button()
        api_maps_out = gr.JSON()

    # --- Draw ---
    read_inputs = [pad, model_dd, my_model]
    quiet = dict(show_progress="hidden", concurrency_limit=4, concurrency_id="read")
    pad.change(read, read_inputs, [verdict, label, seen], api_visibility="private", **quiet)
    model_dd.change(read, read_inputs, [verdict, label, seen], api_visibility="private", **quiet)
    pad.clear(None, js=PICK_BRUSH_JS)
    api_predict_btn.click(predict, [pad], [label], api_name="predict", preprocess=False, **quiet)
    api_maps_btn.click(feature_maps, [pad], [api_maps_out], api_name="feature_maps", preprocess=False, **quiet)

    # --- Inspect --- (re-rendered when its input or the model changes)
    inspect_inputs = [source, pad, digit_idx, model_dd, my_model]
    inspect_outputs = [inspect_head, layers_html]
    # Not on pad.change: the canvas cannot change while Inspect is showing, and selecting the tab re-renders.
    for trigger in (model_dd.change, source.change, digit_idx.release, inspect_tab.select):
        trigger(inspect, inspect_inputs, inspect_outputs, api_visibility="private", show_progress="hidden",
                concurrency_limit=4, concurrency_id="inspect")
    source.change(lambda src: gr.update(visible=src == "a test digit"), source, digit_idx, api_visibility="private")
    shuffle.click(random_digit, None, [digit_idx, source], api_visibility="private").then(
        inspect, inspect_inputs, inspect_outputs, api_visibility="private", show_progress="hidden")

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
    arch.change(lambda a: gr.update(info=DESCRIPTIONS[a]), arch, arch, api_visibility="private")
    upload.upload(load_upload, upload, [my_model, model_dd, results], api_visibility="private")

    demo.load(None, js=PICK_BRUSH_JS)

demo.queue(default_concurrency_limit=4)

# Everything built so far lives as long as the app. A full garbage collection walks all of it (~320k
# objects, ~100 ms with every thread stopped); frozen, it is skipped, and those pauses leave the
# visitors' latency tail (bench/load_test.py).
gc.collect()
gc.freeze()

if __name__ == "__main__":
    # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by launch() itself.
    demo.launch(**LAUNCH_OPTIONS)
