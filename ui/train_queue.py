"""The Train tab's place in the training queue: one queue for all visitors (lenet.training.run_queue), what a
waiting visitor reads, a visitor's Stop, and leaving the queue when a run ends, is stopped or its page closes."""
from __future__ import annotations

import time

import gradio as gr

from lenet.present.icons import OK, WAIT
from lenet.training.run_queue import DurationModel, RunQueue
from ui.train_settings import TRAIN_CONCURRENCY

# The training queue: runs take turns on TRAIN_CONCURRENCY slots; every waiting page is told how many runs are
# ahead and when its own should start (lenet/training/run_queue.py). Shared by all visitors, as the slots are.
QUEUE = RunQueue(slots=TRAIN_CONCURRENCY)
DURATIONS = DurationModel()
POLL = 0.25  # s between a waiting page's looks at the queue (no thread held meanwhile)
TELL_EVERY = 1.0  # s between its status updates
WAITING = (f"### {WAIT} Asking for the training slot…\nRuns take turns: if other runs are going, this says how many are "
           "ahead of yours and when yours should start.")


def seconds_text(s: float) -> str:
    s = max(0, round(s))
    return f"{s} s" if s < 90 else f"{s // 60} min {s % 60:02d} s"


def queue_status(place, slots: int = 1) -> str:
    """What a waiting visitor reads: how many runs are ahead and when theirs should start."""
    runs = "1 run" if place.ahead == 1 else f"{place.ahead} runs"
    when = f"starts in about {seconds_text(place.starts_in)}" if place.starts_in >= 1 else "starts any moment now"
    turns = "one at a time" if slots == 1 else f"{slots} at a time"
    return (f"### {WAIT} {runs} ahead · {when}\nRuns take turns here ({turns}); the estimate comes from the runs "
            "ahead of yours and is updated as they go. **Stop** leaves the queue; so does closing this page.")


def started_note(waited: float) -> str:
    after = f" after waiting {seconds_text(waited)}" if waited >= 1 else ""
    return f'<div class="queue-note" id="queue-started">{OK} Your run has started{after}.</div>'


RUN_TAIL = 0.5  # s: after its last step event a run still evaluates the test set and ends
END = object()


def next_or_end(gen):
    try:
        return next(gen)
    except StopIteration:
        return END


def leave_queue(gen, entry, settings: dict, outcome: dict) -> None:
    try:
        # A cancel (API client, closed page) can land while a worker thread is inside next(gen): close it as soon
        # as that step returns (as Gradio closes a sync generator), so its run has ended before the place is free.
        deadline = time.monotonic() + 120
        while gen is not None:
            try:
                gen.close()
                break
            except ValueError as e:
                if "already executing" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        held = QUEUE.leave(entry)
        if outcome.get("done") and held:  # a run that ran to its end teaches the estimates
            DURATIONS.observe_run(settings, held)


class StopSignal:
    """A per-visitor Stop button: the training loop checks it between events and ends the run cleanly. It also
    keeps why this visitor's last run failed, for the status line once the error toast has gone."""

    def __init__(self):
        self.requested = False
        self.failure = ""

    def fail(self, message: str) -> gr.Error:
        """The reason goes to the status line (after_failure), once: no toast repeating it (visible=False still
        sends the message to API clients)."""
        self.failure = message
        return gr.Error(message, visible=False, print_exception=False)


def failed(signal: StopSignal | None, message: str) -> gr.Error:
    return signal.fail(message) if signal is not None else gr.Error(message)


def request_stop(signal: StopSignal) -> None:
    signal.requested = True
