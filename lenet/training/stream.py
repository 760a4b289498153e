"""What a run hands the app: `Trainer.run()`'s events paired with CPU weights, plain enough to cross back from a
GPU worker (ZeroGPU pickles them)."""
from __future__ import annotations

import time
from typing import Iterator

import torch

from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer


def to_cpu_weights(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def train_stream(cfg: TrainConfig, weights_every: float = 0.5) -> Iterator[tuple[dict, dict | None]]:
    """`Trainer.run()`'s events as (event, CPU weights or None): how often weights leave training.

    Weights are attached every `weights_every` s of steps and to every epoch, done and error event. A
    test "eval" event also carries that evaluation's confusion matrix and per-image predictions (uint8),
    so a UI can show how the test set is read as the model learns. Only plain dicts and CPU tensors come
    out: this is what may cross back from a GPU worker.
    """
    trainer = Trainer(cfg)
    last = 0.0
    for ev in trainer.run():
        now = time.perf_counter()
        attach = ev["type"] in ("done", "error", "epoch") or (ev["type"] == "step" and now - last >= weights_every)
        if attach:
            last = now
        if ev["type"] == "eval" and ev.get("split") == "test" and "confusion" not in ev:
            ev = {**ev, **_test_readings(trainer)}
        yield ev, to_cpu_weights(trainer.model) if attach else None


def _test_readings(trainer: Trainer) -> dict:
    """The last test evaluation's confusion and predictions, when it covered the whole test split."""
    final = trainer.final or {}
    predictions = final.get("predictions")
    if predictions is None or len(predictions) != len(trainer.test):
        return {}
    return {"confusion": final["confusion"], "predictions": torch.tensor(predictions, dtype=torch.uint8)}
