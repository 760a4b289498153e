"""Reading a canvas with a model: prediction, confidence, every named activation.

A `LoadedModel` wraps a CPU model in eval mode with what the UI needs to name it. Models are never
changed here, so one instance can be shared read-only by every visitor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lenet.net.checkpoint import load_checkpoint
from lenet.net.config import LeNetConfig
from lenet.sources.data import DATASETS, normalise, to_input01
from lenet.net.model import LeNet
from lenet.reading.preprocess import canvas_to_digit
from lenet.reading.verdict import Thresholds, Verdict, judge, thresholds_for

UNSURE_TOP = 0.5  # below this top probability the reading is "unsure"
UNSURE_MARGIN = 0.2  # ... or when the runner-up is this close


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
    def thresholds(self) -> Thresholds:
        """When this model says "unsure" or "not a digit" (calibrated ones from the checkpoint, if any)."""
        return thresholds_for(self.model.config, self.meta)

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


@dataclass
class Reading:
    digit: np.ndarray  # (28, 28) in [0, 1]: the preprocessed drawing
    input01: np.ndarray  # (S, S) in [0, 1]: the digit padded to the model's input size (for display)
    model_input: np.ndarray  # (S, S) normalised, what the network sees
    probs: np.ndarray  # (num_classes,)
    activations: dict[str, np.ndarray]  # every named layer for this one input (batch dim dropped)
    classes: list[str]
    reject: float = 0.0  # probability of "not a digit" / "none of these" (models that learned one)

    @property
    def top(self) -> int:
        return int(self.probs.argmax())

    @property
    def unsure(self) -> bool:
        p = np.sort(self.probs)[::-1]
        return bool(p[0] < UNSURE_TOP or p[0] - p[1] < UNSURE_MARGIN or self.reject > p[0])

    def confidences(self) -> dict[str, float]:
        """Each class's probability *if* it is one of them (summing to 1): "not a digit" is the verdict's job."""
        p = self.probs / max(float(self.probs.sum()), 1e-12)
        return {c: float(q) for c, q in zip(self.classes, p)}


def output_probabilities(model: LeNet, output: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The output layer's values (B, ...) -> probabilities (B, classes [+ "none of these"]): the one place a
    reading's probabilities come from (read_digit, and Inspect's occlusion).

    With a "not a digit" class (last), its probability p is the plain softmax's over every class (what the
    verdict's threshold was calibrated on); the classes share 1 - p as softmax(class logits / temperature) does
    (the checkpoint's calibrated temperature, lenet.reading.verdict.Thresholds.temperature). With temperature 1 this is
    exactly the softmax over every class."""
    scores = model.scores(output)
    probs = torch.softmax(scores, 1)  # with "not a digit" last when the model has one
    k = model.config.num_classes
    if temperature == 1.0:
        return probs
    digits = torch.softmax(scores[:, :k] / temperature, 1)
    if probs.shape[1] == k:
        return digits
    rest = probs[:, k:]
    return torch.cat([digits * (1 - rest.sum(1, keepdim=True)), rest], 1)


def read_digit(lm: LoadedModel, digit: np.ndarray) -> Reading:
    x01 = to_input01(torch.from_numpy(digit)[None], lm.model.config)  # (1, 1, S, S) in [0, 1]
    x = normalise(x01, lm.model.config)
    with torch.inference_mode():
        acts = lm.model.activations(x)
        probs = output_probabilities(lm.model, acts["output"], lm.thresholds.temperature)[0].numpy()
    k = lm.model.config.num_classes
    reject = float(probs[k]) if len(probs) > k else 0.0  # RBF models: the paper's "rubbish" class
    return Reading(digit=digit, input01=x01[0, 0].numpy(), model_input=x[0, 0].numpy(), probs=probs[:k],
                   activations={k: v[0].numpy() for k, v in acts.items()}, classes=lm.classes, reject=reject)


def verdict(lm: LoadedModel, reading: Reading) -> Verdict:
    """Digit, unsure or not a digit, with the model's own (calibrated) thresholds."""
    return judge(reading.activations, lm.model.config, reading.classes, lm.thresholds)


def read_canvas(lm: LoadedModel, image) -> Reading | None:
    """None when the canvas holds no ink. Raises preprocess.CanvasError for unusable images."""
    digit = canvas_to_digit(image)
    return None if digit is None else read_digit(lm, digit)
