"""Run a generator in its own thread, at a lower CPU priority, and hand its items over in batches; readings first.

Why: in the app, a training run shares two cores with every visitor's readings. In its own thread the
run never waits for the UI to draw an update (the consumer takes whatever has piled up since its last
look), and at a higher nice value the OS runs visitors' short requests first. With nobody else on the
machine the run is as fast as ever: priority only matters when something else wants the CPU.

Threads: the app reads drawings at 1 torch thread (tiny work: as fast, and it starts no OpenMP workers) and
gives a run all the cores (`threads`). Kept so, the process never has more OpenMP threads than cores; when it
has, libgomp cuts the time an idle worker spins before it sleeps from 300,000 to 100 rounds, every parallel
region then pays a wake-up, and training ran a third slower (bench/training/train_stream.py).
"""
from __future__ import annotations

import contextvars
import os
import queue
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import torch

NICE = 10  # like `nice` on the command line
JOIN_TIMEOUT = 120.0  # s: a stopped run finishes its current step or evaluation, then its thread ends

_END = object()
_producer = threading.local()  # .yields: this thread is a background run that gives way to readings


class ReadersFirst:
    """While visitors' readings are in flight, a background run waits at its next optimiser step or forward pass.

    Why: a lower nice value is not enough. The run's thread holds Python's GIL between torch calls, and when the
    OS gives it little CPU (that is what nice 10 asks for) while it holds the GIL, every reading waits for it; with
    ten visitors reading, /read's p99 went from 43 ms idle to 643 ms while a run trained (issue 30). Here a run
    steps aside instead: readings mark themselves in flight (`reading()`), and the run, at its next step or batch
    of an evaluation, waits until none is, for at most `max_pause` s each time, so it still moves on under a
    continuous stream of readings, and then goes on for at least `every` s before it waits again (a forward pass
    asks once per layer). Threads other than background runs never wait.

    A run on several threads also drops to one while readings come, and takes its threads back `restore_after` s
    after the last one: each of its parallel regions waits for all its threads, and with a reading on one core,
    one of them waits for that core (measured under load on 2 cores: 10 epochs of the sample took 150-200 s at 2
    threads beside ten readers, 20-35 s at 1)."""

    def __init__(self, max_pause: float = 0.025, every: float = 0.025, restore_after: float = 1.0):
        self.max_pause, self.every, self.restore_after = max_pause, every, restore_after
        self._in_flight = 0
        self._idle = threading.Condition()
        self._last_reading = 0.0
        self.paused = 0.0  # s the runs spent waiting, in all (for benchmarks)

    @contextmanager
    def reading(self):
        if torch.get_num_threads() != 1:  # a run that took its threads back set that count for new threads too
            torch.set_num_threads(1)
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._last_reading = time.perf_counter()
                if not self._in_flight:
                    self._idle.notify_all()

    def give_way(self) -> None:
        """In a background run: wait (up to max_pause) while readings are in flight; elsewhere nothing."""
        if not getattr(_producer, "yields", False):
            return
        now = time.perf_counter()
        if not self._in_flight:
            if getattr(_producer, "reduced", False) and now - self._last_reading > self.restore_after:
                torch.set_num_threads(_producer.threads)
                _producer.reduced = False
            return
        if getattr(_producer, "threads", 1) > 1 and not getattr(_producer, "reduced", False):
            torch.set_num_threads(1)
            _producer.reduced = True
        if now - getattr(_producer, "last", 0.0) < self.every:
            return
        with self._idle:
            self._idle.wait_for(lambda: not self._in_flight, self.max_pause)
        _producer.last = time.perf_counter()
        self.paused += _producer.last - now


READERS_FIRST = ReadersFirst()
_hooks_installed = False


def _install_hooks() -> None:
    """Process-wide torch hooks (cheap when nothing waits): before every optimiser step and module call."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    from torch.nn.modules.module import register_module_forward_pre_hook
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    register_optimizer_step_pre_hook(lambda *_: READERS_FIRST.give_way())
    register_module_forward_pre_hook(lambda *_: READERS_FIRST.give_way())


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def lower_this_threads_priority(nice: int = NICE) -> None:
    """Raise the calling thread's nice value (Linux: per thread, inherited by the threads it starts, such
    as torch's OpenMP workers). Elsewhere, or where it is not allowed, nothing happens."""
    if not sys.platform.startswith("linux") or nice <= 0:
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:
        pass


def in_background(make: Callable[[], Iterator], nice: int = NICE, threads: int | None = None,
                  readers_first: bool = False) -> Iterator[list]:
    """Iterate `make()` in a daemon thread at lower priority; yield lists of the items produced since
    the last pull (at least one each). Its exceptions are re-raised here; closing this generator ends
    the producer at its next item and waits for it. With `threads`, the producer runs at that many torch
    threads while every other thread keeps the count the caller has. With `readers_first`, the producer
    gives way to readings in flight (ReadersFirst) at each optimiser step and forward pass."""
    if readers_first:
        _install_hooks()
    items: queue.Queue = queue.Queue()
    stop = threading.Event()
    ready = threading.Event()  # the producer has its thread count: the caller's may be put back
    callers = torch.get_num_threads()

    def produce():
        try:
            _producer.yields, _producer.reduced = readers_first, False
            lower_this_threads_priority(nice)
            if threads:
                # torch.set_num_threads also sets the count that threads not yet started will take; this thread
                # takes its own now (get_num_threads initialises it), and the caller puts the shared one back.
                torch.set_num_threads(threads)
            _producer.threads = torch.get_num_threads()
        finally:
            ready.set()
        source = None
        try:
            source = make()
            for item in source:
                items.put(item)
                if stop.is_set():
                    break
        except BaseException as e:  # handed to the consumer, which raises it
            items.put(_Failed(e))
        finally:
            if source is not None and hasattr(source, "close"):
                source.close()  # in this thread: the source's own clean-up runs where it ran
            items.put(_END)

    # The caller's context variables go along, as asyncio tasks get them: Gradio keeps its per-request state
    # (the request, the event id) in context variables, and code run in the producer, such as a ZeroGPU
    # `@spaces.GPU` wrapper, sees the same request.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(produce,), name="lenet-background", daemon=True)
    thread.start()
    ready.wait()
    if threads:
        torch.set_num_threads(callers)
    try:
        while True:
            batch = [items.get()]
            while not items.empty():
                batch.append(items.get())
            ended = next((k for k, item in enumerate(batch) if item is _END or isinstance(item, _Failed)), None)
            if ended is None:
                yield batch
                continue
            if batch[:ended]:
                yield batch[:ended]
            if isinstance(batch[ended], _Failed):
                raise batch[ended].error
            return
    finally:
        stop.set()
        thread.join(JOIN_TIMEOUT)
