"""Reading a drawing with a model: `read` turns a drawing into one `Reading` -- the digit the network sees, every
named activation, the probabilities (computed once) and the verdict (one rule: lenet.reading.verdict.decide).
Draw, Inspect, /predict, /read and the Train tab's pinned digit all read through it.

A `LoadedModel` wraps a CPU model in eval mode with what the UI needs to name it. Models are never
changed here, so one instance can be shared read-only by every visitor.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from lenet.net.checkpoint import load_checkpoint
from lenet.net.config import LeNetConfig
from lenet.sources.data import DATASETS, normalise, to_input01
from lenet.net.model import LeNet
from lenet.reading.canvas import canvas_image
from lenet.reading.preprocess import canvas_to_digit
from lenet.reading.verdict import DIGITS, Thresholds, Verdict, decide, output_probabilities, thresholds_for


@dataclass(frozen=True)
class LoadedModel:
    model: LeNet
    meta: dict = field(default_factory=dict)
    source: str = "shipped"  # shipped | trained | uploaded
    # UI state of a visitor's trained model, kept out of `meta` (which is what a checkpoint saves); change it
    # with dataclasses.replace.
    run_state: str | None = None  # training | finished | early-stopped | stopped | diverged
    finalized: bool = False  # its test figures have been computed after the run ended

    def __hash__(self) -> int:
        # By identity: a new model (a training update, an upload) is a new object. Gradio hashes a gr.State's value
        # to tell when it changed (the Draw tab listens to the visitor's model); the fields hold a dict.
        return id(self)

    @property
    def arch(self) -> str:
        return self.meta.get("arch", "custom")

    @property
    def dataset(self) -> str:
        return self.meta.get("dataset", "mnist")

    @property
    def classes(self) -> list[str]:
        return list(self.meta.get("classes") or DATASETS.get(self.dataset, DATASETS["mnist"]).classes)

    @property
    def test_accuracy(self) -> float | None:
        return (self.meta.get("metrics") or {}).get("test_accuracy")

    @property
    def label(self) -> str:
        acc = f" · {self.test_accuracy:.2%}" if self.test_accuracy is not None else ""
        title = DATASETS[self.dataset].title if self.dataset in DATASETS else self.dataset
        return f"{self.arch} · {title}{acc}"

    @property
    def reads_digits(self) -> bool:
        return tuple(self.classes) == DIGITS

    @property
    def thresholds(self) -> Thresholds:
        """When this model says "unsure" or "not a digit" (calibrated ones from the checkpoint, if any). A model
        of other classes (Fashion-MNIST) never says "not a digit", only "unsure": it never learned what is not a
        digit (not even an RBF model's MAP "none of these")."""
        th = thresholds_for(self.model.config, self.meta)
        return th if self.reads_digits else replace(th, not_digit=None)

    @classmethod
    def from_file(cls, path, source: str = "shipped") -> "LoadedModel":
        model, meta = load_checkpoint(path)
        return cls(_frozen(model), meta, source)

    @classmethod
    def from_weights(cls, config: LeNetConfig, weights: dict, meta: dict, source: str = "trained") -> "LoadedModel":
        """A model rebuilt from its config and a state dict (copied in: later changes to it never leak)."""
        net = LeNet(config)
        net.load_state_dict(weights)
        return cls(_frozen(net), meta, source)

    @classmethod
    def from_model(cls, model: LeNet, meta: dict, source: str = "trained") -> "LoadedModel":
        """A CPU copy of a (possibly still training) model: later training never changes it."""
        return cls.from_weights(model.config, {k: v.detach().cpu() for k, v in model.state_dict().items()}, meta,
                                source)


def _frozen(model: LeNet) -> LeNet:
    model.eval().cpu()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_shipped(folder: str | Path) -> dict[str, LoadedModel]:
    """Every checkpoint in a folder, keyed by file stem, best known first."""
    return {p.stem: LoadedModel.from_file(p) for p in sorted(Path(folder).glob("*.safetensors"))}


@dataclass(frozen=True)
class Reading:
    """One drawing read by one model: everything every tab shows of it, computed once."""
    digit: np.ndarray  # (28, 28) in [0, 1]: the drawing framed the way MNIST's digits were
    input01: np.ndarray  # (S, S) in [0, 1]: the digit padded to the model's input size (for display)
    model_input: np.ndarray  # (S, S) normalised, what the network sees
    activations: dict[str, np.ndarray]  # every named layer for this one input (batch dim dropped)
    classes: list[str]
    probs: np.ndarray  # (num_classes,) each class's probability among the classes (they sum to 1)
    reject: float  # the probability of the model's own "not a digit" output (0 for a model without one)
    verdict: Verdict  # digit / unsure / not a digit, by the model's thresholds

    @property
    def top(self) -> int:
        return int(self.probs.argmax())

    def confidences(self) -> dict[str, float]:
        """Each class's probability *if* it is one of them (summing to 1): "not a digit" is the verdict's job."""
        return {c: float(q) for c, q in zip(self.classes, self.probs)}


def read(lm: LoadedModel, drawing) -> Reading | None:
    """THE reading path. `drawing`: what a canvas holds (lenet.reading.canvas.canvas_image: the Draw surface's
    strokes, parsed or as JSON, a Sketchpad-style dict, an image array), or a digit already framed like MNIST's:
    a (28, 28) float array in [0, 1], ink bright (a test image, the Train tab's pinned digit). None when there
    is no ink. Raises preprocess.CanvasError for unusable images."""
    digit = drawing if _is_framed_digit(drawing) else frame(drawing)
    if digit is None:
        return None
    cfg = lm.model.config
    x01 = to_input01(torch.from_numpy(digit)[None], cfg)  # (1, 1, S, S) in [0, 1]
    x = normalise(x01, cfg)
    with torch.inference_mode():
        acts = {k: v[0].numpy() for k, v in lm.model.activations(x).items()}
    th = lm.thresholds
    batch_probs, batch_reject = output_probabilities(acts["output"][None], cfg, th.temperature)
    probs, reject = batch_probs[0], float(batch_reject[0])  # computed once: the verdict states these
    return Reading(digit=digit, input01=x01[0, 0].numpy(), model_input=x[0, 0].numpy(), activations=acts,
                   classes=lm.classes, probs=probs, reject=reject,
                   verdict=decide(acts, probs, reject, cfg, lm.classes, th))


def _is_framed_digit(drawing) -> bool:
    # Canvases come as stroke JSON, Sketchpad dicts or uint8 images; framed digits are 28x28 floats
    # (canvas_to_digit's output, test images / 255).
    return isinstance(drawing, np.ndarray) and drawing.shape == (28, 28) and drawing.dtype.kind == "f"


def frame(drawing) -> np.ndarray | None:
    """What a canvas holds, framed the way MNIST's digits were: (28, 28) float32 in [0, 1], or None without ink."""
    image = canvas_image(drawing)
    return None if image is None else canvas_to_digit(image)
