"""lenet.training.run_queue: places, start estimates, one place per visitor, stale places, and many threads at once."""
from __future__ import annotations

import threading
import time

import pytest

from lenet.training.run_queue import AlreadyQueued, DurationModel, RunQueue, work_of


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_first_run_starts_at_once_and_the_next_waits_for_what_it_says_is_left():
    clock = Clock()
    q = RunQueue(clock=clock)
    a = q.join("alice", estimate=30)
    b = q.join("bob", estimate=20)
    assert q.has_slot(a) and not q.has_slot(b)
    assert q.place(a).running
    place = q.place(b)
    assert (place.ahead, place.starts_in, place.running) == (1, 30, False)
    clock.now += 10  # counted down from its estimate while it has said nothing
    assert q.place(b).starts_in == pytest.approx(20)
    q.report(a, seconds_left=5)  # then what the run says wins
    assert q.place(b).starts_in == pytest.approx(5)
    q.report(a, seconds_left=40, progress=0.25)  # early on, its figure counts for its share of the work done
    assert q.place(b).starts_in == pytest.approx(0.25 * 40 + 0.75 * 20)
    q.report(a, seconds_left=5, progress=1.0)
    clock.now += 2
    assert q.place(b).starts_in == pytest.approx(3)
    clock.now += 10  # it overran: "any moment now", never negative
    assert q.place(b).starts_in == 0
    assert q.leave(a) == pytest.approx(22)  # it held the slot 22 s
    assert q.has_slot(b) and q.place(b) .ahead == 0


def test_waiting_runs_add_their_estimates_in_order():
    clock = Clock()
    q = RunQueue(clock=clock)
    _, b, c = q.join("a", 30), q.join("b", 20), q.join("c", 10)
    assert [q.place(e).ahead for e in (b, c)] == [1, 2]
    assert q.place(c).starts_in == pytest.approx(50)
    assert q.counts() == (1, 2)
    q.revise(b, 25)  # the machine turned out slower: b says so, and c hears it
    assert q.place(c).starts_in == pytest.approx(55)
    q.leave(b)  # b stopped while waiting: c moves up
    assert (q.place(c).ahead, q.place(c).starts_in) == (1, 30)
    assert q.leave(b) is None  # leaving twice is harmless


def test_two_slots_hand_out_in_order():
    clock = Clock()
    q = RunQueue(slots=2, clock=clock)
    a, b, c, d = q.join("a", 30), q.join("b", 10), q.join("c", 40), q.join("d", 5)
    assert q.has_slot(a) and q.has_slot(b) and not q.has_slot(c)
    assert q.place(c).starts_in == pytest.approx(10)  # b's slot frees first
    assert q.place(d).starts_in == pytest.approx(30)  # then a's (c took b's slot until 50)
    q.leave(b)
    assert q.has_slot(c) and not q.has_slot(d)


def test_a_visitor_holds_one_place():
    q = RunQueue(clock=Clock())
    a = q.join("alice", 10)
    with pytest.raises(AlreadyQueued, match="going"):
        q.join("alice", 10)
    q.join("bob", 10)
    with pytest.raises(AlreadyQueued, match="queued"):
        q.join("bob", 10)
    q.leave(a)
    q.join("alice", 10)  # after the run ends, a new one is fine
    assert len(q) == 2


def test_a_place_nobody_keeps_alive_is_dropped():
    clock = Clock()
    q = RunQueue(clock=clock, stale_after=5)
    a, b = q.join("a", 100), q.join("b", 10)
    clock.now += 3
    q.report(a)  # the running run says it is alive; b's page went away without a word
    clock.now += 3
    c = q.join("c", 10)
    assert q.place(c).ahead == 1 and len(q) == 2
    with pytest.raises(LookupError):
        q.place(b)
    clock.now += 6  # and a running run that stops reporting frees its slot
    assert q.has_slot(c)


def test_wait_turn_wakes_when_the_slot_frees():
    q = RunQueue()
    a, b = q.join("a", 1), q.join("b", 1)
    assert q.wait_turn(a, 0) and not q.wait_turn(b, 0.01)
    woke = []
    t = threading.Thread(target=lambda: woke.append(q.wait_turn(b, 5)))
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    q.leave(a)
    t.join(5)
    assert woke == [True] and time.monotonic() - t0 < 1
    q.leave(b)
    with pytest.raises(LookupError):
        q.wait_turn(b, 0)


def test_many_threads_at_once_keep_one_slot_and_fifo_order():
    q = RunQueue()
    order, holding, worst = [], [0], [0]
    lock = threading.Lock()

    def visitor(i):
        e = q.join(f"v{i}", 0.01)
        while not q.wait_turn(e, 0.05):
            q.place(e)
        with lock:
            holding[0] += 1
            worst[0] = max(worst[0], holding[0])
            order.append(e.ticket)
        time.sleep(0.002)
        with lock:
            holding[0] -= 1
        q.leave(e)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert worst[0] == 1 and len(order) == 40 and order == sorted(order) and len(q) == 0


def test_durations_scale_with_the_work_and_learn_from_runs():
    m = DurationModel(prior_rate={"lenet5": 10000.0}, start_cost=1.0)
    small = {"arch": "lenet5", "dataset": "mnist-sample", "epochs": 10}
    big = {"arch": "lenet5", "dataset": "mnist", "epochs": 2}
    assert work_of(big) > work_of(small) > 40000
    assert work_of({**big, "mix": (("negatives", 0.25),)}) == work_of({**big, "negatives": True}) > work_of(big)
    assert m.estimate(big) == pytest.approx(1 + work_of(big) / 10000)
    m.observe_rate("lenet5", 5000.0)  # this machine is slower than assumed
    slower = m.estimate(big)
    assert slower > 1 + work_of(big) / 10000
    m.observe_run(big, 2 * slower)  # and the whole run took longer still: later estimates move towards it
    assert slower < m.estimate(big) < 2 * slower
    assert m.estimate({"arch": "unknown", "dataset": "mnist", "epochs": 1}) > 0


@pytest.mark.slow  # three app imports in their own processes
def test_class_mode_sets_the_train_tabs_defaults():
    """LENET_CLASS_MODE=1: the bundled sample, at most 10 epochs, one training thread; each can still be set."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("from ui import train_settings as t\n"
            "print(t.CLASS_MODE, t.DEFAULT_DATASET, t.MAX_EPOCHS, t.TRAIN_THREADS)\n")
    root = Path(__file__).resolve().parents[1]

    def run(**env):
        out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300,
                             env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **env})
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.split()

    assert run(LENET_CLASS_MODE="1") == ["True", "mnist-sample", "10", "1"]
    assert run(LENET_CLASS_MODE="1", LENET_MAX_EPOCHS="5", LENET_TRAIN_THREADS="2")[2:] == ["5", "2"]
    assert run(LENET_CLASS_MODE="0")[0] == "False"
