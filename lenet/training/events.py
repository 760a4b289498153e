"""A training run's events: what `Trainer.run()` yields, made once there and read by the CLI, the app and the
benchmarks. Every event has `elapsed` (seconds since the run started), `epoch` and `step`.

  Start     settings, device, sizes, steps per epoch
  Step      running train loss / accuracy since the last step event (over `images`), lr, images/s, ETA
  Eval      one evaluation of "val" or "test"; a test evaluation carries its confusion and predictions
  EpochEnd  the epoch's summary
  Done      reason "finished" | "early-stopped" (the run states the app shows), and the final test evaluation itself
  Failed    reason "nan" | "diverged", a message; the last good weights were restored first

`to_json()` gives the plain dict the CLI prints (`--json`) and a checkpoint's history keeps: the event's fields
and "type", without the per-image figures.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

# a field the JSON form leaves out: per-image figures, too long for a line of output or a checkpoint's history
_BULKY = {"json": False}


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str]
    elapsed: float
    epoch: int
    step: int

    def to_json(self) -> dict:
        return {"type": self.type, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                                      if f.metadata.get("json", True)}}


@dataclass(frozen=True, kw_only=True)
class Start(Event):
    type: ClassVar[str] = "start"
    settings: dict
    device: str
    precision: str
    n_train: int
    n_val: int
    n_test: int
    steps_per_epoch: int
    total_steps: int
    parameters: int
    classes: list[str]


@dataclass(frozen=True, kw_only=True)
class _InEpoch(Event):
    epoch_progress: float  # the share of this epoch's steps done (1.0 at its end)

    @property
    def epochs_done(self) -> float:
        """Where the event falls on a curve's x axis (epochs)."""
        return self.epoch - 1 + self.epoch_progress


@dataclass(frozen=True, kw_only=True)
class Step(_InEpoch):
    type: ClassVar[str] = "step"
    loss: float  # the optimised loss (with label smoothing, if any)
    cross_entropy: float  # without label smoothing: comparable with the test loss
    accuracy: float
    images: int  # the training digits the running figures cover
    lr: float
    images_per_s: float
    eta: float  # seconds left, at this window's pace


@dataclass(frozen=True, kw_only=True)
class Eval(_InEpoch):  # at an epoch's end, or at one of the points inside the last epoch
    type: ClassVar[str] = "eval"
    split: str  # "val" or "test"
    loss: float
    accuracy: float
    confusion: list | None = field(default=None, metadata=_BULKY)  # test: rows true, columns predicted
    predictions: object = field(default=None, metadata=_BULKY)  # test: a uint8 tensor, one class per image


@dataclass(frozen=True, kw_only=True)
class EpochEnd(Event):
    type: ClassVar[str] = "epoch"
    train_loss: float
    train_accuracy: float
    lr: float
    test_loss: float
    test_accuracy: float
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass(frozen=True, kw_only=True)
class Done(Event):
    type: ClassVar[str] = "done"
    reason: str  # "finished" or "early-stopped"
    best_epoch: int
    test_loss: float
    test_accuracy: float
    test_n: int
    failed: bool  # it ended near chance accuracy: it learned nothing (lenet.training.trainer.run_outcome)
    failure: str | None
    evaluation: dict = field(metadata=_BULKY)  # the final model's test evaluation (lenet.evaluate.evaluate)


@dataclass(frozen=True, kw_only=True)
class Failed(Event):
    type: ClassVar[str] = "error"
    reason: str  # "nan" or "diverged"
    loss: float | None  # None for NaN, which JSON cannot hold
    message: str
