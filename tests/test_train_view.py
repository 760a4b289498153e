"""The Train tab as plain values: curves (SVG), the paper's lines, the previous run, snapshots, the confusion
table and its drill-down, the event stream's extras, and download files."""
from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch

from lenet.present.charts import MAX_POINTS, log_range, thin
from lenet.net.checkpoint import load_checkpoint, write_download
from lenet.net.config import preset
from lenet.reading.inference import LoadedModel
from lenet.net.model import LeNet
from lenet.present.render import confusion_html
from lenet.training.config import TrainConfig
from lenet.evaluate import evaluate
from lenet.training.events import Done, EpochEnd, Eval, Failed, Start, Step
from lenet.training.stream import train_stream
from lenet.present.train_view import TrainView, finish_view, paper_lines, WATCH_DRAWING, WATCH_TEST
from lenet.present.watch_view import cell_images, confusion_view, inspect_pick, kernels_of, misread_images, pinned_digit, watch_html
from lenet.present.watch import MAX_SNAPSHOTS, RunHistory

DIGITS = [str(i) for i in range(10)]


def _step(epoch: int, step: int, progress: float, loss: float, accuracy: float, **more) -> Step:
    return Step(**{"epoch": epoch, "step": step, "epoch_progress": progress, "loss": loss, "cross_entropy": loss,
                   "accuracy": accuracy, "images": 256, "lr": 1e-3, "images_per_s": 500.0, "elapsed": float(step),
                   "eta": 1.0, **more})


def _events(epochs: int = 2, val: bool = True, n_train: int = 1000) -> list:
    ev = [Start(elapsed=0.0, epoch=0, step=0, settings={}, device="cpu", precision="fp32", n_train=n_train,
                n_val=100 if val else 0, n_test=500, steps_per_epoch=4, total_steps=4 * epochs, parameters=61706,
                classes=DIGITS)]
    step = 0
    for e in range(1, epochs + 1):
        for k in (2, 4):
            step += 2
            ev.append(_step(e, step, k / 4, 2.0 / step, 0.1 * step))
        if val:
            ev.append(Eval(split="val", epoch=e, step=step, elapsed=float(step), epoch_progress=1.0,
                           loss=0.5 / e, accuracy=0.8 + 0.05 * e))
        ev.append(Eval(split="test", epoch=e, step=step, elapsed=float(step), epoch_progress=1.0,
                       loss=0.4 / e, accuracy=0.82 + 0.05 * e))
        ev.append(EpochEnd(epoch=e, step=step, train_loss=1.0, train_accuracy=0.5, lr=1e-3, test_loss=0.4 / e,
                           test_accuracy=0.82 + 0.05 * e, elapsed=float(step)))
    final = {"n": 500, "loss": 0.4 / epochs, "accuracy": 0.82 + 0.05 * epochs, "misclassified": []}
    ev.append(Done(reason="finished", epoch=epochs, step=step, elapsed=float(step), best_epoch=epochs,
                   test_loss=final["loss"], test_accuracy=final["accuracy"], test_n=500, failed=False, failure=None,
                   evaluation=final))
    return ev


def legend(chart: str) -> list[str]:
    return re.findall(r'<span class="key [^"]*"><i></i>([^<]*)</span>', chart)


def paths(chart: str) -> dict[str, str]:
    """series name -> its SVG path data."""
    return dict(re.findall(r'<path class="line [^"]*" data-series="([^"]*)" data-points="\d+" d="([^"]*)"', chart))


def path_points(d: str) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in d[1:].split("L")]


# ---------- curves ----------

