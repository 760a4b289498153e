"""What a run looked like as it learned: a bounded list of snapshots (no UI framework).

Each snapshot keeps only what the Train tab shows: the C1 kernels, the pinned digit's ten probabilities
and the latest test evaluation (confusion matrix + one uint8 prediction per test image). That is a few
KB per snapshot (~13 KB with full MNIST's 10,000 predictions, shared by the snapshots of one epoch), and
at most MAX_SNAPSHOTS are kept: older ones are thinned out two to one, so a run of any length stays
under ~2 MB per visitor.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_SNAPSHOTS = 120


@dataclass(frozen=True)
class EvalSnapshot:
    epoch: float
    accuracy: float
    confusion: np.ndarray  # (K, K) int: rows true class, columns class read
    predictions: np.ndarray | None  # (N,) uint8: the class read for each test image, in the split's order

    @property
    def nbytes(self) -> int:
        return self.confusion.nbytes + (0 if self.predictions is None else self.predictions.nbytes)


@dataclass(frozen=True)
class Snapshot:
    epoch: float  # fractional epochs done
    step: int
    kernels: np.ndarray  # (C, 5, 5) float32: C1's weights
    probs: np.ndarray | None  # (K,) the pinned digit's probabilities, or None without a pinned digit
    evaluation: EvalSnapshot | None  # the latest test evaluation at that time
    final: bool = False  # the finished model (after the run's end)


@dataclass
class Pinned:
    """The digit read at every model update: the visitor's drawing or a test image."""
    image: np.ndarray  # (28, 28) float in [0, 1], ink bright
    title: str  # "your drawing" / "test digit #12"
    label: str | None = None  # the true class, for a test image


@dataclass
class RunHistory:
    dataset: str
    classes: list[str]
    pinned: Pinned | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    evaluation: EvalSnapshot | None = None  # the latest, attached to the snapshots that follow it

    def add_eval(self, epoch: float, accuracy: float, confusion, predictions=None) -> EvalSnapshot:
        preds = None if predictions is None else np.asarray(predictions, dtype=np.uint8)
        self.evaluation = EvalSnapshot(float(epoch), float(accuracy), np.asarray(confusion, dtype=np.int32), preds)
        return self.evaluation

    def add(self, epoch: float, step: int, kernels: np.ndarray, probs: np.ndarray | None,
            final: bool = False, epoch_end: bool = False) -> Snapshot:
        snap = Snapshot(float(epoch), int(step), np.array(kernels, dtype=np.float32),
                        None if probs is None else np.array(probs, dtype=np.float32), self.evaluation, final)
        self.snapshots.append(snap)
        if len(self.snapshots) > MAX_SNAPSHOTS:
            self._thin()
        return snap

    def _thin(self) -> None:
        """Drop every second snapshot, keeping the first, the last and each epoch's evaluation change."""
        snaps, keep = self.snapshots, []
        for i, s in enumerate(snaps):
            changed = i > 0 and s.evaluation is not snaps[i - 1].evaluation
            if i % 2 == 0 or i == len(snaps) - 1 or changed or s.final:
                keep.append(s)
        if len(keep) > MAX_SNAPSHOTS:  # evaluations on every snapshot: thin plainly
            keep = keep[::2] + ([keep[-1]] if len(keep) % 2 == 0 else [])
        self.snapshots = keep

    def nbytes(self) -> int:
        """Memory held (arrays only; each evaluation counted once)."""
        evals = {id(s.evaluation): s.evaluation for s in self.snapshots if s.evaluation is not None}
        return (sum(s.kernels.nbytes + (0 if s.probs is None else s.probs.nbytes) for s in self.snapshots)
                + sum(e.nbytes for e in evals.values()))

    def __len__(self) -> int:
        return len(self.snapshots)
