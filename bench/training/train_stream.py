"""Live training in the app, with every live view on, vs the CLI on the same settings.

(1) the CLI's path: Trainer(cfg).run() consumed in-process;
(2) the app's train() handler in-process (no server): every update builds the curves (SVG), and every model
    update re-reads the pinned test digit, redraws the C1 kernels and keeps a snapshot; each test evaluation
    redraws the confusion table. Prints the handler's own time per update and the snapshots' memory;
(3) the app's /train endpoint on a running `python app.py`, streamed with gradio_client: how often updates
    arrive, how often the watch panel (pinned digit + kernels) changes, and how long the same run takes.
Goal: >= 2 UI updates/s, slowdown <= ~10%, snapshots bounded.

    LENET_DATA_DIR=../shared/data python -m bench.training.train_stream [--epochs 2] [--repeats 3]

Result (2026-11-30 04:14, 2 vCPU, load 0.6-1.4, full MNIST, the 2-epoch default recipe, 3 runs): /train
5.2-5.6 s vs the CLI 4.9 s (median +6.2%), 6.0 UI updates/s, watch panel 2.0/s, 5 confusion refreshes,
14 snapshots, 61 KB. The handler in-process is +29%: here this process's main thread has trained at 2 threads
too, so it holds a second OpenMP team (more OpenMP threads than cores: libgomp throttles spinning; see
lenet/training/background.py); in the app the main thread never trains. Before the app read at 1 thread and trained on
all cores (it set OMP_WAIT_POLICY=PASSIVE instead), the same /train took 14.2-16.8 s at load 2-5 on the older
3-epoch recipe, and a 1-epoch run in the app's thread took 4.0 s against 3.0 s now.
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch

from bench.common import bench_dataset, free_port, start_app, wait_for_client

CORES = torch.get_num_threads()  # importing app sets this process to 1 thread; the CLI path gets them all back

TRAIN_OUT = {"status": 0, "loss": 1, "error": 2, "watch": 3, "confusion": 4}


def changed(value) -> bool:
    return not (isinstance(value, dict) and set(value) <= {"__type__", "props"})


def cli_run(settings) -> float:
    from lenet.training.config import TrainConfig
    from lenet.training.trainer import Trainer

    torch.set_num_threads(CORES)
    trainer = Trainer(TrainConfig(**settings))  # data loading excluded, as in the app's "Training" span
    t0 = time.perf_counter()
    for ev in trainer.run():
        pass
    return time.perf_counter() - t0


def handler_run(settings) -> dict:
    """TrainTab.run consumed in-process: the app's whole per-update work without a browser or server."""
    import app
    from lenet.present.train_view import WATCH_TEST
    from lenet.training.config import recipe
    from ui.train_queue import StopSignal

    d = recipe()  # the same defaults as the CLI path and /train
    gen = app.train_tab.run(settings["arch"], settings["dataset"], settings["epochs"], d.batch_size, d.lr,
                            d.optimizer, d.schedule, d.augment, d.val_split, d.seed, "auto", watch_what=WATCH_TEST,
                            watch_class="7", signal=StopSignal())
    n, n_watch, history, t0 = 0, 0, None, None
    for out in gen:
        n += 1
        if t0 is None and "Training ·" in str(out.get(app.train_tab.status, "")):
            t0 = time.perf_counter()
        n_watch += app.train_tab.watch in out
        history = out.get(app.train_tab.run_history, history)
    return {"updates": n, "watch_updates": n_watch, "span": time.perf_counter() - t0, "history": history}