def test_curves_from_events_with_a_fixed_legend():
    view = TrainView(TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=2, val_split=0.1))
    before = (legend(view.loss_html()), legend(view.error_html()))
    # every series named before any data; the train error's raw windows are drawn faint under its running figure
    assert before == (["train", "val", "test"], ["train", "train, each update", "val", "test"])
    events = _events()
    for ev in events[:3]:  # start + two steps
        view.add(ev)
    assert "epoch 1/2" in view.status()
    mid = (legend(view.loss_html()), legend(view.error_html()))
    for ev in events[3:]:
        view.add(ev)
    assert (legend(view.loss_html()), legend(view.error_html())) == mid == before  # the legend never changes
    assert np.allclose(view.loss["train"], [(0.5, 1.0), (1.0, 0.5), (1.5, 2 / 6), (2.0, 0.25)])
    assert np.allclose(view.error["test"], [(1.0, 13.0), (2.0, 8.0)])  # error %, not accuracy
    loss_paths = paths(view.loss_html())
    assert set(loss_paths) == {"train", "val", "test"}
    train = path_points(loss_paths["train"])
    assert len(train) == 4
    assert [x for x, _ in train] == sorted(x for x, _ in train)  # left to right
    ys = [y for _, y in train]
    assert ys == sorted(ys)  # the loss falls, so the line goes down the screen (SVG y grows downwards)
    assert view.state == "finished" and "92.00%" in view.status()


def test_curves_teach_the_right_lesson():
    """Train loss is plain cross-entropy (what the test loss measures), not the label-smoothed objective, and the
    chart says what smoothing does; the train error is a running figure with each window's raw value faint; the
    status line reports that running figure, not one batch; the snapshot shown is marked on both charts."""
    view = TrainView(TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=2))
    view.add(_events(n_train=20000)[0])
    assert view.span == 2000
    for i, acc in enumerate((0.5, 1.0, 0.9, 1.0), start=1):  # a lucky window reads 0% wrong
        view.add(_step(1, i, i / 4, 0.55, acc, cross_entropy=0.05))
    assert [y for _, y in view.loss["train"]] == [0.05] * 4
    raw = [y for _, y in view.raw_error]
    smooth = [y for _, y in view.error["train"]]
    assert raw[1] == 0 and 0 < smooth[1] < smooth[0] and all(1 < y <= 50 for y in smooth)
    assert "train accuracy" in view.status() and "last ~2,000 images" in view.status()
    assert "100.0%" not in view.status()
    assert "label-smoothed loss (0.1, never below 0.50)" in view.loss_html() and "0.50" in view.loss_html()  # the smoothed loss's floor
    assert 'class="line train faint"' in view.error_html()
    for chart in (view.loss_html(1.5), view.error_html(1.5)):
        assert 'class="marker"' in chart and "epoch 1.5" in chart
    assert 'class="marker"' not in view.loss_html()


def test_both_charts_share_one_x_range_and_a_log_y_axis():
    view = TrainView(TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=4))
    for ev in _events(epochs=2):  # the run so far covers half the x range: the axis still ends at epoch 4
        view.add(ev)
    for chart in (view.loss_html(), view.error_html()):
        xs = re.findall(r'<text class="tick" x="[\d.]+" y="[\d.]+" text-anchor="middle">(\d+)</text>', chart)
        assert xs == ["0", "1", "2", "3", "4"]
    ticks = re.findall(r'text-anchor="end">([\d.]+)%</text>', view.error_html())
    assert "1" in ticks and "10" in ticks and "100" in ticks  # decades: 1%, 10%, 100% are evenly spaced
    assert log_range([0.85, 13.0], floor=0.01, ceiling=100) == (0.1, 100)
    assert log_range([0.05, 2.3], floor=1e-3) == (0.01, 10)
    assert log_range([], floor=1e-3, empty=(0.1, 10)) == (0.1, 10)


def test_paper_lines_only_where_they_apply():
    assert [e for _, e in paper_lines(TrainConfig(dataset="mnist"))] == [0.95]
    assert [e for _, e in paper_lines(TrainConfig(dataset="mnist", augment=True))] == [0.8]
    for dataset in ("fashion-mnist", "mnist-sample", "fashion-mnist-sample"):
        assert paper_lines(TrainConfig(dataset=dataset)) == []
        assert "1998" not in TrainView(TrainConfig(dataset=dataset)).error_html()
    chart = TrainView(TrainConfig(dataset="mnist", epochs=3)).error_html()
    assert "0.95%" in chart and "0.8%" not in chart
    assert "1998" not in TrainView(TrainConfig(dataset="mnist")).loss_html()  # errors only, not on the loss


