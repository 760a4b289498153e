"""Live training in the app vs the CLI on the same settings: curve refresh rate and slowdown.

(1) the CLI's path: Trainer(cfg).run() consumed in-process; (2) the app's /train endpoint on a
running `python app.py`, streamed with gradio_client: how often updates arrive (the curves refresh
on every update) and how long the same run takes. Goal: >= 2 refreshes/s, slowdown <= ~10%.

    LENET_DATA_DIR=../shared/data python bench/train_stream.py [--epochs 2]

Result (2026-11-22, 2 vCPU, full MNIST, 3 runs): 4.1 refreshes/s; CLI 11.5-12.0 s, app 13.2-13.9 s:
+12 to +19%. Part of it is OpenMP: the app sets OMP_WAIT_POLICY=PASSIVE (idle threads sleep, not
spin, which halves the CPU of each reading); with PASSIVE for both, the CLI took 13.4-13.6 s and
the app +1 to +15%. The run machine is noisy: single runs varied by +-20%.
"""
import argparse
import os
import time

import numpy as np

from common import free_port, start_app, wait_for_client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()
    from lenet.train import TrainConfig, Trainer

    dataset = "mnist" if os.environ.get("LENET_DATA_DIR") else "mnist-sample"
    settings = dict(arch="lenet5", dataset=dataset, epochs=args.epochs)

    trainer = Trainer(TrainConfig(**settings))
    t0 = time.perf_counter()
    for ev in trainer.run():
        pass
    cli = time.perf_counter() - t0
    print(f"CLI path: {cli:.1f} s for {args.epochs} epochs of {dataset} (data loading excluded); "
          f"test accuracy {ev['test_accuracy']:.2%}")

    port = free_port()
    proc = start_app(port)
    try:
        client = wait_for_client(f"http://127.0.0.1:{port}/")
        job = client.submit(**settings, api_name="/train")
        stamps, seen = [], 0
        while not job.done():
            n = len(job.outputs())
            if n > seen:
                stamps += [time.perf_counter()] * (n - seen)
                seen = n
            time.sleep(0.02)
        outs = job.outputs()
        stamps += [time.perf_counter()] * (len(outs) - seen)
        client.close()
    finally:
        proc.terminate()
        proc.wait()
    status = [o[0] for o in outs]
    # Time the app spent training: from the first update that reports training to the final one.
    first = next(i for i, s in enumerate(status) if "Training" in s or "step" in s)
    gaps = np.diff(stamps[first:])
    app_time = stamps[-1] - stamps[first]
    print(f"app /train: {len(outs)} streamed updates; training span {app_time:.1f} s; "
          f"{(len(outs) - first) / app_time:.1f} curve refreshes/s (median gap {np.median(gaps) * 1000:.0f} ms, "
          f"max {gaps.max() * 1000:.0f} ms)")
    print(f"slowdown vs CLI: {100 * (app_time / cli - 1):+.1f}%  (goal <= ~10%)")
    print("final status:", " ".join(status[-1].split())[:160])


if __name__ == "__main__":
    main()