def render_cost(history, repeats: int = 50) -> dict:
    """ms to build each live view once, with full-size data: the UI thread's work per update."""
    import torch

    from lenet.reading.inference import LoadedModel, read
    from lenet.net.model import LeNet
    from lenet.net.config import preset
    from lenet.training.config import TrainConfig
    from lenet.present import train_view, watch_view

    view = train_view.TrainView(TrainConfig(dataset="mnist", epochs=30))
    for k in range(1200):  # a long run: 400 points drawn per series after thinning
        view.add({"type": "step", "epoch": 1 + k // 40, "epoch_progress": (k % 40 + 1) / 40, "step": k,
                  "loss": 2.0 / (k + 1), "accuracy": 1 - 1 / (k + 2)})
    lm = LoadedModel.from_model(LeNet(preset("lenet5")), {"arch": "lenet5", "dataset": "mnist"})
    weights = {k: v.clone() for k, v in lm.model.state_dict().items()}
    jobs = {"curves": lambda: (view.loss_html(), view.error_html()),
            "model + reading + kernels": lambda: (read(view.model(weights), history.pinned.image),
                                                  watch_view.kernels_of(lm)),
            "watch panel": lambda: watch_view.watch_html(history),
            "confusion table": lambda: watch_view.confusion_view(history)}
    out = {}
    with torch.inference_mode():
        for name, job in jobs.items():
            t = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                job()
                t.append(time.perf_counter() - t0)
            out[name] = 1000 * statistics.median(t)
    return out


def server_run(port, settings) -> dict:
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
    status = [o[0] if changed(o[0]) else "" for o in outs]
    first = next(i for i, s in enumerate(status) if "Training" in s or "step" in s)
    span = stamps[-1] - stamps[first]
    watch = [k for k, o in enumerate(outs) if k >= first and changed(o[TRAIN_OUT["watch"]])]
    confusion = [k for k, o in enumerate(outs) if changed(o[TRAIN_OUT["confusion"]]) and "<table" in o[4]]
    gaps = np.diff(stamps[first:])
    return {"updates": len(outs) - first, "span": span, "rate": (len(outs) - first) / span,
            "watch_rate": len(watch) / span, "confusions": len(confusion),
            "gap_p50": float(np.median(gaps)) * 1000, "gap_max": float(gaps.max()) * 1000,
            "final": " ".join(status[-1].split())[:120]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    dataset = bench_dataset()
    settings = dict(arch="lenet5", dataset=dataset, epochs=args.epochs)
    print(f"load: {os.getloadavg()[0]:.2f} (1-min) · {args.epochs} epochs of {dataset}, {args.repeats} repeats")

    cli, handler, server = [], [], []
    port = free_port()
    proc = start_app(port)
    try:
        for r in range(args.repeats):
            cli.append(cli_run(settings))
            handler.append(handler_run(settings))
            server.append(server_run(port, settings))
            h, s = handler[-1], server[-1]
            print(f"run {r + 1}: CLI {cli[-1]:.1f} s · handler in-process {h['span']:.1f} s "
                  f"({h['updates']} updates, {h['watch_updates']} model updates) · /train {s['span']:.1f} s, {s['rate']:.1f} updates/s, watch {s['watch_rate']:.1f}/s, "
                  f"{s['confusions']} confusion refreshes, gap p50 {s['gap_p50']:.0f} ms max {s['gap_max']:.0f} ms")
    finally:
        proc.terminate()
        proc.wait()
    med = statistics.median
    c, hs, ss = med(cli), med(h["span"] for h in handler), med(s["span"] for s in server)
    history = handler[-1]["history"]
    print(f"median: CLI {c:.1f} s · handler {hs:.1f} s ({100 * (hs / c - 1):+.1f}%) · /train {ss:.1f} s "
          f"({100 * (ss / c - 1):+.1f}%; goal <= ~10%) · {med(s['rate'] for s in server):.1f} updates/s "
          f"(goal >= 2) · watch panel {med(s['watch_rate'] for s in server):.1f}/s")
    print(f"snapshots kept: {len(history)} · {history.nbytes() / 1e3:.0f} KB "
          f"(bounded at {__import__('lenet.present.watch').watch.MAX_SNAPSHOTS} snapshots)")
    cost = render_cost(history)
    print("UI-thread work per update, median ms: " + " · ".join(f"{k} {v:.2f}" for k, v in cost.items()))
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print("final status:", server[-1]["final"])


if __name__ == "__main__":
    main()