def test_previous_run_is_overlaid_dashed_and_widens_the_x_range():
    first = TrainView(TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=5, lr=3e-3, batch_size=128))
    for ev in _events(epochs=5, val=False):
        first.add(ev)
    second = TrainView(TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=2, lr=1e-2),
                       previous=first.curves())
    chart = second.loss_html()
    assert legend(chart) == ["train", "test", "previous: train", "previous: test"]
    assert re.search(r'class="line train dashed" data-series="previous: train"', chart)
    assert ">5</text>" in chart  # x runs to the longer of the two runs
    assert first.curves().label == "lenet5 · adam lr 0.003 · bs 128"  # the settings that tell two runs apart


def test_thin_keeps_the_last_point():
    pts = [(i, i) for i in range(2000)]
    out = thin(pts)
    assert len(out) <= MAX_POINTS + 1 and out[-1] == pts[-1] and out[0] == pts[0]
    assert thin(pts[:10]) == pts[:10]


def test_train_view_reports_divergence():
    view = TrainView(TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=2))
    for ev in _events()[:3]:
        view.add(ev)
    view.add(Failed(reason="nan", epoch=1, step=5, elapsed=1.0, loss=None,
                    message="Training produced a NaN/infinite loss at step 5"))
    assert view.state == "diverged"
    assert "diverged" in view.status() and "step 5" in view.status()
    drawn = paths(view.loss_html())["train"]  # the curve up to the divergence stays on screen, without the NaN
    assert len(path_points(drawn)) == 2 and "nan" not in drawn.lower()


# ---------- the visitor's model ----------

def test_train_view_model_is_a_usable_copy_with_its_run_state_outside_meta(shipped_model, mnist_test_split):
    # The shipped model's architecture (with its "not a digit" output if it has one), so its weights fit.
    negatives = bool(shipped_model.model.config.reject_class)
    view = TrainView(TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=2, mix={"negatives": negatives}))
    for ev in _events()[:4]:
        view.add(ev)
    # A model that has learned (the shipped one's weights), so the stopped run is not judged a failure.
    weights = {k: v.clone() for k, v in shipped_model.model.state_dict().items()}
    lm = view.model(weights)
    assert lm.source == "trained" and lm.arch == "lenet5" and lm.dataset == "mnist-sample"
    assert lm.run_state == "training" and not lm.finalized
    assert not {"state", "finalized", "training"} & set(lm.meta)  # UI state is not saved metadata
    with torch.no_grad():
        weights["c1.0.weight"].zero_()  # later changes to the weights never reach the copy
    assert lm.model.c1[0].weight.abs().sum() > 0

    r = evaluate(lm.model, mnist_test_split)
    md, final = finish_view(lm, r)  # a run that ended while "training": it was stopped
    assert final.run_state == "stopped" and final.finalized and "Stopped" in md
    assert final.test_accuracy == pytest.approx(r["accuracy"]) and f"{r['accuracy']:.2%}" in md
    assert lm.run_state == "training" and not lm.finalized  # the original is unchanged (frozen dataclass)


def test_download_files_keep_their_name_and_old_ones_go(tmp_path):
    lm = LoadedModel.from_model(LeNet(preset("lenet5")), {"arch": "lenet5", "dataset": "mnist-sample"})
    old = write_download(lm.model, lm.meta, "old.safetensors", tmp_path)
    past = time.time() - 7200
    import os
    os.utime(old, (past, past))
    new = write_download(lm.model, lm.meta, "lenet5-mnist-sample-yours.safetensors", tmp_path)
    assert new.name == "lenet5-mnist-sample-yours.safetensors" and new.parent.parent == tmp_path
    assert not old.exists() and not old.parent.exists()  # older than an hour: removed with its folder
    model, meta = load_checkpoint(new)
    assert meta["arch"] == "lenet5"


