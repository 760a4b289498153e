"""Bad input through the API and the handlers: every case gets a clear message, the server stays up,
no code from a file runs, and no good model is lost.

    python -m bench.app.bad_inputs
"""
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import ROOT, canvas_png, free_port, start_app, wait_for_client

warnings.filterwarnings("ignore")
TMP = Path(tempfile.mkdtemp())
MARKER = TMP / "PWNED"


class Payload:
    def __reduce__(self):  # what a malicious pickle does: run a command when unpickled
        return (os.system, (f"touch {MARKER}",))


def png(name, array):
    path = TMP / name
    Image.fromarray(array).save(path)
    return str(path)


def api_cases():
    from gradio_client import handle_file

    from lenet.reading.canvas import sketchpad_value

    garbage = TMP / "garbage.png"
    garbage.write_bytes(b"this is not an image at all" * 10)
    canvas = lambda p: sketchpad_value(handle_file(p))  # noqa: E731
    return [
        ("/predict", "empty canvas (cleared)", (sketchpad_value(None),), {}),
        ("/predict", "all white", (canvas(png("white.png", np.full((280, 280), 255, np.uint8))),), {}),
        ("/predict", "all black", (canvas(png("black.png", np.zeros((280, 280), np.uint8))),), {}),
        ("/predict", "1x1 pixel", (canvas(png("one.png", np.zeros((1, 1), np.uint8))),), {}),
        ("/predict", "10000x10000", (canvas(png("huge.png", np.full((10000, 10000), 255, np.uint8))),), {}),
        ("/predict", "transparent RGBA", (canvas(png("clear.png", np.zeros((280, 280, 4), np.uint8))),), {}),
        ("/predict", "non-image bytes", (canvas(str(garbage)),), {}),
        ("/predict", "malformed dict", ({"composite": 5, "layers": "x"},), {}),
        ("/predict", "a number instead of a canvas", (42,), {}),
        ("/train", "batch size 0", (), {"batch_size": 0}),
        ("/train", "epochs -1", (), {"epochs": -1}),
        ("/train", "learning rate 1e9", (), {"lr": 1e9}),
        ("/train", "batch size 1e9", (), {"batch_size": 10**9}),
        ("/train", "unknown architecture", (), {"arch": "__import__('os')"}),
        ("/train", "diverging learning rate (SGD lr 10)", (), {"lr": 10.0, "optimizer": "sgd", "epochs": 3,
                                                            "schedule": "constant"}),
    ]


def handler_cases():
    """Checkpoint uploads go through the UI only; call the handler as the upload event would."""
    import torch

    import app
    from lenet.reading.inference import LoadedModel

    evil = TMP / "evil.safetensors"
    evil.write_bytes(pickle.dumps(Payload()))
    torch_pickle = TMP / "model.safetensors"
    torch.save({"w": torch.zeros(3)}, torch_pickle)
    good = ROOT / "checkpoints" / "lenet5-mnist.safetensors"
    truncated = TMP / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    mine = LoadedModel.from_file(good, source="trained")
    results = []
    for name, path in [("pickle with a payload", evil), ("torch.save pickle", torch_pickle),
                       ("truncated checkpoint", truncated)]:
        try:
            app.train_tab.load_upload(str(path))
            results.append((name, "ACCEPTED (bad)"))
        except Exception as e:  # gr.Error is what the visitor sees
            results.append((name, f"{type(e).__name__}: {e}"))
    return results, mine


def main():
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start_app(port)
    good_png, label = canvas_png(TMP, 0)
    try:
        client = wait_for_client(url)
        from gradio_client import handle_file

        from lenet.reading.canvas import sketchpad_value
        good = sketchpad_value(handle_file(str(good_png)))
        print(f"{'endpoint':10} {'case':38} result")
        for endpoint, name, args, kwargs in api_cases():
            try:
                if endpoint == "/train":
                    job = client.submit(*args, dataset="mnist-sample", **kwargs, api_name=endpoint)
                    outs = job.result(timeout=120)
                    result = "streamed; last status: " + " ".join(str(outs[0]).split())[:110]
                else:
                    result = f"returned {str(client.predict(*args, api_name=endpoint))[:100]}"
            except Exception as e:
                result = f"error: {' '.join(str(e).split())[:140]}"
            alive = client.predict(good, api_name="/predict")["label"] == str(label)
            print(f"{endpoint:10} {name:38} {result}  [server answers next good request: {alive}]")
        client.close()
    finally:
        proc.terminate()
        proc.wait()
    print()
    results, mine = handler_cases()
    for name, result in results:
        print(f"{'upload':10} {name:38} {' '.join(result.split())[:150]}")
    print(f"\npayload executed: {MARKER.exists()} (must be False); the visitor's model is still "
          f"{mine.label} (unchanged, the handler returned no new model)")


if __name__ == "__main__":
    main()
