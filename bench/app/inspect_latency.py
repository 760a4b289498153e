"""Inspect's budgets: server time for a new input, neighbours, the one-off F6 index, hover/click in the browser.

(a) In-process, CPU, every shipped model, on real MNIST test digits of the bundled sample drawn as 280x280
    canvases (black on white, as bench/common.canvas_png): the parts (read, SmoothGrad saliency, occlusion,
    F6 neighbours, the unit payload) and the whole of Inspect for a new input — read +
    lenet.present.inspect_view.inspect_view with the model's F6 index and every shipped model compared (goal <= 150 ms);
    neighbours = read + search (goal <= 50 ms). Also the one-off FeatureIndex.build per model (first use).
(b) --browser: the app launched in-process, headless Chromium hovering and clicking C1/S2/C3/S4 units; the
    page's own figure (inspect.js writes the time from the pointer event to the updated panel into
    data-ms) and the wall time until Playwright sees the panel change (goal <= 100 ms to show).
(c) --full-data DIR: is shipping a bigger training subset worth it? The default model's 8-nearest-neighbour
    vote on the full 10k MNIST test set, searching the bundled 4k training sample vs all 60k; and what the
    60k would cost to ship (images + F6 features, compressed).

Command (from the repo root):
    .venv/bin/python -m bench.app.inspect_latency [--n 40] [--browser] [--full-data /work/shared/data]

Result (2026-11-30 ~01:10 UTC, 2 vCPU shared with four other jobs; load average printed with each figure):
    see the README ("Inspect: budgets") for the figures of the last run.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, canvas_png, pct  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from lenet.reading.explain import FeatureIndex, occlusion, saliency, unit_payload  # noqa: E402
from lenet.reading.inference import load_shipped, read  # noqa: E402
from lenet.reading.preprocess import canvas_to_digit  # noqa: E402
from lenet.present.inspect_view import inspect_view  # noqa: E402


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn, inputs, warmup: int = 2) -> list[float]:
    for v in inputs[:warmup]:
        fn(v)
    out = []
    for v in inputs:
        t = time.perf_counter()
        fn(v)
        out.append(time.perf_counter() - t)
    return out


def line(name: str, seconds: list[float]) -> str:
    p50, p90, top = pct(np.asarray(seconds) * 1000, 50, 90, 100)
    return f"  {name:<34} p50 {p50:7.1f} ms   p90 {p90:7.1f} ms   max {top:7.1f} ms   (n={len(seconds)})"


def in_process(n: int) -> None:
    shipped = load_shipped(ROOT / "checkpoints")
    with tempfile.TemporaryDirectory() as tmp:
        canvases = [np.asarray(Image.open(canvas_png(Path(tmp), i)[0]).convert("L")) for i in range(n)]
    digits = [canvas_to_digit(c) for c in canvases]
    others = list(shipped.items())
    print(f"(a) in-process, {n} real test digits as canvases; {load()}")
    for name, lm in shipped.items():
        t = time.perf_counter()
        index = FeatureIndex.build(lm)
        build = time.perf_counter() - t
        print(f"{name}: F6 index of the {index.dataset} ({len(index.train)} + {len(index.test)} images) built in "
              f"{build * 1000:.0f} ms (once per model)")
        readings = [read(lm, d) for d in digits]
        print(line("read (forward, all activations)", timed(lambda d: read(lm, d), digits)))
        print(line("saliency (SmoothGrad, 16 copies)", timed(lambda r: saliency(lm, r), readings)))
        print(line("occlusion (196 placements)", timed(lambda r: occlusion(lm, r), readings)))
        print(line("neighbours (read + search)",
                   timed(lambda d: index.neighbours(read(lm, d).activations["f6"]), digits)))
        print(line("unit payload", timed(lambda r: unit_payload(lm, r), readings)))
        print(line("ALL of Inspect for a new input",
                   timed(lambda c: inspect_view(lm, read(lm, c), index=index, others=others), canvases)))
        print(f"  ({load()})")


def browser(n: int) -> None:
    os.environ.setdefault("LENET_OFFLINE", "1")
    import app
    from playwright.sync_api import sync_playwright

    _, url, _ = app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **app.LAUNCH_OPTIONS)
    page_ms, wall_ms = [], []
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.get_by_role("tab", name="Inspect").click()
            page.wait_for_selector(".unit-panel", timeout=120_000)
            page.evaluate("() => document.querySelectorAll('details.fmap-layer').forEach(d => d.open = true)")
            rng = np.random.default_rng(0)
            maps = page.locator("img.unit-map")
            count = maps.count()
            for k in range(n):
                img = maps.nth(int(rng.integers(count)))
                img.scroll_into_view_if_needed()
                box = img.bounding_box()
                x, y = box["x"] + box["width"] * rng.random(), box["y"] + box["height"] * rng.random()
                before = page.locator(".unit-panel").get_attribute("data-hover")
                t = time.perf_counter()
                if k % 2:
                    page.mouse.click(x, y)
                else:
                    page.mouse.move(x, y)
                page.wait_for_function("b => document.querySelector('.unit-panel').dataset.hover !== b", arg=before)
                wall_ms.append(time.perf_counter() - t)
                page_ms.append(float(page.locator(".unit-panel").get_attribute("data-ms")) / 1000)
            b.close()
    finally:
        app.demo.close()
    print(f"(b) browser, {n} hovers/clicks on random units; {load()}")
    print(line("in the page (event -> panel updated)", page_ms))
    print(line("Playwright wall time (incl. its IPC)", wall_ms))


def full_data(data_dir: str) -> None:
    import torch

    from lenet.sources.data import load_split
    from lenet.reading.explain import f6_features

    lm = load_shipped(ROOT / "checkpoints")["lenet5-mnist"]
    full_train = load_split("mnist", train=True, data_dir=data_dir)
    test = load_split("mnist", train=False, data_dir=data_dir)
    sample = load_split("mnist-sample", train=True)
    test_f6 = f6_features(lm, test.images)
    print(f"(c) neighbours' vote on the full MNIST test set (10k), lenet5-mnist; {load()}")
    for name, split in (("bundled sample (4k)", sample), ("full training set (60k)", full_train)):
        f6 = f6_features(lm, split.images)
        right = 0
        for i in range(0, len(test_f6), 500):
            d = torch.cdist(test_f6[i:i + 500], f6)
            idx = d.topk(8, largest=False).indices
            votes = split.labels[idx].mode(1).values
            right += int((votes == test.labels[i:i + 500]).sum())
        print(f"  {name:<26} 8-NN vote accuracy {right / len(test):.2%}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "full.npz"
        np.savez_compressed(path, images=full_train.images.numpy(), labels=full_train.labels.numpy())
        images_mb = path.stat().st_size / 1e6
        np.savez_compressed(path, f6=f6_features(lm, full_train.images).numpy().astype(np.float16))
        f6_mb = path.stat().st_size / 1e6
    print(f"  shipping the 60k: images {images_mb:.1f} MB + F6 (float16) {f6_mb:.1f} MB per model, compressed")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--browser", action="store_true")
    ap.add_argument("--full-data", metavar="DIR")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as app.py reads: one thread per request
    in_process(args.n)
    if args.browser:
        browser(args.n)
    if args.full_data:
        full_data(args.full_data)
