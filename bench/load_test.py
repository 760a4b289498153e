"""Load: 20 concurrent API clients x 50 /predict calls while one training run streams.

Beside it, in the same run, a single idle client's figures. Goal: 0 errors, p99 under load at most
3x the idle p99. The app runs in its own process (`python app.py`), as in production.

    python bench/load_test.py [--clients 20] [--calls 50]     (full MNIST training if LENET_DATA_DIR is set)
"""
import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from common import canvas_png, free_port, ms, pct, start_app, wait_for_client


def timed_predicts(url, payload, n, latencies, errors):
    client = wait_for_client(url)
    for _ in range(n):
        t = time.perf_counter()
        try:
            client.predict(payload, api_name="/predict")
            latencies.append(time.perf_counter() - t)
        except Exception as e:  # counted, not raised: the figure is the error count
            errors.append(repr(e)[:200])
    client.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--calls", type=int, default=50)
    args = p.parse_args()
    from gradio_client import handle_file

    png, _ = canvas_png(Path(tempfile.mkdtemp()), 3)
    payload = {"background": None, "layers": [], "composite": handle_file(str(png))}
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start_app(port)
    try:
        wait_for_client(url).close()
        idle, idle_err = [], []
        timed_predicts(url, payload, 10, [], [])  # warm-up
        timed_predicts(url, payload, args.calls * 2, idle, idle_err)

        trainer = wait_for_client(url)
        dataset = "mnist" if os.environ.get("LENET_DATA_DIR") else "mnist-sample"
        job = trainer.submit(dataset=dataset, epochs=30, api_name="/train")
        t0 = time.time()
        while len(job.outputs()) < 3 and time.time() - t0 < 120:
            time.sleep(0.2)
        loaded, load_err = [], []
        threads = [threading.Thread(target=timed_predicts, args=(url, payload, args.calls, loaded, load_err))
                   for _ in range(args.clients)]
        t1 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t1
        updates = len(job.outputs())
        still_training = not job.done()
        job.cancel()
        trainer.close()
    finally:
        proc.terminate()
        proc.wait()
    print(f"idle, 1 client:            {ms(idle)}  errors {len(idle_err)}")
    print(f"{args.clients} clients during training: {ms(loaded)}  errors {len(load_err)}  "
          f"({len(loaded) / wall:.0f} req/s; training on {dataset} still streaming: {still_training}, "
          f"{updates} updates)")
    ratio = pct(loaded, 99)[0] / pct(idle, 99)[0]
    print(f"p99 under load / idle p99 = {ratio:.2f}x  (goal <= 3x, 0 errors)")
    for e in (idle_err + load_err)[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
