"""Who is training, who waits, and when each waiting visitor's run should start: the app's training queue.

Training runs take turns on a few slots (one by default). Every run that was asked for is an entry here, in the
order it was asked for: the first `slots` entries hold a slot, the others wait. Each entry carries its visitor
(one place per visitor: a second run while the first is queued or going is refused) and an estimate of how long
it will take, so a waiting visitor can be told how many runs are ahead and when theirs should start:

  * a run that holds a slot: what it said itself most recently ("about N s left", from its own step events,
    counted down since), or before its first event, its estimate less the time it has had;
  * a run that waits: its estimate from its settings (`DurationModel`: the images it will pass through, at the
    throughput this machine showed in runs so far, corrected by how far off past estimates were);
  * then the slots are handed out in order, as they will be, and the visitor's start is the time the first
    slot frees up after every run ahead of it has had one.

Entries leave when their run ends, is stopped or its page closes (the app's handler leaves in `finally`); an
entry that has not been heard from for `stale_after` seconds is dropped as well, so a place can never be held
by a page that went away without saying so. Thread-safe: one lock, and a condition waiters can block on.

No gradio here: the app's Train tab (ui/train.py) uses it, and tests drive it with a fake clock.
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from lenet.sources.mix import BATCH, SOURCES, learned

# Throughput this machine is assumed to train at before it has measured any run (images/s at batch 256; the
# 2-core AVX2 EPYC this was written on: lenet5 ~9,000/s, the paper's model about half of that, the 32/64-channel
# "improved" model a tenth). Replaced by what the runs themselves report.
PRIOR_RATE = {"lenet5": 9000.0, "lenet5-1998": 4500.0, "improved": 900.0}
FALLBACK_RATE = 4000.0
EVAL_COST = 0.35  # one test image evaluated costs about this share of one training image (no backward pass)
START_COST = 1.5  # s: loading the data and building the model before the first step, and the end of a run
TRAIN_SIZES = {"mnist": (60000, 10000), "fashion-mnist": (60000, 10000), "mnist-sample": (4000, 1000),
               "fashion-mnist-sample": (2000, 500)}
SMOOTHING = 0.3  # weight of the newest observation in the running averages


class AlreadyQueued(RuntimeError):
    """This visitor already has a run queued or going."""


def work_of(settings: dict) -> float:
    """The training-image equivalents a run with these settings passes through (TrainConfig fields as a dict)."""
    n_train, n_test = TRAIN_SIZES.get(settings.get("dataset", "mnist"), (60000, 10000))
    epochs = int(settings.get("epochs", 2))
    per_epoch = n_train * (1 - float(settings.get("val_split", 0.0)))
    extra = sum(share for name, share in learned(settings).items() if SOURCES[name].kind == BATCH)  # per digit
    evals = n_test * (epochs + int(settings.get("final_evals", 4)) - 1) + n_train * float(settings.get("val_split", 0))
    return per_epoch * epochs * (1 + extra) + EVAL_COST * evals


class DurationModel:
    """How long a run should take on this machine, learned from the runs it has seen. Thread-safe."""

    def __init__(self, prior_rate: dict | None = None, start_cost: float = START_COST):
        self._lock = threading.Lock()
        self.rate = dict(PRIOR_RATE if prior_rate is None else prior_rate)  # images/s per architecture
        self.start_cost = start_cost
        self.factor = 1.0  # actual / predicted for runs that ran to their end

    def estimate(self, settings: dict) -> float:
        with self._lock:
            rate = self.rate.get(settings.get("arch", "lenet5"), FALLBACK_RATE)
            return self.factor * (self.start_cost + work_of(settings) / rate)

    def observe_rate(self, arch: str, images_per_s: float) -> None:
        """A step event's throughput (what the running run measured just now, under whatever else is running)."""
        if not images_per_s or images_per_s <= 0:
            return
        with self._lock:
            old = self.rate.get(arch)
            self.rate[arch] = images_per_s if old is None else (1 - SMOOTHING) * old + SMOOTHING * images_per_s

    def observe_run(self, settings: dict, seconds: float) -> None:
        """A run that ran to its end took `seconds` from taking its slot: later estimates are corrected by how far
        off this one's would have been (the start-up, evaluations and contention a rate alone misses)."""
        if seconds <= 0:
            return
        with self._lock:
            rate = self.rate.get(settings.get("arch", "lenet5"), FALLBACK_RATE)
            predicted = self.start_cost + work_of(settings) / rate
            ratio = min(4.0, max(0.25, seconds / predicted))
            self.factor = (1 - SMOOTHING) * self.factor + SMOOTHING * ratio


@dataclass
class Entry:
    ticket: int
    visitor: str
    estimate: float  # s: the whole run, from its settings
    joined: float
    seen: float  # last heard from (a waiting page polls, a running run reports)
    started: float | None = None
    left: float | None = None  # s left, as the run itself last said ...
    left_at: float = 0.0  # ... at this time
    progress: float | None = None  # ... when it had done this share of its work
    label: str = ""

    def remaining(self, now: float) -> float:
        """Seconds this entry still needs: all of its estimate while it waits. A running run's own figure
        (its elapsed time scaled by the work left: early on, its slow first steps are scaled up many times) is
        trusted as far as the run has gone: weighted by its progress against its estimate less the time it has
        had."""
        if self.started is None:
            return self.estimate
        by_estimate = max(0.0, self.estimate - (now - self.started))
        if self.left is None:
            return by_estimate
        by_run = max(0.0, self.left - (now - self.left_at))
        w = 1.0 if self.progress is None else min(1.0, max(0.0, self.progress))
        return w * by_run + (1 - w) * by_estimate


