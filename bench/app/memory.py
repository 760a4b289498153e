"""Memory: resident size of the app process idle, during a training run, and after ten runs in a row.

Goal: under 1.5 GB during training on CPU; nothing grows without bound. Uses full MNIST when
LENET_DATA_DIR is set (else the bundled sample, and says so).

Then --api-calls /predict calls without a session (as curl sends them): Gradio keeps a state for
every session it has seen, up to Blocks.state_session_capacity (10,000 by default), so the growth
per call times that capacity bounds what API traffic can add.

    LENET_DATA_DIR=../shared/data python -m bench.app.memory [--runs 10] [--api-calls 2000]
"""
import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ApiClient, bench_dataset, canvas_png, free_port, rss_mb, start_app, wait_for_client

SESSION_CAPACITY = 10_000  # gradio.Blocks default


async def sessionless_calls(url: str, n: int) -> int:
    png = canvas_png(Path(tempfile.mkdtemp()), 3)[0].read_bytes()
    errors: list = []
    await ApiClient(url, png, session=False).run(n, [], errors)
    return len(errors)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--api-calls", type=int, default=2000)
    args = p.parse_args()
    dataset = bench_dataset()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start_app(port)
    try:
        client = wait_for_client(url)
        time.sleep(1)
        idle = rss_mb(proc.pid)
        peaks, after = [], []
        for i in range(args.runs):
            peak = [0.0]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_mb(proc.pid))
                    time.sleep(0.05)

            t = threading.Thread(target=sample)
            t.start()
            client.predict(dataset=dataset, epochs=1, api_name="/train")  # waits for the whole run
            stop.set()
            t.join()
            peaks.append(peak[0])
            time.sleep(0.5)
            after.append(rss_mb(proc.pid))
            print(f"run {i + 1:2d}: peak {peak[0]:7.0f} MB   after {after[-1]:7.0f} MB", flush=True)
        client.close()
        before_api = rss_mb(proc.pid)
        api_errors = asyncio.run(sessionless_calls(url, args.api_calls)) if args.api_calls else 0
        after_api = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    print(f"\napp RSS idle {idle:.0f} MB; during training on {dataset}: peak {max(peaks):.0f} MB (goal < 1500 MB); "
          f"after run 1 {after[0]:.0f} MB, after run {args.runs} {after[-1]:.0f} MB "
          f"(growth {after[-1] - after[0]:+.0f} MB over {args.runs - 1} more runs)")
    if args.api_calls:
        per_call = (after_api - before_api) * 1024 / args.api_calls
        print(f"{args.api_calls} session-less /predict calls ({api_errors} errors): {before_api:.0f} -> {after_api:.0f} MB, "
              f"{per_call:.0f} KB per new session; at Gradio's {SESSION_CAPACITY:,}-session cap that is at most "
              f"+{per_call * SESSION_CAPACITY / 1024:.0f} MB")


if __name__ == "__main__":
    main()
