"""lenet.training.background.in_background: a generator run in its own lower-priority thread, handed over in batches."""
from __future__ import annotations

import os
import sys
import threading
import time

import pytest
import torch

from lenet.training.background import in_background


def flatten(batches):
    return [item for batch in batches for item in batch]


def test_every_item_arrives_once_and_in_order():
    batches = list(in_background(lambda: iter(range(500))))
    assert flatten(batches) == list(range(500))
    assert all(batches), "no empty batches"


def test_items_produced_while_the_consumer_is_busy_arrive_together():
    go, produced = threading.Event(), threading.Event()

    def source():
        yield 0
        go.wait(10)
        yield from range(1, 20)
        produced.set()

    stream = in_background(source)
    assert next(stream) == [0]
    go.set()
    # The consumer is busy until the producer has handed over all 19 (it runs at a lower priority, so on a busy
    # machine a fixed pause could end first).
    assert produced.wait(10)
    assert list(stream) == [list(range(1, 20))]


def test_the_producers_exception_is_raised_in_the_consumer_after_its_items():
    def failing():
        yield 1
        yield 2
        raise KeyError("no such dataset")

    got = []
    with pytest.raises(KeyError, match="no such dataset"):
        for batch in in_background(failing):
            got += batch
    assert got == [1, 2]


def test_an_error_making_the_source_is_raised_too():
    def make():
        raise ValueError("bad settings")

    with pytest.raises(ValueError, match="bad settings"):
        list(in_background(make))


def test_closing_stops_the_producer_and_runs_its_clean_up():
    cleaned, produced = threading.Event(), []

    def endless():
        try:
            k = 0
            while True:
                produced.append(k)
                yield k
                k += 1
                time.sleep(0.01)
        finally:
            cleaned.set()

    stream = in_background(endless)
    next(stream)
    stream.close()  # returns once the producer has ended
    assert cleaned.is_set()
    n = len(produced)
    time.sleep(0.1)
    assert len(produced) == n, "the producer kept running after close()"


def test_the_callers_context_variables_are_seen_by_the_producer():
    import contextvars

    request = contextvars.ContextVar("request", default=None)

    def report():
        yield request.get()

    request.set("visitor-42")
    assert flatten(in_background(report)) == ["visitor-42"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are a Linux feature")
def test_the_producer_runs_at_a_lower_priority_than_the_caller():
    def report():
        yield os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    (theirs,) = flatten(in_background(report))
    assert theirs > mine or mine == 19


# ---------- threads=N: the producer trains on N torch threads, every other thread keeps its count ----------

def test_the_producer_gets_its_threads_and_the_rest_keep_theirs():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        def make():
            yield torch.get_num_threads()

        seen = flatten(in_background(make, nice=0, threads=2))
        assert seen == [2]  # the producer ran at 2
        assert torch.get_num_threads() == 1  # the caller is back at 1 ...
        later = []
        t = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        t.start()
        t.join()
        assert later == [1]  # ... and so is a thread started afterwards
    finally:
        torch.set_num_threads(before)


def test_without_threads_nothing_changes():
    before = torch.get_num_threads()
    seen = flatten(in_background(lambda: iter([torch.get_num_threads()]), nice=0))
    assert torch.get_num_threads() == before and len(seen) == 1


def test_a_run_gives_way_to_readings_in_flight_and_others_never_wait(monkeypatch):
    import time as _time

    from lenet.training.background import READERS_FIRST, ReadersFirst, in_background

    monkeypatch.setattr(READERS_FIRST, "every", 0.0)  # wait at every forward pass (not only once per 20 ms)
    layer = torch.nn.Linear(4, 4)
    x = torch.zeros(1, 4)

    def run():
        for _ in range(3):
            t = _time.perf_counter()
            layer(x)  # a forward pass: where a run gives way
            yield _time.perf_counter() - t

    with READERS_FIRST.reading():  # a reading in flight the whole time
        t = _time.perf_counter()
        layer(x)
        assert _time.perf_counter() - t < 0.02, "a thread that is not a background run waited"
        waits = [w for batch in in_background(run, nice=0, readers_first=True) for w in batch]
    assert all(w >= 0.8 * READERS_FIRST.max_pause for w in waits), waits  # each time, up to max_pause
    free = [w for batch in in_background(run, nice=0, readers_first=True) for w in batch]
    assert max(free) < 0.02, free  # nothing in flight: no wait

    gate = ReadersFirst(max_pause=5.0)
    import threading as _threading

    done = []

    def producer():
        from lenet.training import background
        background._producer.yields = True
        t = _time.perf_counter()
        gate.give_way()
        done.append(_time.perf_counter() - t)

    with gate.reading():
        th = _threading.Thread(target=producer)
        th.start()
        _time.sleep(0.1)
    th.join(5)
    assert done and 0.08 < done[0] < 1.0, done  # it went on as soon as the reading ended, not after 5 s


def test_a_run_on_several_threads_drops_to_one_while_readings_come(monkeypatch):
    from lenet.training.background import READERS_FIRST, in_background

    monkeypatch.setattr(READERS_FIRST, "restore_after", 0.0)
    layer = torch.nn.Linear(4, 4)

    def run():
        layer(torch.zeros(1, 4))
        yield torch.get_num_threads()
        with READERS_FIRST.reading():
            layer(torch.zeros(1, 4))
            yield torch.get_num_threads()
        time.sleep(0.01)
        layer(torch.zeros(1, 4))
        yield torch.get_num_threads()

    callers = torch.get_num_threads()
    seen = [n for batch in in_background(run, nice=0, threads=2, readers_first=True) for n in batch]
    assert seen == [2, 1, 2]
    torch.set_num_threads(callers)