@dataclass(frozen=True)
class Place:
    """Where a run stands: `ahead` runs before it (running or waiting), `starts_in` seconds (0 once it runs)."""
    ahead: int
    starts_in: float
    running: bool
    waiting_total: int = 0  # runs waiting, this one included when it waits


@dataclass
class RunQueue:
    slots: int = 1
    stale_after: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _entries: list = field(default_factory=list)
    _tickets: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self):
        if self.slots < 1:
            raise ValueError(f"slots must be at least 1, got {self.slots}")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    # ---- joining and leaving ----

    def join(self, visitor: str, estimate: float, label: str = "") -> Entry:
        """A new run at the end of the queue. Raises AlreadyQueued if this visitor already has one."""
        with self._lock:
            now = self.clock()
            self._prune(now)
            for e in self._entries:
                if e.visitor == visitor:
                    raise AlreadyQueued("you already have a run " + ("going" if e.started is not None else "queued")
                                        + ": stop it first (or wait for it to end)")
            entry = Entry(next(self._tickets), visitor, float(estimate), joined=now, seen=now, label=label)
            self._entries.append(entry)
            self._admit(now)
            self._changed.notify_all()
            return entry

    def leave(self, entry: Entry) -> float | None:
        """The run ended, was stopped, or its page went away. Returns how long it held a slot (None if never)."""
        with self._lock:
            now = self.clock()
            if entry in self._entries:
                self._entries.remove(entry)
            self._admit(now)
            self._changed.notify_all()
            return None if entry.started is None else now - entry.started

    # ---- the waiting side ----

    def wait_turn(self, entry: Entry, timeout: float) -> bool:
        """Block up to `timeout` s for this entry to hold a slot (counts as being heard from). True when it does."""
        with self._lock:
            deadline = self.clock() + timeout
            while True:
                entry.seen = self.clock()
                self._prune(entry.seen)
                if entry not in self._entries:
                    raise LookupError("this run is no longer in the queue")
                if entry.started is not None:
                    return True
                left = deadline - self.clock()
                if left <= 0:
                    return False
                self._changed.wait(left)

    def has_slot(self, entry: Entry) -> bool:
        with self._lock:
            now = entry.seen = self.clock()
            self._prune(now)
            if entry not in self._entries:
                raise LookupError("this run is no longer in the queue")
            return entry.started is not None

    def place(self, entry: Entry) -> Place:
        """How many runs are ahead of this one and in about how many seconds it should start."""
        with self._lock:
            now = self.clock()
            self._prune(now)
            if entry not in self._entries:
                raise LookupError("this run is no longer in the queue")
            if entry.started is not None:
                return Place(0, 0.0, True, self._waiting())
            ahead = self._entries[:self._entries.index(entry)]
            running = [e for e in ahead if e.started is not None]
            free_at = sorted([e.remaining(now) for e in running] + [0.0] * (self.slots - len(running)))
            for e in ahead:
                if e.started is None:  # it takes the first slot to free up, and holds it for its estimate
                    free_at[0] += e.estimate
                    free_at.sort()
            return Place(len(ahead), free_at[0], False, self._waiting())

    def revise(self, entry: Entry, estimate: float) -> None:
        """A waiting run's estimate again (the machine's pace, as measured since it joined, has changed)."""
        with self._lock:
            entry.seen = self.clock()
            entry.estimate = float(estimate)

    # ---- the running side ----

    def report(self, entry: Entry, seconds_left: float | None = None, progress: float | None = None,
               estimate: float | None = None) -> None:
        """A running run's own estimate of the time it has left, with the share of its work done (None: just
        alive); `estimate`: its whole duration again, from the pace measured so far."""
        with self._lock:
            now = self.clock()
            entry.seen = now
            if seconds_left is not None and seconds_left >= 0:
                entry.left, entry.left_at, entry.progress = float(seconds_left), now, progress
            if estimate is not None:
                entry.estimate = float(estimate)

    # ---- for status lines and tests ----

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def counts(self) -> tuple[int, int]:
        """(running, waiting)."""
        with self._lock:
            running = sum(e.started is not None for e in self._entries)
            return running, len(self._entries) - running

    # ---- inside the lock ----

    def _waiting(self) -> int:
        return sum(e.started is None for e in self._entries)

    def _admit(self, now: float) -> None:
        """Hand free slots to the oldest waiting entries."""
        for e in self._entries[:self.slots]:
            if e.started is None:
                e.started = now

    def _prune(self, now: float) -> None:
        stale = [e for e in self._entries if now - e.seen > self.stale_after]
        for e in stale:
            self._entries.remove(e)
        if stale:
            self._admit(now)
            self._changed.notify_all()
