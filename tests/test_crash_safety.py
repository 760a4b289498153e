"""Crashes leave nothing broken: a process killed while writing a checkpoint leaves the old file or the new one,
never a broken one; the app stopped with Ctrl-C while a run trains exits cleanly."""
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from lenet.net.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent("""
    import sys, torch
    from lenet import LeNet, preset
    from lenet.net.checkpoint import save_checkpoint
    path = sys.argv[1]
    models = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        models.append(LeNet(preset("lenet5-bn")))  # the largest preset: ~4 MB per write
    print("ready", flush=True)
    i = 0
    while True:
        save_checkpoint(path, models[i % 2], {"arch": "lenet5-bn", "seed": 1 + i % 2})
        i += 1
""")


@pytest.mark.slow
def test_kill_during_writes_never_leaves_a_broken_checkpoint(tmp_path):
    path = tmp_path / "model.safetensors"
    seeds_seen = set()
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.15 + 0.23 * round_)  # land the kill at different points of the write cycle
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not path.exists():  # killed before the very first rename: nothing was ever published
            continue
        model, meta = load_checkpoint(path)  # must parse and validate completely
        assert meta["seed"] in (1, 2)
        torch.manual_seed(meta["seed"])
        from lenet import LeNet, preset
        expected = LeNet(preset("lenet5-bn")).state_dict()
        for k, v in model.state_dict().items():
            assert torch.equal(v, expected[k]), k
        seeds_seen.add(meta["seed"])
    assert seeds_seen, "the writer never completed a checkpoint; the test proved nothing"
    leftovers = [p for p in tmp_path.iterdir() if p.name != "model.safetensors"]
    # Temp files of an interrupted write may remain (the process was killed), but they are never the target.
    assert all(p.name.endswith(".tmp") for p in leftovers), leftovers


@pytest.mark.slow
def test_ctrl_c_while_a_run_trains_ends_the_app_cleanly():
    """`python app.py` stopped with Ctrl-C while a visitor's run is busy in torch in a worker thread exits 0,
    not with an abort ("terminate called without an active exception") from finalising under that thread."""
    from bench.common import free_port, start_app, wait_for_client

    port = free_port()
    proc = start_app(port, stderr=subprocess.PIPE)
    try:
        client = wait_for_client(f"http://127.0.0.1:{port}/")
        job = client.submit(epochs=30, batch_size=4, api_name="/train")  # far longer than this test
        deadline = time.monotonic() + 60
        while not job.outputs():  # the run is under way: torch is busy in the run's thread
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and "terminate called" not in err, (proc.returncode, err[-2000:])
