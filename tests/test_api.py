"""The public API of a real launched server, through gradio_client (what a script or another Space sees).

Endpoints: /predict (canvas -> Label value), /feature_maps (canvas -> C1/C3 activations as JSON),
/neighbours (canvas -> nearest bundled training images in F6 space), /occlusion (canvas -> probability drop per
place of a grey patch) and /train (a stream of updates: status, loss and error-rate charts (SVG), the watched
digit and C1 kernels, the confusion table, the model dropdown, ...; a component an update leaves unchanged
comes as a bare {"__type__": "update"}).
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from conftest import canvas_value

pytestmark = pytest.mark.api

N_DIGITS = 10


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


TRAIN_OUT = {"status": 0, "loss": 1, "error": 2, "watch": 3, "confusion": 4, "model": 5}


def values(outs: list, name: str) -> list:
    """Every value a /train output took, in order (updates that left it unchanged are dropped)."""
    return [o[TRAIN_OUT[name]] for o in outs if not (isinstance(o[TRAIN_OUT[name]], dict)
                                                    and set(o[TRAIN_OUT[name]]) <= {"__type__", "props"})]


def confidences(label_value: dict) -> dict[str, float]:
    return {c["label"]: c["confidence"] for c in label_value["confidences"]}


# ---------- /predict ----------

def test_predict_reads_real_mnist_digits(client, digit_png):
    right, seen = 0, []
    for i in range(N_DIGITS):
        path, truth = digit_png(i)
        out = client.predict(canvas_value(path), api_name="/predict")
        assert isinstance(out, dict) and set(out) >= {"label", "confidences"}, out
        conf = confidences(out)
        assert set(conf) == {str(d) for d in range(10)}, f"confidences for all ten digits expected, got {sorted(conf)}"
        assert sum(conf.values()) == pytest.approx(1.0, abs=1e-3)
        assert all(0.0 <= p <= 1.0 for p in conf.values())
        assert out["label"] == max(conf, key=conf.get), "the label is the most likely class"
        seen.append((truth, out["label"]))
        right += out["label"] == truth
    assert right >= N_DIGITS - 1, f"read right {right}/{N_DIGITS}: (truth, read) = {seen}"


def test_predict_empty_canvas_gives_no_prediction(client, blank_png):
    for value in (canvas_value(blank_png), canvas_value(None)):  # a white image, and the value after Clear
        out = client.predict(value, api_name="/predict")
        assert not (out or {}).get("label"), f"an empty canvas should give no prediction, got {out}"
        assert not (out or {}).get("confidences")


def test_predict_oversized_image_is_refused_with_a_readable_error(client, tmp_path, digit_png):
    from PIL import Image

    path = tmp_path / "huge.png"
    Image.new("L", (5000, 300), 255).save(path)
    with pytest.raises(AppError, match=r"(?i)could not read that image.*5000"):
        client.predict(canvas_value(str(path)), api_name="/predict")
    good, truth = digit_png(0)
    assert client.predict(canvas_value(good), api_name="/predict")["label"] == truth, "server still answers"


@pytest.mark.parametrize("name, payload", [("garbage.png", b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20),
                                           ("notes.txt", b"hello, this is text")])
def test_predict_non_image_raises_on_client_and_server_survives(client, tmp_path, digit_png, name, payload):
    bad = tmp_path / name
    bad.write_bytes(payload)
    with pytest.raises(AppError) as info:
        client.predict(canvas_value(str(bad)), api_name="/predict")
    assert str(info.value).strip(), "the error has a message"
    good, truth = digit_png(1)
    assert client.predict(canvas_value(good), api_name="/predict")["label"] == truth, "server still answers"


def test_predict_non_image_error_message_says_what_is_wrong(client, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"hello, this is text")
    with pytest.raises(AppError) as info:
        client.predict(canvas_value(str(bad)), api_name="/predict")
    assert "verbose error reporting" not in str(info.value)
    assert any(w in str(info.value).lower() for w in ("image", "read", "file")), str(info.value)


@pytest.mark.parametrize("payload, words", [({"composite": 5, "layers": "x"}, "layers"), (42, "dictionary")])
def test_predict_malformed_payload_gets_a_message_naming_the_problem(client, digit_png, payload, words):
    with pytest.raises(AppError) as info:
        client.predict(payload, api_name="/predict")
    assert "verbose error reporting" not in str(info.value)
    assert words in str(info.value), str(info.value)
    good, truth = digit_png(2)
    assert client.predict(canvas_value(good), api_name="/predict")["label"] == truth, "server still answers"


# ---------- /feature_maps ----------

def test_feature_maps_shapes(client, digit_png):
    path, truth = digit_png(2)
    out = client.predict(canvas_value(path), api_name="/feature_maps")
    assert out["empty"] is False
    c1, c3 = np.asarray(out["c1"]), np.asarray(out["c3"])
    assert c1.shape == (6, 28, 28) and out["c1_shape"] == [6, 28, 28]
    assert c3.shape == (16, 10, 10) and out["c3_shape"] == [16, 10, 10]
    assert np.isfinite(c1).all() and np.isfinite(c3).all()
    assert np.abs(c1).max() > 0 and np.abs(c3).max() > 0, "a drawn digit activates the maps"
    assert out["prediction"] == truth


def test_feature_maps_of_an_empty_canvas(client, blank_png):
    out = client.predict(canvas_value(blank_png), api_name="/feature_maps")
    assert out["empty"] is True and "c1" not in out


# ---------- /neighbours and /occlusion ----------

def test_neighbours_are_training_digits_of_the_same_class_nearest_first(client, digit_png, mnist_train_split):
    agree = 0
    for i in range(5):
        path, truth = digit_png(i)
        out = client.predict(canvas_value(path), api_name="/neighbours")
        near = out["neighbours"]
        assert 5 <= len(near) <= 8, out
        distances = [n["distance"] for n in near]
        assert distances == sorted(distances) and distances[0] >= 0
        for n in near:  # each names a real bundled training image, with that image's label
            assert 0 <= n["index"] < len(mnist_train_split)
            assert n["label"] == str(int(mnist_train_split.labels[n["index"]]))
        labels = [n["label"] for n in near]
        agree += max(set(labels), key=labels.count) == truth
    assert agree >= 4, "most of a real digit's neighbours share its class"


def test_occlusion_map_of_a_real_digit(client, digit_png):
    path, truth = digit_png(0)
    out = client.predict(canvas_value(path), api_name="/occlusion")
    grid = np.array(out["map"])
    assert grid.shape == (14, 14) and out["digit"] == truth
    assert grid.max() > 0.0 and grid.max() <= 1.0 and grid.min() >= -1.0
    assert out["digit"] == client.predict(canvas_value(path), api_name="/predict")["label"]


def test_neighbours_and_occlusion_of_an_empty_canvas(client, blank_png):
    assert client.predict(canvas_value(blank_png), api_name="/neighbours") == {"neighbours": []}
    assert client.predict(canvas_value(None), api_name="/occlusion") == {"map": [], "digit": None}


def test_occlusion_bad_image_is_refused_with_a_readable_error(client, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"hello, this is text")
    with pytest.raises(AppError, match=r"(?i)could not read that image"):
        client.predict(canvas_value(str(bad)), api_name="/occlusion")


# ---------- /train ----------

@pytest.mark.slow
def test_train_streams_with_defaults_then_cancel_ends_the_stream(server_url, client, digit_png):
    """Every input left at its default (offline: the bundled sample): the run streams curves and the visitor's
    model, another visitor's reading is answered meanwhile and unchanged, and a cancelled job stops streaming."""
    path, truth = digit_png(3)
    before = Client(server_url, verbose=False)
    baseline = before.predict(canvas_value(path), api_name="/predict")
    before.close()

    job = client.submit(api_name="/train")
    try:
        wait_for(lambda: (len(job.outputs()) >= 4 and any("reads <b" in w for w in values(job.outputs(), "watch")))
                 or job.done(), 120, "4 streamed training updates, one with a model update")
        # while this session trains, another visitor's prediction is answered promptly
        other = Client(server_url, verbose=False)
        try:
            t0 = time.monotonic()
            during = other.predict(canvas_value(path), api_name="/predict")
            assert time.monotonic() - t0 < 20, "predict waited for training"
        finally:
            other.close()
    finally:
        job.cancel()
    wait_for(job.done, 60, "the cancelled job to end")
    outs = job.outputs()
    assert len(outs) >= 4, f"only {len(outs)} streamed updates"
    time.sleep(1.0)
    assert len(job.outputs()) == len(outs), "a cancelled run kept streaming updates"
    statuses = values(outs, "status")
    assert any("epoch" in s.lower() and "step" in s.lower() for s in statuses), statuses[:3]
    loss = values(outs, "loss")[-1]
    points = re.search(r'data-series="train" data-points="(\d+)" d="([^"]+)"', loss)
    assert points and int(points.group(1)) >= 2, "the loss chart has a train line"
    assert all(np.isfinite(float(v)) for v in re.findall(r"[\d.]+", points.group(2))), "drawn at finite places"
    watched = values(outs, "watch")
    assert watched and "reads <b" in watched[-1] and 'data-layer="k1"' in watched[-1], \
        "the pinned digit's reading and the C1 kernels update during the run"
    dropdowns = [o for o in values(outs, "model") if o.get("choices")]
    assert dropdowns and any(v == "yours" for _, v in dropdowns[0]["choices"]), \
        "the visitor's model appears in the model dropdown"

    # /predict always uses the shipped model: the same for this session, a fresh one, and during training
    after = client.predict(canvas_value(path), api_name="/predict")
    fresh = Client(server_url, verbose=False)
    try:
        again = fresh.predict(canvas_value(path), api_name="/predict")
    finally:
        fresh.close()
    for out in (during, after, again):
        assert out["label"] == baseline["label"] == truth
        assert confidences(out) == pytest.approx(confidences(baseline), abs=1e-6)



