"""The Train tab's settings: what this app allows (class mode, epochs, threads, from the environment), the
settings column's components, and reading a typed number as a person meant it."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import gradio as gr

from lenet.present import selectors, train_view, watch_view
from lenet.sources.mix import SOURCES
from lenet.training.background import NICE
from lenet.training.config import OPTIMIZERS, SCHEDULES, recipe
from lenet.training.device import available_devices
from ui.common import CORES


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


# Class mode (LENET_CLASS_MODE=1, e.g. a Space's variable): a class of visitors on a 2-vCPU machine. The Train tab
# starts from the bundled MNIST sample (no download; 10 epochs end in about 10 s there), epochs are capped, and a
# run trains at 1 thread so that the visitors' readings always keep a core. Each setting can still be set alone.
CLASS_MODE = _flag("LENET_CLASS_MODE")
TRAIN_CONCURRENCY = int(os.environ.get("LENET_TRAIN_CONCURRENCY", "1"))
MAX_EPOCHS = int(os.environ.get("LENET_MAX_EPOCHS", "10" if CLASS_MODE else "30"))
TRAIN_THREADS = int(os.environ.get("LENET_TRAIN_THREADS", "0")) or (1 if CLASS_MODE else CORES)
# A run trains at a lower priority (nice) and gives way to readings in flight (lenet.training.background.ReadersFirst).
TRAIN_NICE = int(os.environ.get("LENET_TRAIN_NICE", str(NICE)))
READERS_FIRST = os.environ.get("LENET_READERS_FIRST", "1").strip().lower() not in ("0", "false", "no")
# full MNIST when it is on disk (else the bundled sample); the sample in class mode
DEFAULT_DATASET = "mnist-sample" if CLASS_MODE else train_view.default_dataset()
DEFAULTS = recipe()  # recipes/default.toml


def whole_number(value, name, most: int | None = None) -> int:
    if value is None or value == "":
        raise ValueError(f"{name} is empty: enter a whole number")
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise ValueError(f"{name} must be a whole number (you entered {float(value):g})")
    if most is not None and not 1 <= int(value) <= most:
        raise ValueError(f"{name} must be from 1 to {most} here (you entered {int(value):,})")
    return int(value)


@dataclass
class Settings:
    arch: gr.Dropdown
    dataset: gr.Dropdown
    epochs: gr.Slider
    batch_size: gr.Number
    lr: gr.Number
    optimizer: gr.Radio
    schedule: gr.Dropdown
    augment: gr.Checkbox
    val_split: gr.Slider
    seed: gr.Number
    device: gr.Dropdown
    watch_what: gr.Radio
    watch_class: gr.Dropdown
    negatives: gr.Checkbox
    styles: gr.Checkbox

    def inputs(self) -> list:
        """In the order `TrainTab.run` takes them (the public /train endpoint's order)."""
        return [self.arch, self.dataset, self.epochs, self.batch_size, self.lr, self.optimizer, self.schedule,
                self.augment, self.val_split, self.seed, self.device, self.watch_what, self.watch_class]


def build_settings() -> Settings:
    d = DEFAULTS
    arch = gr.Dropdown(selectors.arch_choices(), value=d.arch, label="Architecture", elem_id="arch",
                       info=selectors.arch_info(d.arch))
    dataset = gr.Dropdown(train_view.dataset_choices(), value=DEFAULT_DATASET, label="Dataset", info=train_view.DATASET_INFO,
                          elem_id="dataset")
    with gr.Row():
        epochs = gr.Slider(1, MAX_EPOCHS, value=train_view.suggested_epochs(DEFAULT_DATASET), step=1,
                           label="Epochs", info=f"1 to {MAX_EPOCHS}", elem_id="epochs")
        batch_size = gr.Number(value=d.batch_size, label="Batch size", precision=0, elem_id="batch-size")
    with gr.Row():
        lr = gr.Number(value=d.lr, label="Learning rate (peak)", elem_id="lr")
        optimizer = gr.Radio(list(OPTIMIZERS), value=d.optimizer, label="Optimizer")
    schedule = gr.Dropdown(list(SCHEDULES), value=d.schedule, label="LR schedule")
    negatives = gr.Checkbox(value=bool(d.share("negatives")), label="Also learn what is not a digit",
                            info="Mixes generated scribbles, letters and doodles into training (an 11th output), "
                                 "so your model can say “that is not a digit”.", elem_id="negatives")
    with gr.Accordion("More settings", open=False):
        augment = gr.Checkbox(value=d.augment, label="Augment: random rotation, shift, scale, squeeze and shear "
                                                     "(the paper's distortions)")
        val_split = gr.Slider(0, 0.3, value=d.val_split, step=0.05, label="Validation split")
        styles = gr.Checkbox(value=bool(d.share("styles")), label="Also learn the continental 1",
                             info="A one with a long flag and a foot, as most of Europe writes it: MNIST's American "
                                  "writers rarely did, and a model trained on MNIST alone reads it as 7. Draws such "
                                  f"ones, and slashed zeros, into {SOURCES['styles'].default:.0%} of each batch "
                                  "(about 2 s to draw them first).",
                             elem_id="styles")
        seed = gr.Number(value=d.seed, label="Seed", precision=0)
        device = gr.Dropdown(["auto"] + available_devices(), value="auto", label="Device")
    with gr.Row():
        watch_what = gr.Radio([train_view.WATCH_DRAWING, train_view.WATCH_TEST], value=train_view.WATCH_TEST,
                              label="Digit to watch while it trains", elem_id="watch-what",
                              info="Pinned when you press Train; read again at every update.")
        watch_class = gr.Dropdown(watch_view.class_names(DEFAULT_DATASET), value=watch_view.class_names(DEFAULT_DATASET)[7],
                                  label="Class", elem_id="watch-class", min_width=100, scale=0)
    return Settings(arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device,
                    watch_what, watch_class, negatives, styles)
