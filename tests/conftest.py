"""Shared fixtures: the app launched once on a real server, real MNIST digits as canvas PNGs, Chromium.

Nothing here needs the network or data outside the repository: digits come from the bundled
`mnist-sample`, and the app runs with LENET_OFFLINE=1 (so its default training dataset is that sample).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("LENET_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="also run the tests marked slow (whole training runs, app processes); CI does")


def pytest_collection_modifyitems(config, items):
    """The inner loop leaves out `slow` tests unless --slow is given or -m names them; `browser` tests need
    Chromium: skip them (with the reason) where it is not installed."""
    if not config.getoption("--slow") and "slow" not in (config.getoption("markexpr") or ""):
        slow = [item for item in items if "slow" in item.keywords]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if "slow" not in item.keywords]
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


# ---------- the live server ----------

@pytest.fixture(scope="session")
def app_module():
    import app  # heavy (torch, gradio): imported only by tests that ask for the server

    return app


@pytest.fixture(scope="session")
def server_url(app_module):
    """The app, launched ONCE for the session on 127.0.0.1; yields its base URL."""
    demo = app_module.demo
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True,
                            **app_module.LAUNCH_OPTIONS)
    try:
        yield url
    finally:
        wait_until_idle(demo)
        demo.close()


def wait_until_idle(demo, timeout: float = 120.0) -> bool:
    """Let the work the last tests set off end (e.g. Inspect building the F6 index of a model a run just made).
    Torch still running in a server worker thread when the interpreter exits aborts it ("terminate called without
    an active exception", exit 134) after every test has passed. Idle: no queued event running or waiting, twice
    half a second apart (a request may be on its way)."""
    queue = demo._queue  # Gradio 6.31's event queue

    def idle():
        return queue.get_active_worker_count() == 0 and not any(
            len(q.queue) for q in queue.event_queue_per_concurrency_id.values())

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if idle():
            time.sleep(0.5)
            if idle():
                return True
        time.sleep(0.1)
    return False


@pytest.fixture
def client(server_url):
    """A fresh gradio_client session (its own gr.State) for one test."""
    from gradio_client import Client

    c = Client(server_url, verbose=False)
    try:
        yield c
    finally:
        c.close()


# ---------- the shipped default model ----------

@pytest.fixture(scope="session")
def shipped_model():
    """The shipped default checkpoint as the app loads it (read-only: shared by every test)."""
    from lenet.reading.inference import LoadedModel

    return LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-mnist.safetensors")


# ---------- real digits as canvas images ----------

@pytest.fixture(scope="session")
def mnist_train_split():
    """The bundled MNIST sample's training split (read-only: shared by every test)."""
    from lenet.sources.data import load_split

    return load_split("mnist-sample", train=True)


@pytest.fixture(scope="session")
def mnist_test_split():
    """The bundled MNIST sample's test split (read-only: shared by every test)."""
    from lenet.sources.data import load_split

    return load_split("mnist-sample", train=False)


@pytest.fixture(scope="session")
def digit_png(tmp_path_factory, mnist_test_split):
    """make(index) -> (path to a 280x280 PNG of that test digit drawn black on white, its true label)."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("digits")

    def make(index: int, scale: int = 10) -> tuple[str, str]:
        img = mnist_test_split.images[index].numpy().astype(np.uint8)  # white ink on black, 28x28
        big = Image.fromarray(255 - img, mode="L").resize((28 * scale, 28 * scale), Image.BILINEAR)
        path = folder / f"digit-{index}-x{scale}.png"
        big.convert("RGB").save(path)
        return str(path), str(int(mnist_test_split.labels[index]))

    return make


@pytest.fixture(scope="session")
def blank_png(tmp_path_factory):
    """An empty white 280x280 canvas."""
    from PIL import Image

    path = tmp_path_factory.mktemp("blank") / "blank.png"
    Image.new("RGB", (280, 280), "white").save(path)
    return str(path)


def canvas_value(path: str | None) -> dict:
    """A Sketchpad value as gradio_client sends it (the documented /predict input)."""
    from gradio_client import handle_file

    from lenet.reading.canvas import sketchpad_value

    return sketchpad_value(None if path is None else handle_file(path))


# ---------- the browser ----------

@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium):
    """A desktop browser context (one Gradio session per context)."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def phone_context(chromium):
    """A phone-sized touch context (about an iPhone 14)."""
    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                               has_touch=True)
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
