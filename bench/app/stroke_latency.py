"""Pen-up -> final verdict on the Draw tab, in headless Chromium, with a mouse and with a finger.

`python app.py` runs in its own process (as in production). Chromium draws the digits 0-9
(bench/common/digit_strokes.py) at a person's pace (a pointer event every 16 ms, ~6 px apart) with the mouse on a
1280x900 page and with touch events (CDP touchStart/Move/End) on a 390x844 phone page. For each digit the
clock starts at the last stroke's pen-up (the pointerup event, in the page) and stops when the answer to
the drawing as it was at pen-up is on screen: the surface numbers what it sends, the server echoes the
number into #read-seq together with the verdict, and the time is taken in the next animation frame
after that number arrives (so the verdict has been painted). Also counted: requests the page sent to
the server per stroke (POSTs to /gradio_api/*), the final request's HTTP round trip (the rest is the
page's own time), and whether the final verdict names the digit drawn.

The page reads in the browser (lenet/static/reader.js): the number is echoed by the page's own reading,
and no request should be sent at all. Each condition runs at every emulated network round trip of --rtt
(Chromium DevTools' Network.emulateNetworkConditions, latency in ms: a visitor far from the server), mouse and
touch: idle, and while another visitor trains on full MNIST through /train (LENET_DATA_DIR must point at it;
without it the bundled sample is trained instead, which the output says).

    LENET_DATA_DIR=/work/shared/data python -m bench.app.stroke_latency [--reps 3] [--rtt 0 150 300] [--no-train]

Goals: issue 14, p50 <= 150 ms and p99 <= 300 ms, idle and while training; issue 30, at a 150 ms round trip
p50 <= 30 ms and p99 <= 60 ms, 0 requests per stroke.
Result: see the README's "Speed" section (figures with the machine's load).
"""
from __future__ import annotations

import argparse
import os
import time

from bench.common import free_port, pct, start_app, start_training_visitor, wait_for_client
from bench.common.digit_strokes import DIGITS, SPAN, polyline

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
STEP_S = 0.016  # a pointer event every 16 ms: a 60 Hz pointer
GAP_S = 0.12  # between the strokes of one digit (a quick pen lift)

# In the page: time the last pointerup; resolve when #read-seq shows the number sent at that pen-up.
PROBE = """
() => {
  window.__lat = {up: 0, seq: -1, posts: 0};
  performance.setResourceTimingBufferSize(100000);
  const pad = document.querySelector('#pad');
  pad.querySelector('canvas').addEventListener('pointerup', () => {
    window.__lat.up = performance.now();
    queueMicrotask(() => { window.__lat.seq = Number(pad.dataset.seq); });
  });
}
"""
WAIT = """
(timeout) => new Promise((resolve) => {
  const seq = window.__lat.seq, up = window.__lat.up, t0 = performance.now();
  const check = () => {
    const out = document.querySelector('#read-seq [data-seq]');
    if (out && Number(out.dataset.seq) >= seq) {
      requestAnimationFrame(() => {
        // the last reading's HTTP round trip (request sent -> response in), to split server from page time
        const rt = performance.getEntriesByType('resource').filter((e) => e.name.includes('/gradio_api/'))
          .filter((e) => e.startTime >= up - 1).map((e) => e.responseEnd - e.startTime);
        resolve({ms: performance.now() - up, seq, verdict: document.querySelector('#verdict').innerText,
                 trip: rt.length ? rt[rt.length - 1] : null});
      });
    } else if (performance.now() - t0 > timeout) resolve({ms: null, seq, verdict: null});
    else requestAnimationFrame(check);
  };
  check();
})
"""


