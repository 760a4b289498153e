"""LeNet-5 Studio: draw a digit, train LeNet-5 live, look inside it.

This file only builds the page from one module per tab (`ui/`) and launches it. What each tab shows is
computed in the core (`lenet/`), which never imports gradio. Per-visitor things (the visitor's own model) live
in `gr.State`; module globals are loaded once and never changed.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading

import gradio as gr

from ui import about, api, draw, inspect, train
from ui.common import DEFAULT_MODEL, LAUNCH_OPTIONS, build_header, shipped_index, static_text

with gr.Blocks(title="LeNet-5 Studio", delete_cache=(3600, 3600)) as demo:
    page = build_header()
    with gr.Tabs(elem_id="tabs") as page.tabs:
        with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
            draw_tab = draw.build()
        with gr.Tab("Train", id="train", elem_id="tab-train"):
            train_tab = train.build(page)
        with gr.Tab("Inspect", id="inspect", elem_id="tab-inspect") as tab:
            inspect_tab = inspect.build(tab)
        with gr.Tab("About", id="about"):
            about.build()
    api.build_and_wire()  # first: the Draw tab's private reading events would otherwise take the name "read"
    draw_tab.wire(page)
    inspect_tab.wire(page, draw_tab.pad)
    train_tab.wire(draw_tab.pad)
    demo.load(None, None, train_tab.reload_note, js=static_text("components/reload_note.js"))

demo.queue(default_concurrency_limit=4)

# Everything built so far lives as long as the app. A full garbage collection walks all of it (~320k
# objects, ~100 ms with every thread stopped); frozen, it is skipped, and those pauses leave the
# visitors' latency tail (bench/app/load_test.py).
gc.collect()
gc.freeze()

if __name__ == "__main__":
    # Inspect's first visit needs the default model's F6 index (~0.5 s to build): build it while nobody waits.
    threading.Thread(target=shipped_index, args=(DEFAULT_MODEL,), daemon=True, name="warm-inspect").start()
    # Ctrl-C only sets a flag, read below. Raised as KeyboardInterrupt wherever the main thread is, it could land
    # inside launch() (which still checks its own URL after the server is up) and never reach the exit below: CI
    # once saw the app still up 60 s after a Ctrl-C, with a visitor's run training (tests/test_crash_safety.py).
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by launch() itself.
    demo.launch(**LAUNCH_OPTIONS, prevent_thread_lock=True)
    while not stop.wait(0.5):
        pass
    print("Stopped (Ctrl-C).", flush=True)
    # A run or Inspect may still be busy in torch in a worker thread; finalising the interpreter under it
    # aborts ("terminate called without an active exception", exit 134). Nothing is left to save (downloads
    # are written atomically when asked for), so the process ends here, cleanly.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
