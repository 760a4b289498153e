"""What a run hands the app: `Trainer.run()`'s events paired with CPU weights, plain enough to cross back from a
GPU worker (ZeroGPU pickles them)."""
from __future__ import annotations

import time
from typing import Iterator

import torch

from lenet.training.config import TrainConfig
from lenet.training.events import Done, EpochEnd, Event, Failed, Step
from lenet.training.trainer import Trainer


def to_cpu_weights(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def train_stream(cfg: TrainConfig, weights_every: float = 0.5) -> Iterator[tuple[Event, dict | None]]:
    """`Trainer.run()`'s events as (event, CPU weights or None): how often weights leave training.

    Weights are attached every `weights_every` s of steps and to every epoch, done and error event. Only events
    (frozen dataclasses of numbers, lists and CPU tensors) and CPU state dicts come out: this is what may cross
    back from a GPU worker.
    """
    last = 0.0
    trainer = Trainer(cfg)
    for ev in trainer.run():
        now = time.perf_counter()
        attach = isinstance(ev, (Done, Failed, EpochEnd)) or (isinstance(ev, Step) and now - last >= weights_every)
        if attach:
            last = now
        yield ev, to_cpu_weights(trainer.model) if attach else None