@pytest.mark.slow
def test_cancel_ends_the_run_on_the_server(server_url, client):
    """Training has one slot (concurrency 1): a new run can only start once a cancelled one really ended."""
    job = client.submit(epochs=30, batch_size=4, api_name="/train")  # 30,000 steps: long on any CPU
    try:
        wait_for(lambda: any("step" in o[0] for o in job.outputs()) or job.done(), 120, "a training step")
    finally:
        job.cancel()
    last = [s for s in values(job.outputs(), "status") if "left" in s][-1]
    eta = float(re.search(r"about ([\d,]+) s left", last).group(1).replace(",", ""))
    assert eta > 20, f"the 30-epoch run should still have long to go: {last}"
    second = Client(server_url, verbose=False)
    try:
        nxt = second.submit(epochs=1, api_name="/train")
        # the cancelled run had minutes of 4-image steps left: only a real cancel frees the slot this soon
        wait_for(lambda: len(nxt.outputs()) >= 1 or nxt.done(), 12,
                 "the next run to start (does the cancelled one still hold the training slot?)")
        nxt.result(timeout=120)
        assert "done" in values(nxt.outputs(), "status")[-1].lower(), nxt.outputs()[-1][0]
    finally:
        second.close()


@pytest.mark.parametrize("kwargs, words", [({"batch_size": 0}, "batch size"),
                                           ({"lr": 0}, "learning rate"),
                                           ({"lr": -1.0}, "learning rate")])
def test_train_bad_settings_give_a_clear_error(client, digit_png, kwargs, words):
    t0 = time.monotonic()
    with pytest.raises(AppError, match=f"(?i){words}"):
        client.predict(**kwargs, api_name="/train")
    assert time.monotonic() - t0 < 30, "the settings are checked before any data is loaded"
    path, truth = digit_png(4)
    assert client.predict(canvas_value(path), api_name="/predict")["label"] == truth, "server still answers"
