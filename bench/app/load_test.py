"""Load: 20 concurrent API clients x 50 /predict calls while one training run streams.

In one run against `python app.py` (its own process, as in production):
  1. idle: a single client, 100 calls, nothing else running;
  2. a training run is started through /train (full MNIST if LENET_DATA_DIR is set, else the bundled
     sample) and streams for the rest of the run;
  3. back-to-back: 20 clients, each sending its next call as soon as the last one is answered;
  4. paced: 20 clients, each calling once every --interval seconds (a person drawing: a reading per
     stroke), starts spread over the first interval.
Prints p50 / p99, errors and throughput for each, and p99 / idle p99 (goal: 0 errors, at most 3x).

The clients speak Gradio's documented HTTP API (upload the PNG, POST /gradio_api/call/predict, read
the result stream), each with its own connection and session, like gradio_client. gradio_client
itself is not used: it opens a new TLS-ready HTTP client for every request (~137 ms of CPU per call
here), so 20 of them on this 2-core machine measure the load generator (it tops out at ~7 req/s),
not the app.

Back-to-back load saturates the server, and then by Little's law latency = clients / throughput
whatever the app does: with --floor the same phases run against a do-nothing Gradio app
(Sketchpad -> Label, constant answer) for comparison.

    python -m bench.app.load_test [--clients 20] [--calls 50] [--interval 1.0] [--floor]

Result (2026-11-22, 2 vCPU, LENET_DATA_DIR set: full-MNIST training streaming throughout):
    idle 1 client           p50 17-20 ms, p99 20-24 ms
    20 back-to-back         0 errors, p50 ~400 ms, p99 530-630 ms = 25-27x idle p99, 45-55 req/s
    20 paced (1 call/s)     0 errors, p50 22-25 ms, p99 38-43 ms = 1.8-2.1x idle p99  (last 4 runs)
    do-nothing app (--floor, no training): back-to-back 72 req/s, p99 16-20x idle; paced 1.3x
Back-to-back, the ratio is set by Little's law (a do-nothing app gets 16-25x too); paced, the goal is
met. Before training moved to its own low-priority thread, OpenMP threads stopped spinning and the
start-up heap was frozen out of the garbage collector, paced p99 was 7.2x and back-to-back 33 req/s.
"""
import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (ApiClient, canvas_png, free_port, ms, pct, rss_mb, start_app, start_training_visitor,
                    wait_for_client)

async def phase(url, png, clients, calls, interval=0.0):
    latencies, errors = [], []
    t = time.perf_counter()
    await asyncio.gather(*[ApiClient(url, png).run(calls, latencies, errors, interval, interval * i / clients)
                           for i in range(clients)])
    return latencies, errors, time.perf_counter() - t


def measure(proc, url, png, args, train: bool) -> None:
    wait_for_client(url).close()
    asyncio.run(phase(url, png, 1, 10))  # warm-up
    idle, idle_err, _ = asyncio.run(phase(url, png, 1, 100))
    print(f"  idle, 1 client:      {ms(idle)}  errors {len(idle_err)}")
    job = trainer = None
    if train:
        trainer, job, dataset = start_training_visitor(url)
        print(f"  training on {dataset} started ({len(job.outputs())} updates so far)")
    try:
        for name, interval in (("back-to-back", 0.0), (f"paced 1/{args.interval:g}s", args.interval)):
            lat, err, wall = asyncio.run(phase(url, png, args.clients, args.calls, interval))
            ratio = pct(lat, 99)[0] / pct(idle, 99)[0] if lat else float("nan")
            print(f"  {args.clients} clients {name:13s} {ms(lat)}  errors {len(err)}  {len(lat) / wall:5.1f} req/s  "
                  f"p99 = {ratio:.1f}x idle p99  (RSS {rss_mb(proc.pid):.0f} MB)")
            for e in err[:3]:
                print("    error:", e)
        if job is not None:
            print(f"  training still streaming at the end: {not job.done()} ({len(job.outputs())} updates)")
    finally:
        if job is not None:
            job.cancel()
            trainer.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between a paced client's calls")
    p.add_argument("--floor", action="store_true", help="also run the phases against a do-nothing app")
    args = p.parse_args()
    png = canvas_png(Path(tempfile.mkdtemp()), 3)[0].read_bytes()
    targets = [("app.py", [sys.executable, "app.py"], True)]
    if args.floor:
        targets.append(("do-nothing app (no training)", [sys.executable, "-m", "bench.app.floor_app"], False))
    for name, cmd, train in targets:
        port = free_port()
        print(f"{name}:")
        proc = start_app(port, env={"LENET_MAX_EPOCHS": "500"}, cmd=cmd)  # a run that outlasts the measurement
        try:
            measure(proc, f"http://127.0.0.1:{port}/", png, args, train)
        finally:
            proc.terminate()
            proc.wait()
    print("goal: 0 errors and p99 <= 3x idle p99 with training streaming")


if __name__ == "__main__":
    main()
