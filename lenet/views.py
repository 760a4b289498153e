"""What each tab shows, as plain values (markdown, numpy images, HTML, DataFrames): no UI framework.

`app.py` wires these to Gradio components; keeping them here makes every view testable without
a server.
"""
from __future__ import annotations

import dataclasses
import functools
import html
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lenet.data import DATASETS, dataset_info, is_available_offline, load_split
from lenet.evaluate import evaluate
from lenet.inference import LoadedModel, Reading, read_canvas, read_digit, saliency
from lenet.model import c3_connection_matrix
from lenet.render import (bars_html, connection_table_html, gray, maps_html, network_view, png_data_url,
                          saliency_overlay, upscale)
from lenet.train import TrainConfig, Trainer

EMPTY_PROMPT = "### ✏️ Draw a digit\nAny size, anywhere in the box: it is scaled and centred the way MNIST was."
PAPER_ERRORS = {"1998 paper, MNIST: 0.95% error": 99.05, "1998 paper, MNIST + distortions: 0.8%": 99.2}
LOSS_SERIES = ("train", "val", "test")
ACC_SERIES = LOSS_SERIES + tuple(PAPER_ERRORS)


# ---------- canvas values ----------

def canvas_image(value) -> np.ndarray | None:
    """The image in a Sketchpad / ImageEditor value ({"background", "layers", "composite"}), or None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"expected a canvas value (a dict with 'composite'), got {type(value).__name__}")
    for candidate in (value.get("composite"), *(value.get("layers") or []), value.get("background")):
        if candidate is not None:
            return np.asarray(candidate)
    return None


# ---------- models ----------

def model_choices(shipped: dict[str, LoadedModel], mine: LoadedModel | None) -> list[tuple[str, str]]:
    choices = [(lm.label, key) for key, lm in shipped.items()]
    if mine is not None:
        choices.append((f"your model: {mine.label}", "yours"))
    return choices


def resolve_model(key: str | None, shipped: dict[str, LoadedModel], mine: LoadedModel | None,
                  default: str) -> LoadedModel:
    if key == "yours" and mine is not None:
        return mine
    return shipped.get(key) or shipped[default]


# ---------- Draw ----------

def verdict(reading: Reading | None) -> str:
    if reading is None:
        return EMPTY_PROMPT
    order = np.argsort(reading.probs)[::-1]
    first, second = reading.classes[order[0]], reading.classes[order[1]]
    p1, p2 = reading.probs[order[0]], reading.probs[order[1]]
    if reading.unsure:
        why = (f"no digit prototype is close (“none of these”: {reading.reject:.0%})" if reading.reject > p1
               else f"then {html.escape(second)} ({p2:.0%})")
        return (f"### 🤔 Not sure — is that a digit?\nBest guess **{html.escape(first)}** ({p1:.0%}), {why}. "
                "Try a bigger, clearer stroke.")
    return f"### I read: **{html.escape(first)}**\n{p1:.1%} sure · runner-up {html.escape(second)} ({p2:.1%})"


def seen_image(lm: LoadedModel, reading: Reading) -> np.ndarray:
    cfg = lm.model.config
    return network_view(reading.model_input, cfg.mean, cfg.std, (cfg.input_size - 28) // 2, factor=8)


def draw_view(lm: LoadedModel, value) -> tuple[str, dict | None, np.ndarray | None]:
    """(verdict markdown, label value {class: probability} or None, what the network sees or None)."""
    image = canvas_image(value)
    reading = None if image is None else read_canvas(lm, image)
    if reading is None:
        return EMPTY_PROMPT, None, None
    return verdict(reading), reading.confidences(), seen_image(lm, reading)


def feature_maps(lm: LoadedModel, value) -> dict:
    """C1 and C3 maps for a canvas value, as nested lists (for the /feature_maps API)."""
    image = canvas_image(value)
    reading = None if image is None else read_canvas(lm, image)
    if reading is None:
        return {"empty": True, "model": lm.label}
    a = reading.activations
    return {"empty": False, "model": lm.label, "prediction": reading.classes[reading.top],
            "c1": np.round(a["c1"], 5).tolist(), "c3": np.round(a["c3"], 5).tolist(),
            "c1_shape": list(a["c1"].shape), "c3_shape": list(a["c3"].shape)}


# ---------- Inspect ----------

def test_digit(index: int) -> tuple[np.ndarray, str]:
    split = _sample_test()
    index = int(np.clip(index, 0, len(split) - 1))
    return split.images[index].numpy().astype(np.float32) / 255, DATASETS["mnist"].classes[int(split.labels[index])]


@functools.lru_cache(maxsize=1)
def _sample_test():
    return load_split("mnist-sample", train=False)  # bundled and never changed: safe to share read-only


def n_test_samples() -> int:
    return len(_sample_test())


def inspect_view(lm: LoadedModel, digit: np.ndarray | None, true_label: str | None = None) -> tuple[str, str]:
    """(header HTML: input, saliency, output bars; layers HTML: every map, kernels, C3 table, F6)."""
    if digit is None:
        note = '<p class="fmap-note">Draw a digit in the <b>Draw</b> tab, or pick “a test digit” above.</p>'
        return note, ""
    reading = read_digit(lm, digit)
    cfg = lm.model.config
    pad = (cfg.input_size - 28) // 2
    sal = saliency(lm, reading)
    x01 = np.clip(reading.model_input * cfg.std + cfg.mean, 0, 1)
    top = reading.classes[reading.top]
    truth = f" · true label <b>{html.escape(true_label)}</b>" if true_label is not None else ""
    out = reading.activations["output"]
    rbf = cfg.output == "rbf"
    head = (
        '<div class="inspect-head">'
        f'<figure><img class="px" src="{png_data_url(network_view(reading.model_input, cfg.mean, cfg.std, pad, 1))}" '
        f'width="168" height="168" alt="input"><figcaption>Input {cfg.input_size}×{cfg.input_size}</figcaption></figure>'
        f'<figure><img class="px" src="{png_data_url(saliency_overlay(x01, sal, 1))}" width="168" height="168" '
        f'alt="saliency"><figcaption>Saliency for “{html.escape(top)}”: pixels that move its score most</figcaption></figure>'
        f'<div class="inspect-out"><p>Reads <b class="big">{html.escape(top)}</b> ({reading.probs[reading.top]:.1%}){truth}</p>'
        + bars_html(-out if rbf else out, reading.classes, reading.top,
                    "Output: negative RBF distance to each class prototype (higher = closer)" if rbf
                    else "Output scores (logits), one per class")
        + '</div></div>')
    a = reading.activations
    s_in = cfg.input_size
    sections = [
        maps_html("c1", a["c1"], f"C1 · {a['c1'].shape[0]} feature maps {a['c1'].shape[1]}×{a['c1'].shape[2]} — "
                  f"each 5×5 kernel slid over the {s_in}×{s_in} input: edges and strokes at one orientation"),
        maps_html("k1", lm.model.c1[0].weight.detach()[:, 0].numpy(),
                  "C1 kernels · the 5×5 weights each C1 map uses (red +, blue −)", tile_px=60),
        maps_html("s2", a["s2"], f"S2 · subsampled to {a['s2'].shape[1]}×{a['s2'].shape[2]}: "
                  "the same features, less sensitive to exact position"),
        '<section class="fmap-layer"><h4>S2 → C3 connections: which S2 maps each C3 map reads</h4>'
        + connection_table_html(c3_connection_matrix().numpy() if cfg.c3_table == "paper" else None) + "</section>",
        maps_html("c3", a["c3"], f"C3 · {a['c3'].shape[0]} feature maps {a['c3'].shape[1]}×{a['c3'].shape[2]} — "
                  "combinations of S2 features: corners, stroke ends, curves"),
        maps_html("s4", a["s4"], f"S4 · {a['s4'].shape[1]}×{a['s4'].shape[2]}"),
        '<section class="fmap-layer"><h4>C5 and F6 · fully connected units</h4>'
        + bars_html(a["c5"], caption=f"C5: {a['c5'].shape[0]} units") + bars_html(
            a["f6"], caption=f"F6: {a['f6'].shape[0]} units" + (" — compared with each digit's 7×12 prototype by "
                                                               "the RBF output" if rbf else "")) + "</section>",
    ]
    return head, '<div class="inspect-layers">' + "".join(sections) + "</div>"


# ---------- Train ----------

def default_dataset() -> str:
    """Full MNIST when it is on this machine; otherwise the bundled sample, which always works."""
    return "mnist" if is_available_offline("mnist") else "mnist-sample"


def dataset_choices() -> list[tuple[str, str]]:
    hints = {"mnist": " (60k; downloads on first use unless LENET_DATA_DIR is set)",
             "fashion-mnist": " (60k; downloads on first use unless LENET_DATA_DIR is set)",
             "mnist-sample": " (4k digits, works offline)", "fashion-mnist-sample": " (2k images, works offline)"}
    return [(info.title + hints[k], k) for k, info in DATASETS.items()]


def suggested_epochs(dataset: str) -> int:
    """The default recipe's epochs for full datasets (bench/time_to_99.py: every seed reaches 99.0% on MNIST);
    the bundled samples need more passes to learn."""
    return 10 if dataset_info(dataset).sample else TrainConfig().epochs


def curve(rows: list, series: tuple[str, ...]) -> pd.DataFrame:
    """Long-format curve data that names every series up front (a NaN row each): Gradio 6.31's LinePlot
    fixes its colour categories from the first value it draws, so a series added later would be invisible."""
    head = [(np.nan, np.nan, name) for name in series]
    return pd.DataFrame(head + rows, columns=["epoch", "value", "series"])


def train_stream(cfg: TrainConfig, weights_every: float = 0.5):
    """The core's event stream with CPU weights attached every `weights_every` s and at the end.

    Only plain dicts and CPU tensors come out: this is what may cross back from a GPU worker.
    """
    trainer = Trainer(cfg)
    last = 0.0
    for ev in trainer.run():
        now = time.perf_counter()
        attach = ev["type"] in ("done", "error", "epoch") or (ev["type"] == "step" and now - last >= weights_every)
        if attach:
            last = now
        yield ev, to_cpu_weights(trainer.model) if attach else None


class StopSignal:
    """A per-visitor Stop button: the training loop checks it between events and ends the run cleanly."""

    def __init__(self):
        self.requested = False


@dataclass
class TrainView:
    """Accumulates events into curves, a status line and this visitor's model."""

    cfg: TrainConfig
    loss_rows: list = field(default_factory=list)
    acc_rows: list = field(default_factory=list)
    state: str = "starting"
    test_accuracy: float | None = None
    last: dict = field(default_factory=dict)
    start: dict = field(default_factory=dict)

    def add(self, ev: dict) -> None:
        kind = ev["type"]
        if kind == "start":
            self.start = ev
            self.state = "training"
        elif kind == "step":
            x = ev["epoch"] - 1 + ev["epoch_progress"]
            self.loss_rows.append((x, ev["loss"], "train"))
            self.acc_rows.append((x, 100 * ev["accuracy"], "train"))
            self.last = ev
        elif kind == "eval":
            self.loss_rows.append((float(ev["epoch"]), ev["loss"], ev["split"]))
            self.acc_rows.append((float(ev["epoch"]), 100 * ev["accuracy"], ev["split"]))
            if ev["split"] == "test":
                self.test_accuracy = ev["accuracy"]
        elif kind == "done":
            self.state = "finished" if ev["reason"] == "finished" else "early-stopped"
            self.test_accuracy = ev["test_accuracy"]
        elif kind == "error":
            self.state = "diverged"
            self.last = ev

    def stopped(self) -> None:
        self.state = "stopped"

    def loss_df(self) -> pd.DataFrame:
        return curve(self.loss_rows, LOSS_SERIES)

    def acc_df(self) -> pd.DataFrame:
        rows = list(self.acc_rows)
        if self.cfg.dataset == "mnist" and rows:  # the paper's LeNet-5 test errors as reference lines
            for name, y in PAPER_ERRORS.items():
                rows += [(0.0, y, name), (float(self.cfg.epochs), y, name)]
        return curve(rows, ACC_SERIES)

    def status(self) -> str:
        s, ev = self.start, self.last
        if self.state == "diverged":
            return f"### ⚠️ Stopped: the run diverged\n{html.escape(ev.get('message', ''))}"
        if not s:
            return f"### ⏳ Loading {html.escape(dataset_info(self.cfg.dataset).title)}…"
        total = self.cfg.epochs * s["steps_per_epoch"]
        step = ev.get("step", 0)
        bar = _progress_bar(step / total if total else 0)
        where = f"on {html.escape(s['device'])} · {s['n_train']:,} training images · {s['parameters']:,} parameters"
        if self.state in ("finished", "early-stopped"):
            return (f"### ✅ Done ({self.state}) · test accuracy {self.test_accuracy:.2%}\n{bar}\n"
                    f"{where}. Your model is now selected in Draw and Inspect.")
        if self.state == "stopped":
            at = f" in epoch {ev['epoch']}, step {step}" if ev else " before the first step"
            return f"### ⏹️ Stopped{at}\n{bar}\nKept what was learned so far: its test results appear below."
        if not ev:
            return f"### Training started\n{bar}\n{where}"
        test = f" · test {self.test_accuracy:.2%}" if self.test_accuracy is not None else ""
        return (f"### Training · epoch {ev['epoch']}/{self.cfg.epochs} · step {step}/{total}\n{bar}\n"
                f"loss {ev['loss']:.4f} · accuracy {ev['accuracy']:.1%}{test} · {ev['images_per_s']:,.0f} images/s · "
                f"{ev['elapsed']:.0f} s elapsed · about {ev['eta']:.0f} s left\n\n{where}")

    def model(self, weights: dict) -> LoadedModel:
        info = dataset_info(self.cfg.dataset)
        meta = {"arch": self.cfg.arch, "dataset": self.cfg.dataset, "classes": list(info.classes),
                "settings": dataclasses.asdict(self.cfg), "state": self.state,
                "metrics": {"test_accuracy": self.test_accuracy}, "epochs_done": self.last.get("epoch", 0)}
        return LoadedModel.from_weights(self.cfg.model_config(), weights, meta, source="trained")