class Surface:
    """One visitor's Draw tab; draws with the mouse or with touch, counts the requests it sends."""

    def __init__(self, browser, url: str, touch: bool, rtt: float = 0):
        self.touch = touch
        opts = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True) \
            if touch else dict(viewport={"width": 1280, "height": 900})
        self.ctx = browser.new_context(**opts)
        self.page = self.ctx.new_page()
        self.posts = 0
        self.page.on("request", self._count)
        self.net = self.ctx.new_cdp_session(self.page)
        if rtt:  # every request and response of this page is delayed by a round trip of `rtt` ms
            self.net.send("Network.enable")
            self.net.send("Network.emulateNetworkConditions", {"offline": False, "latency": rtt,
                                                               "downloadThroughput": -1, "uploadThroughput": -1})
        self.page.goto(url, timeout=120_000)
        self.page.wait_for_selector("#pad canvas", timeout=120_000)
        self.page.evaluate(PROBE)
        self.cdp = self.ctx.new_cdp_session(self.page) if touch else None

    def _count(self, request):
        if request.method == "POST" and "/gradio_api/" in request.url and "/upload" not in request.url:
            self.posts += 1
        if "/upload" in request.url:
            self.posts += 1000  # would be a file upload: must never happen

    def clear(self):
        button = self.page.get_by_role("button", name="Clear")
        if button.is_disabled():  # nothing drawn yet
            return
        button.click()
        self.page.wait_for_function("() => document.querySelector('#verdict').innerText.includes('Draw')",
                                    timeout=30_000)

    def draw(self, strokes) -> float:
        """Draws the strokes; returns the seconds the pen was down (the pace a loaded machine allows)."""
        down = 0.0
        canvas = self.page.locator("#pad canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        cx, cy, k = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / SPAN
        for i, stroke in enumerate(strokes):
            pts = [(cx + k * x, cy + k * y) for x, y in polyline(stroke)]
            if i:
                time.sleep(GAP_S)
            t = time.perf_counter()
            if self.touch:
                self._touch("touchStart", pts[0])
                for p in pts[1:]:
                    time.sleep(STEP_S)
                    self._touch("touchMove", p)
                self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            else:
                self.page.mouse.move(*pts[0])
                self.page.mouse.down()
                for p in pts[1:]:
                    time.sleep(STEP_S)
                    self.page.mouse.move(*p)
                self.page.mouse.up()
            down += time.perf_counter() - t
        return down

    def _touch(self, kind, p):
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": p[0], "y": p[1]}]})

    def one(self, digit: str) -> dict:
        self.clear()
        self.posts = 0
        down = self.draw(DIGITS[digit])
        r = self.page.evaluate(WAIT, 10_000)
        r["stroke_s"] = down / len(DIGITS[digit])
        time.sleep(0.3)  # late requests (there should be none) are counted too
        r["posts_per_stroke"] = self.posts / len(DIGITS[digit])
        r["ok"] = r["verdict"] is not None and f"I read: {digit}" in r["verdict"].replace("\n", " ")
        return r

    def close(self):
        self.ctx.close()


def run(browser, url: str, reps: int, label: str, rtt: float = 0) -> None:
    for touch in (False, True):
        s = Surface(browser, url, touch, rtt)
        try:
            s.one("7")  # warm-up
            rows = [s.one(d) for _ in range(reps) for d in DIGITS]
        finally:
            s.close()
        lat = [r["ms"] for r in rows if r["ms"] is not None]
        timeouts = sum(r["ms"] is None for r in rows)
        posts = [r["posts_per_stroke"] for r in rows]
        p50, p99 = pct(lat, 50)[0], pct(lat, 99)[0]
        ok = sum(r["ok"] for r in rows)
        stroke_s = sum(r["stroke_s"] for r in rows) / len(rows)
        print(f"  {label:9s} rtt {rtt:3.0f} ms {'touch' if touch else 'mouse'}: pen-up -> final verdict p50 {p50:5.0f} ms  p99 {p99:5.0f} ms"
              f"  max {max(lat):5.0f} ms  (n={len(lat)}, timeouts {timeouts})  requests/stroke "
              f"{sum(posts) / len(posts):.1f} (max {max(posts):.0f}) over {stroke_s:.2f} s of pen-down  "
              f"read right {ok}/{len(rows)}", flush=True)
        trips = [r["trip"] for r in rows if r.get("trip") is not None]
        if trips:
            print(f"    of which the final request's HTTP round trip: p50 {pct(trips, 50)[0]:.0f} ms, "
                  f"p99 {pct(trips, 99)[0]:.0f} ms")
        per_digit = {d: [r["ms"] for r, dd in zip(rows, [d for _ in range(reps) for d in DIGITS]) if dd == d]
                     for d in DIGITS}
        print("    per digit (median ms): " + "  ".join(
            f"{d}:{sorted(v)[len(v) // 2]:.0f}" for d, v in per_digit.items() if all(x is not None for x in v)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3, help="times each digit is drawn per condition")
    ap.add_argument("--no-train", action="store_true", help="only the idle condition")
    ap.add_argument("--rtt", type=float, nargs="+", default=[0, 150, 300],
                    help="emulated network round trips between page and server, ms")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start_app(port, env={"LENET_MAX_EPOCHS": "500"})
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    try:
        wait_for_client(url).close()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            for rtt in args.rtt:
                run(browser, url, args.reps, "idle", rtt)
            if not args.no_train:
                trainer, job, dataset = start_training_visitor(url)
                print(f"  another visitor trains on {dataset} ({len(job.outputs())} updates so far)", flush=True)
                try:
                    for rtt in args.rtt:
                        run(browser, url, args.reps, "training", rtt)
                    print(f"  training still streaming at the end: {not job.done()} ({len(job.outputs())} updates)")
                finally:
                    job.cancel()
                    trainer.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait()
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    print("goals: p50 <= 150 ms, p99 <= 300 ms (idle and training, mouse and touch); at a 150 ms round trip "
          "p50 <= 30 ms, p99 <= 60 ms, 0 requests per stroke")


if __name__ == "__main__":
    main()
