"""Cold start: `python app.py` to the first answered /predict request (issue 32: <= 5 s on a 2-core machine).

    python -m bench.app.cold_start [--runs 3]
"""
import argparse
import tempfile
import time
from pathlib import Path

from bench.common import canvas_png, free_port, start_app, wait_for_client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    from gradio_client import handle_file

    from lenet.reading.canvas import sketchpad_value

    png, label = canvas_png(Path(tempfile.mkdtemp()), 0)
    times = []
    for _ in range(args.runs):
        port = free_port()
        t0 = time.perf_counter()
        proc = start_app(port)
        try:
            client = wait_for_client(f"http://127.0.0.1:{port}/")
            out = client.predict(sketchpad_value(handle_file(str(png))),
                                 api_name="/predict")
            times.append(time.perf_counter() - t0)
            assert out["label"] == str(label), out
            client.close()
        finally:
            proc.terminate()
            proc.wait()
    print("cold start to first answered /predict: " + ", ".join(f"{t:.2f} s" for t in times)
          + f"  (best {min(times):.2f} s; goal <= 5 s)")


if __name__ == "__main__":
    main()