def _progress_bar(frac: float, width: int = 30) -> str:
    frac = min(max(frac, 0.0), 1.0)
    return f'<div class="progress"><div style="width:{frac * 100:.1f}%"></div></div>'


def finish_view(lm: LoadedModel, data_dir: str | None = None) -> tuple[str, np.ndarray, list, LoadedModel]:
    """After a run (finished or stopped): test figures, confusion image, misclassified gallery, final model."""
    split = load_split(lm.dataset, train=False, data_dir=data_dir)
    r = evaluate(lm.model, split)
    meta = {**lm.meta, "metrics": {"test_accuracy": r["accuracy"], "test_loss": r["loss"], "test_n": r["n"]},
            "finalized": True}
    stopped = meta.get("state") == "training"
    meta["state"] = "stopped" if stopped else meta.get("state")
    how = {"stopped": "⏹️ Stopped — kept what was learned so far",
           "diverged": "⚠️ The run diverged — kept the last good weights"}.get(meta["state"], "✅ Finished")
    title = DATASETS[lm.dataset].title
    md = (f"### {how}\nTest accuracy **{r['accuracy']:.2%}** on {r['n']:,} {title} test images "
          f"({len(r['misclassified'])} misread). It is now **your model** in Draw and Inspect, for you only; "
          "reloading the page returns to the shipped models. Download it below to keep it.")
    classes = lm.classes
    gallery = [(upscale(gray(split.images[i].numpy() / 255), 4),
                f"{classes[int(split.labels[i])]} → {classes[r['predictions'][i]]}") for i in r["misclassified"][:30]]
    return md, confusion_image(np.array(r["confusion"]), classes), gallery, LoadedModel(lm.model, meta, lm.source)


def confusion_image(confusion: np.ndarray, classes: list[str]) -> np.ndarray:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=110)
    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if rates[i, j] > 0.5 else "#333")
    short = [c[:7] for c in classes]
    ax.set_xticks(range(len(classes)), short, rotation=45 if len(max(short, key=len)) > 2 else 0, fontsize=8)
    ax.set_yticks(range(len(classes)), short, fontsize=8)
    ax.set_xlabel("read as")
    ax.set_ylabel("true class")
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return img


def checkpoint_file(lm: LoadedModel, folder: str | Path, keep_seconds: float = 3600) -> Path:
    """Write a visitor's model for download under a unique name; files older than keep_seconds go."""
    from lenet.checkpoint import save_checkpoint

    folder = Path(folder)
    for old in folder.glob("*/*.safetensors"):  # one sub-folder per file keeps the friendly file name
        if time.time() - old.stat().st_mtime > keep_seconds:
            old.unlink(missing_ok=True)
            old.parent.rmdir()
    path = folder / uuid.uuid4().hex[:12] / f"{lm.arch}-{lm.dataset}-yours.safetensors"
    return save_checkpoint(path, lm.model, {k: v for k, v in lm.meta.items() if k != "finalized"})


def to_cpu_weights(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