def test_importing_the_app_core_makes_no_temporary_folder():
    import subprocess
    import sys
    code = ("import tempfile, os, lenet.net.checkpoint as c, lenet.present.train_view; "
            "print(c._downloads)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


# ---------- watching it learn ----------

def _history_of_a_sample_run(mnist_test_split, n_snapshots: int = 5) -> RunHistory:
    """A fake run on the bundled test split: predictions right except every 7th 3 read as a 5."""
    labels = mnist_test_split.labels.numpy()
    preds = labels.copy()
    threes = np.flatnonzero(labels == 3)
    preds[threes[::7]] = 5
    conf = np.zeros((10, 10), int)
    np.add.at(conf, (labels, preds), 1)
    pinned = pinned_digit(WATCH_TEST, None, "3", "mnist-sample")
    h = RunHistory("mnist-sample", DIGITS, pinned)
    h.add_eval(1.0, float((preds == labels).mean()), conf, preds)
    for k in range(n_snapshots):
        h.add(1 + k / 10, 10 * k, np.random.default_rng(k).normal(size=(6, 5, 5)), np.full(10, 0.1))
    return h


def test_pinned_digit_is_a_test_image_of_the_class_or_the_drawing(mnist_test_split):
    pin = pinned_digit(WATCH_TEST, None, "4", "mnist")  # full MNIST runs pin from the bundled sample
    assert pin.label == "4" and pin.image.shape == (28, 28) and 0 <= pin.image.min() and pin.image.max() <= 1
    assert pinned_digit(WATCH_DRAWING, None, "4", "mnist-sample") is None  # nothing drawn: nothing to pin
    canvas = np.full((280, 280), 255, np.uint8)
    canvas[60:220, 130:150] = 0  # a "1": black ink on white, as the Sketchpad sends it
    mine = pinned_digit(WATCH_DRAWING, {"composite": canvas}, "4", "mnist-sample")
    assert mine.title == "your drawing" and mine.label is None and mine.image.max() > 0.5
    fashion = pinned_digit(WATCH_TEST, None, "Bag", "fashion-mnist-sample")
    assert fashion.label == "Bag"


def test_watch_panel_shows_the_reading_and_the_kernels(mnist_test_split):
    h = _history_of_a_sample_run(mnist_test_split)
    page = watch_html(h)
    assert page.count('data-layer="k1"><img') == 6  # the six C1 kernels
    assert len(re.findall(r'class="pbar-row( hi)?"', page)) == 10 and "true class <b>3</b>" in page
    assert "epoch 1.40" in page  # the latest snapshot
    assert '</b> 10.0%</figcaption>' in page and '"pbar-val">10.0%<' in page  # the caption says what its bar says
    assert "epoch 1.00" in watch_html(h, 0)  # the slider picks older ones
    assert "epoch 1.40" in watch_html(h, 99)  # out of range: clamped
    assert "While a run trains" in watch_html(None)
    h.pinned = None  # "my drawing" with nothing drawn: the kernels alone, and a word on why
    assert "No digit pinned" in watch_html(h) and 'class="pbar-row' not in watch_html(h)


def test_snapshots_are_bounded(mnist_test_split):
    h = _history_of_a_sample_run(mnist_test_split, n_snapshots=1)
    preds = np.zeros(10_000, np.uint8)  # full MNIST's size
    for k in range(2000):
        if k % 100 == 0:
            h.add_eval(k / 100, 0.9, np.eye(10, dtype=int), preds)
        h.add(k / 100, k, np.zeros((6, 5, 5)), np.full(10, 0.1))
    assert len(h) <= MAX_SNAPSHOTS
    assert h.snapshots[0].step == 0 and h.snapshots[-1].step == 1999  # first and last kept
    steps = [s.step for s in h.snapshots]
    assert steps == sorted(steps)
    assert h.nbytes() < 2_000_000, h.nbytes()


def test_the_latest_evaluation_shows_before_its_snapshot(mnist_test_split):
    """A test evaluation arrives just before the weights of its epoch, sometimes in an update of its own."""
    h = _history_of_a_sample_run(mnist_test_split)
    h.add_eval(2.0, 0.99, np.eye(10, dtype=int) * 100, np.zeros(1000, np.uint8))
    assert "epoch 2: 99.00%" in confusion_view(h)  # latest, though no snapshot holds it yet
    assert "epoch 1:" in confusion_view(h, len(h) - 1)  # the snapshot itself still shows its own moment
    assert cell_images(h, mnist_test_split, None, 0, 0)[2].startswith("**")


def test_confusion_table_is_accessible_clickable_and_not_a_white_block(mnist_test_split):
    h = _history_of_a_sample_run(mnist_test_split)
    table = confusion_view(h)
    assert table.startswith('<table class="confusion"><caption>')
    assert len(re.findall(r"<td ", table)) == 100
    cells = re.findall(r'data-cell="(\d),(\d)"', table)
    assert ("3", "5") in cells and ("5", "3") not in cells  # only cells with images are buttons
    assert re.search(r'aria-label="\d+ 3 read as 5"', table)
    assert "#fff" not in re.sub(r"td.strong", "", table) and "background:" not in table  # tints come from CSS
    assert 'class="wrong' in table and "selected" not in table
    assert "selected" in confusion_view(h, selected=(3, 5))
    html_ = confusion_html(np.eye(3, dtype=int) * 5, ["a", "b", "c"], "x", clickable=False)
    assert "data-cell" not in html_ and "Click a cell" not in html_


def test_a_confusion_cell_lists_exactly_its_images(mnist_test_split):
    h = _history_of_a_sample_run(mnist_test_split)
    labels = mnist_test_split.labels.numpy()
    expected = np.flatnonzero(labels == 3)[::7]
    items, indices, caption = cell_images(h, mnist_test_split, None, 3, 5)
    assert indices == expected.tolist()[:40] and len(items) == len(indices)
    assert all(cap.startswith("3 → 5 · #") for _, cap in items)
    assert f"{len(expected)} test images of a 3 read as 5" in caption
    right, _, caption = cell_images(h, mnist_test_split, None, 1, 1, limit=5)
    assert len(right) == 5 and "read right" in caption and "first 5" in caption
    _, wrong, _ = misread_images(h, mnist_test_split)
    assert wrong == expected.tolist()[:30]
    pick = inspect_pick(h, mnist_test_split, indices[0])
    assert pick["label"] == "3" and pick["image"].shape == (28, 28) and pick["image"].dtype == np.float32
    assert np.array_equal(pick["image"], mnist_test_split.images[indices[0]].numpy() / np.float32(255))


# ---------- the event stream's extras ----------

def test_train_stream_attaches_weights_and_test_readings():
    cfg = TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=1, batch_size=256)
    events = list(train_stream(cfg, weights_every=0.0))
    kinds = [ev.type for ev, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    for ev, w in events:
        if ev.type in ("epoch", "done", "step"):
            assert w is not None and all(t.device.type == "cpu" for t in w.values())
    test_evals = [ev for ev, _ in events if isinstance(ev, Eval) and ev.split == "test"]
    assert len(test_evals) == cfg.final_evals  # the last (here the only) epoch's evenly spaced evaluations
    for ev in test_evals:  # each carries its own readings, consistent with its accuracy
        assert ev.predictions.dtype == torch.uint8 and len(ev.predictions) == 1000
        conf = np.array(ev.confusion)
        assert conf.sum() == 1000 and np.trace(conf) / 1000 == pytest.approx(ev.accuracy, abs=1e-6)
        assert np.bincount(ev.predictions.numpy(), minlength=10).tolist() == conf.sum(0).tolist()
    done = events[-1][0]  # the final evaluation rides on the done event: the app never measures it again
    assert done.evaluation["accuracy"] == done.test_accuracy == test_evals[-1].accuracy
    assert done.evaluation["confusion"] == test_evals[-1].confusion
    lm = LoadedModel.from_weights(cfg.model_config(), events[-1][1], {"arch": "lenet5"})
    assert kernels_of(lm).shape == (6, 5, 5)
