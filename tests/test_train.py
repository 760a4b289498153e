"""Training: the event-stream contract, accuracy on the bundled sample, repeatability, Stop, divergence, CLIs."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lenet.train
import lenet.training.trainer
from lenet.net.checkpoint import load_checkpoint, save_checkpoint
from lenet.sources.data import Split
from lenet.evaluate import evaluate
from lenet.training.config import TrainConfig
from lenet.training.events import Event
from lenet.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
STEP_KEYS = {"type", "epoch", "step", "loss", "accuracy", "lr", "images_per_s", "elapsed", "eta"}


def subset(split: Split, n: int, start: int = 0) -> Split:
    return Split(split.images[start:start + n], split.labels[start:start + n])


def weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def all_finite(model) -> bool:
    return all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())


@pytest.fixture(scope="module")
def full_run(mnist_train_split, mnist_test_split):
    """lenet5 trained on the whole mnist-sample: (trainer, events)."""
    cfg = TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=3, batch_size=32, lr=5e-3, seed=0, device="cpu")
    trainer = Trainer(cfg, train=mnist_train_split, test=mnist_test_split)
    events = list(trainer.run())
    return trainer, events


# ---------- the event stream ----------

def test_event_stream_contract(full_run):
    trainer, events = full_run
    cfg = trainer.cfg
    types = [e.type for e in events]
    assert types[0] == "start"
    assert types[-1] == "done"
    assert types.count("start") == 1 and types.count("done") == 1 and "error" not in types

    start = events[0]
    assert start.n_train == 4000 and start.n_val == 0 and start.n_test == 1000
    assert start.steps_per_epoch == math.ceil(4000 / cfg.batch_size)
    assert start.total_steps == cfg.epochs * start.steps_per_epoch
    assert start.parameters == 61_706
    assert start.classes == [str(i) for i in range(10)]

    for e in events:
        assert isinstance(e, Event) and e.elapsed >= 0
        json.dumps(e.to_json(), allow_nan=False)  # plain, finite values only: the CLI prints them, the UI streams them
    elapsed = [e.elapsed for e in events]
    assert elapsed == sorted(elapsed)

    steps = [e for e in events if e.type == "step"]
    assert len(steps) >= cfg.epochs  # at least the last step of every epoch is reported
    for e in steps:
        assert STEP_KEYS <= set(e.to_json()), STEP_KEYS - set(e.to_json())
        assert 1 <= e.epoch <= cfg.epochs
        assert math.isfinite(e.loss) and e.loss >= 0
        assert 0 <= e.accuracy <= 1
        assert 0 < e.lr <= cfg.lr * (1 + 1e-9)
        assert e.images_per_s > 0 and e.eta >= 0
    numbers = [e.step for e in steps]
    assert all(b > a for a, b in zip(numbers, numbers[1:]))
    assert numbers[-1] == start.total_steps

    # Per epoch: step events, then one test eval, then the epoch summary; the last epoch also has
    # final_evals - 1 test evals inside it, each right after a step event at the same point.
    assert cfg.final_evals > 1  # the default: what the app runs
    for epoch in range(1, cfg.epochs + 1):
        in_epoch = [e for e in events if e.epoch == epoch and e.type in ("step", "eval", "epoch")]
        kinds = [e.type for e in in_epoch]
        assert kinds[-2:] == ["eval", "epoch"], kinds[-3:]
        inside = [(i, e) for i, e in enumerate(in_epoch[:-2]) if e.type == "eval"]
        assert len(inside) == (cfg.final_evals - 1 if epoch == cfg.epochs else 0)
        for i, e in inside:
            assert e.split == "test" and 0 < e.epoch_progress < 1
            assert in_epoch[i - 1].type == "step"
            assert in_epoch[i - 1].epoch_progress == pytest.approx(e.epoch_progress)
        progress = [e.epoch_progress for _, e in inside]
        assert progress == sorted(progress)
        assert set(kinds[:-2]) <= {"step", "eval"}
        assert in_epoch[-2].split == "test"
        assert in_epoch[-3].epoch_progress == pytest.approx(1.0)
        summary = in_epoch[-1]
        assert {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr"} <= set(summary.to_json())
        assert summary.test_accuracy == in_epoch[-2].accuracy
        assert summary.val_loss is None  # no validation split here
    assert [e.epoch for e in events if e.type == "epoch"] == list(range(1, cfg.epochs + 1))
    done = events[-1]
    assert done.reason == "finished" and done.epoch == cfg.epochs
    assert len(trainer.history) == cfg.epochs


def test_lenet5_reaches_95_percent_on_the_sample(full_run, mnist_test_split):
    trainer, events = full_run
    done = events[-1]
    assert done.test_accuracy >= 0.95, done
    # The reported figure is the model's real accuracy on the held-out test part.
    r = evaluate(trainer.model, mnist_test_split)
    assert r["n"] == 1000
    assert r["accuracy"] == pytest.approx(done.test_accuracy, abs=1e-6)
    assert r["loss"] == pytest.approx(done.test_loss, rel=1e-5)
    assert not trainer.model.training  # ready for inference
    epochs = [e for e in events if e.type == "epoch"]
    assert epochs[-1].train_loss < epochs[0].train_loss
    meta = trainer.meta("test")
    assert meta["metrics"]["test_accuracy"] == done.test_accuracy
    assert meta["epochs"] == len(epochs)


def test_validation_split_reports_val_and_keeps_the_best_epoch(mnist_train_split, mnist_test_split):
    cfg = TrainConfig(dataset="mnist-sample", epochs=3, batch_size=32, lr=3e-3, val_split=0.25, keep_best=True,
                      seed=1, device="cpu", log_interval=0.0, final_evals=1)
    trainer = Trainer(cfg, train=subset(mnist_train_split, 800), test=subset(mnist_test_split, 200))
    assert len(trainer.val) == 200 and len(trainer.train) == 600
    at_epoch, events = {}, []
    for e in trainer.run():
        events.append(e)
        if e.type == "epoch":
            at_epoch[e.epoch] = weights(trainer.model)
    assert events[0].n_val == 200 and events[0].n_train == 600
    evals = [(e.epoch, e.split) for e in events if e.type == "eval"]
    assert evals == [(ep, s) for ep in (1, 2, 3) for s in ("val", "test")]
    summaries = [e for e in events if e.type == "epoch"]
    assert all(s.val_loss is not None and s.val_accuracy is not None for s in summaries)
    val_losses = [s.val_loss for s in summaries]
    best = 1 + val_losses.index(min(val_losses))
    done = events[-1]
    assert done.best_epoch == best
    assert same_weights(weights(trainer.model), at_epoch[best])
    assert done.test_accuracy == pytest.approx(evaluate(trainer.model, trainer.test)["accuracy"], abs=1e-6)
    # The validation images are held out of training: train + val are the 800 images, without overlap.
    train_imgs = {bytes(im.numpy()) for im in trainer.train.images}
    val_imgs = {bytes(im.numpy()) for im in trainer.val.images}
    assert not train_imgs & val_imgs and len(train_imgs | val_imgs) == 800


def _script_val_losses(monkeypatch, trainer: Trainer, losses: list[float]) -> None:
    """Make the validation loss of epoch k be losses[k-1] (the test split is evaluated for real)."""
    real = lenet.training.trainer.evaluate
    seen = []

    def scripted(model, split, *args, **kwargs):
        r = real(model, split, *args, **kwargs)
        if split is trainer.val:
            r = {**r, "loss": losses[len(seen)]}
            seen.append(r["loss"])
        return r

    monkeypatch.setattr(lenet.training.trainer, "evaluate", scripted)


def test_early_stopping_with_keep_best(monkeypatch, mnist_train_split, mnist_test_split):
    cfg = TrainConfig(dataset="mnist-sample", epochs=6, batch_size=64, lr=1e-3, schedule="constant", val_split=0.25,
                      early_stopping=2, keep_best=True, seed=0, device="cpu")
    trainer = Trainer(cfg, train=subset(mnist_train_split, 320), test=subset(mnist_test_split, 100))
    _script_val_losses(monkeypatch, trainer, [1.0, 0.5, 0.6, 0.7, 0.8, 0.9])
    at_epoch, events = {}, []
    for e in trainer.run():
        events.append(e)
        if e.type == "epoch":
            at_epoch[e.epoch] = weights(trainer.model)
    assert [e.epoch for e in events if e.type == "epoch"] == [1, 2, 3, 4]  # 2 epochs without improvement
    done = events[-1]
    assert done.type == "done" and done.reason == "early-stopped"
    assert done.epoch == 4 and done.best_epoch == 2
    assert same_weights(weights(trainer.model), at_epoch[2])
    assert not same_weights(at_epoch[2], at_epoch[4])
    assert done.test_accuracy == pytest.approx(evaluate(trainer.model, trainer.test)["accuracy"], abs=1e-6)


def test_early_stopping_without_keep_best_ends_with_the_last_weights(monkeypatch, mnist_train_split, mnist_test_split):
    cfg = TrainConfig(dataset="mnist-sample", epochs=6, batch_size=64, lr=1e-3, schedule="constant", val_split=0.25,
                      early_stopping=2, keep_best=False, seed=0, device="cpu")
    trainer = Trainer(cfg, train=subset(mnist_train_split, 320), test=subset(mnist_test_split, 100))
    _script_val_losses(monkeypatch, trainer, [1.0, 0.5, 0.6, 0.7, 0.8, 0.9])
    last = None
    for e in trainer.run():
        if e.type == "epoch":
            last = weights(trainer.model)
        done = e
    assert done.reason == "early-stopped" and done.epoch == 4
    assert same_weights(weights(trainer.model), last)


def test_plateau_schedule_halves_the_lr_after_patience(monkeypatch, mnist_train_split, mnist_test_split):
    cfg = TrainConfig(dataset="mnist-sample", epochs=6, batch_size=64, lr=1e-3, schedule="plateau", val_split=0.25,
                      keep_best=True, seed=0, device="cpu", log_interval=0.0)
    trainer = Trainer(cfg, train=subset(mnist_train_split, 320), test=subset(mnist_test_split, 100))
    _script_val_losses(monkeypatch, trainer, [1.0, 1.1, 1.2, 1.3, 1.4, 1.5])  # never improves after epoch 1
    events = list(trainer.run())
    lrs = {}
    for e in events:
        if e.type == "step":
            lrs.setdefault(e.epoch, set()).add(e.lr)
    # ReduceLROnPlateau(factor 0.5, patience 3): 4 epochs without improvement (2..5) -> halved from epoch 6.
    for epoch in range(1, 6):
        assert all(lr == pytest.approx(1e-3) for lr in lrs[epoch]), (epoch, lrs[epoch])
    assert all(lr == pytest.approx(5e-4) for lr in lrs[6]), lrs[6]
    done = events[-1]
    assert done.reason == "finished" and done.best_epoch == 1


# ---------- repeatability, Stop, divergence ----------

def test_seeded_runs_are_repeatable(mnist_train_split, mnist_test_split):
    def run(seed):
        cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=64, lr=3e-3, augment=True, seed=seed,
                          device="cpu", log_interval=0.0)
        trainer = Trainer(cfg, train=subset(mnist_train_split, 384), test=subset(mnist_test_split, 100))
        losses = [e.loss for e in trainer.run() if e.type == "step"]
        return weights(trainer.model), losses

    a, loss_a = run(7)
    b, loss_b = run(7)
    c, _ = run(8)
    assert same_weights(a, b)
    assert loss_a == loss_b
    assert not same_weights(a, c)


def test_weight_averaging_keeps_and_evaluates_the_running_average(monkeypatch, mnist_train_split, mnist_test_split):
    """With `ema`, the run ends with the average of its weights after every step (not its last weights), and the
    test accuracy it reports is that average's."""
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=64, lr=3e-3, seed=3, device="cpu", ema=0.9,
                      precision="fp32")
    trainer = Trainer(cfg, train=subset(mnist_train_split, 640), test=subset(mnist_test_split, 300))
    average, steps = None, 0
    step = torch.optim.Adam.step

    def step_and_average(opt, *a, **k):  # the average, computed here from the weights after each step
        nonlocal average, steps
        out = step(opt, *a, **k)
        steps += 1
        keep = min(0.9, (1 + steps) / (10 + steps))
        now = weights(trainer.model)
        average = {n: v if average is None else average[n] * keep + v * (1 - keep) for n, v in now.items()}
        return out

    first = weights(trainer.model)
    monkeypatch.setattr(torch.optim.Adam, "step", step_and_average)
    done = [e for e in trainer.run() if e.type == "done"][0]
    last = trainer.model.state_dict()
    assert steps == 10
    assert all(torch.allclose(last[n], average[n], atol=1e-6) for n in average)
    assert not all(torch.allclose(last[n], first[n]) for n in first)
    assert done.test_accuracy == evaluate(trainer.model, subset(mnist_test_split, 300))["accuracy"]


def test_closing_the_generator_leaves_a_usable_model(mnist_train_split, mnist_test_split, tmp_path):
    cfg = TrainConfig(dataset="mnist-sample", epochs=3, batch_size=64, lr=3e-3, seed=0, device="cpu",
                      log_interval=0.0)
    trainer = Trainer(cfg, train=subset(mnist_train_split, 2000), test=mnist_test_split)
    gen = trainer.run()
    at_stop = None
    for e in gen:
        if e.type == "step" and e.epoch == 2:
            at_stop = weights(trainer.model)
            break
    gen.close()  # what Gradio's Stop does: GeneratorExit at the current yield
    with pytest.raises(StopIteration):
        next(gen)
    model = trainer.model
    assert all_finite(model)
    assert same_weights(weights(model), at_stop)  # weights only change between yields
    r = evaluate(model, mnist_test_split)
    assert r["accuracy"] > 0.5  # chance is 0.1
    # and it can be saved and loaded like any finished model
    path = save_checkpoint(tmp_path / "stopped.safetensors", model, trainer.meta())
    loaded, _ = load_checkpoint(path)
    assert evaluate(loaded, mnist_test_split)["accuracy"] == pytest.approx(r["accuracy"], abs=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_divergence_ends_with_an_error_and_the_last_good_weights(optimizer, mnist_train_split, mnist_test_split):
    cfg = TrainConfig(dataset="mnist-sample", epochs=2, batch_size=64, lr=10.0, optimizer=optimizer,
                      schedule="constant", seed=0, device="cpu", log_interval=0.0)
    trainer = Trainer(cfg, train=subset(mnist_train_split, 640), test=subset(mnist_test_split, 200))
    last_good = weights(trainer.model)  # before any step
    events = []
    for e in trainer.run():
        events.append(e)
        if e.type == "step":
            last_good = weights(trainer.model)
    err = events[-1]
    assert err.type == "error", [e.type for e in events]
    assert err.reason in ("nan", "diverged")
    assert "learning rate" in err.message
    assert "done" not in [e.type for e in events]
    json.dumps({k: v for k, v in err.to_json().items() if k != "loss"}, allow_nan=False)
    assert all_finite(trainer.model)
    assert same_weights(weights(trainer.model), last_good)
    r = evaluate(trainer.model, trainer.test)
    assert math.isfinite(r["loss"])


def test_weights_that_produce_inf_end_with_a_nan_error(mnist_train_split, mnist_test_split):
    from lenet.net.config import preset
    from lenet.net.model import LeNet

    model = LeNet(preset("lenet5"))
    with torch.no_grad():
        model.output.weight.fill_(3e38)  # finite weights whose logits overflow to inf
    before = weights(model)
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=64, lr=1e-3, schedule="constant", seed=0,
                      device="cpu", log_interval=0.0)
    trainer = Trainer(cfg, model=model, train=subset(mnist_train_split, 256), test=subset(mnist_test_split, 64))
    events = list(trainer.run())
    assert events[-1].type == "error" and events[-1].reason == "nan"
    assert not [e for e in events if e.type == "step"]
    assert same_weights(weights(trainer.model), before)
    assert all_finite(trainer.model)


def test_nan_error_event_is_valid_json(mnist_train_split, mnist_test_split):
    """The CLI prints every event as a JSON line: a NaN loss must not turn into the non-JSON token NaN."""
    from lenet.net.config import preset
    from lenet.net.model import LeNet

    model = LeNet(preset("lenet5"))
    with torch.no_grad():
        model.output.weight.fill_(3e38)
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=64, lr=1e-3, schedule="constant", seed=0,
                      device="cpu", log_interval=0.0)
    trainer = Trainer(cfg, model=model, train=subset(mnist_train_split, 128), test=subset(mnist_test_split, 64))
    error = list(trainer.run())[-1]
    assert error.type == "error" and error.reason == "nan"
    json.dumps(error.to_json(), allow_nan=False)  # strict JSON (RFC 8259) has no NaN / Infinity


# ---------- settings ----------

@pytest.mark.parametrize("overrides, word", [
    ({"batch_size": 0}, "batch size"),
    ({"lr": 0.0}, "learning rate"),
    ({"lr": -1e-3}, "learning rate"),
    ({"lr": float("nan")}, "learning rate"),
    ({"arch": "resnet18"}, "architecture"),
    ({"dataset": "imagenet"}, "dataset"),
    ({"epochs": 0}, "epochs"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"schedule": "cosine"}, "schedule"),
    ({"val_split": 0.9}, "validation"),
    ({"early_stopping": -1}, "early-stopping"),
    ({"ema": 1.0}, "ema"),
])
def test_train_config_rejects_bad_settings(overrides, word):
    with pytest.raises(ValueError, match=word):
        TrainConfig(**overrides)


def test_train_config_accepts_the_seed_tutorial_settings():
    TrainConfig(arch="lenet5-bn", optimizer="adam", lr=1e-3, weight_decay=1e-5, schedule="plateau",
                val_split=5 / 60, early_stopping=5, augment=True, epochs=30)
    TrainConfig(arch="lenet5-28-max", optimizer="sgd", lr=1e-3, momentum=0.9, epochs=10)


# ---------- the command lines ----------

def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LENET_OFFLINE": "1", "LENET_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("LENET_DATA_DIR", None)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_train_and_evaluate_command_lines(tmp_path):
    out = tmp_path / "x.safetensors"
    p = _run(["-m", "lenet.train", "--dataset", "mnist-sample", "--epochs", "1", "--json", "--out", str(out)],
             tmp_path)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert lines[0]["type"] == "start" and lines[-1]["type"] == "done"
    steps = [e for e in lines if e["type"] == "step"]
    assert steps
    for e in steps:
        assert {"type", "epoch", "step", "loss", "accuracy", "elapsed"} <= set(e)
    assert out.exists()
    model, meta = load_checkpoint(out)
    assert meta["arch"] == "lenet5" and meta["dataset"] == "mnist-sample"
    assert meta["metrics"]["test_accuracy"] == pytest.approx(lines[-1]["test_accuracy"])
    assert "lenet.train" in meta["command"]

    p = _run(["-m", "lenet.evaluate", str(out), "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert {"arch", "dataset", "n", "loss", "accuracy", "trainable_parameters"} <= set(summary)
    assert summary["arch"] == "lenet5" and summary["dataset"] == "mnist-sample"
    assert summary["n"] == 1000 and summary["trainable_parameters"] == 61_706
    assert summary["accuracy"] == pytest.approx(lines[-1]["test_accuracy"], abs=1e-6)


@pytest.mark.slow
def test_train_command_line_says_what_to_do_without_data(tmp_path):
    p = _run(["-m", "lenet.train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--epochs", "1"], tmp_path)
    assert p.returncode == 2
    assert "LENET_DATA_DIR" in p.stderr and "Traceback" not in p.stderr


def test_map_criterion_option_builds_a_model_with_a_none_of_these_class():
    from lenet.reading.inference import LoadedModel, read
    from lenet.net.model import MAP_REJECT_PENALTY

    with pytest.raises(ValueError, match="MAP criterion"):
        TrainConfig(arch="lenet5", dataset="mnist-sample", map_criterion=True)
    trainer = Trainer(TrainConfig(arch="lenet5-1998", dataset="mnist-sample", epochs=1, map_criterion=True))
    events = list(trainer.run())
    assert events[-1].type == "done"
    assert trainer.model.config.rbf_reject == MAP_REJECT_PENALTY
    reading = read(LoadedModel.from_model(trainer.model, {}), np.zeros((28, 28), np.float32))
    assert 0.0 <= reading.reject <= 1.0 and reading.probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_divergence_is_caught_even_when_the_explosion_is_inside_the_first_window():
    """The app logs in longer windows than the CLI: the baseline must be the untrained loss, not a window mean."""
    cfg = TrainConfig(arch="lenet5", dataset="mnist-sample", epochs=2, optimizer="sgd", lr=10.0,
                      schedule="constant", log_interval=1e9)  # one window per epoch
    trainer = Trainer(cfg)
    events = list(trainer.run())
    assert events[-1].type == "error" and events[-1].reason in ("nan", "diverged"), events[-1]
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_each_architecture_starts_from_its_own_recipe():
    assert lenet.training.config.recipe() == TrainConfig()
    paper = lenet.training.config.recipe("lenet5-1998")
    assert (paper.lr, paper.betas, paper.label_smoothing) == (2e-3, (0.9, 0.999), 0.0)
    assert lenet.training.config.recipe("lenet5-1998", lr=1e-3).lr == 1e-3  # what is given wins
    parse = lambda *a: lenet.train.config_from_args(lenet.train.build_parser().parse_args(list(a)))  # noqa: E731
    # the CLI starts from the same defaults
    assert parse("--arch", "lenet5-1998", "--data-dir", "d") == lenet.training.config.recipe("lenet5-1998", data_dir="d")
    assert parse("--arch", "lenet5-1998", "--label-smoothing", "0.1").label_smoothing == 0.1
    assert parse() == TrainConfig(data_dir=parse().data_dir)
    assert parse("--betas", "0.8", "0.95").betas == (0.8, 0.95)


# ---------- starting from a trained model (--init) ----------

def test_init_starts_from_the_checkpoint_weights(full_run, mnist_train_split, mnist_test_split, tmp_path):
    trainer, _ = full_run
    path = save_checkpoint(tmp_path / "start.safetensors", trainer.model, trainer.meta())
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=64, seed=3, device="cpu", init=str(path))
    fresh = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=64, seed=3, device="cpu")
    assert same_weights(weights(Trainer(cfg, train=mnist_train_split, test=mnist_test_split).model),
                        weights(trainer.model))
    assert not same_weights(weights(Trainer(fresh, train=mnist_train_split, test=mnist_test_split).model),
                            weights(trainer.model))


@pytest.mark.parametrize("start, run, allowed", [
    ((0.25, 0), (0.25, 0), True),   # the same held-out digits
    ((0.25, 0), (0.0, 5), True),    # no validation split: nothing to flatter
    ((0.25, 0), (0.25, 1), False),  # another seed holds out other digits, some of them trained on
    ((0.25, 0), (0.1, 0), False),   # another size: another split
    ((0.0, 0), (0.25, 0), False),   # the checkpoint learned every digit
])
def test_init_keeps_the_checkpoints_held_out_digits(start, run, allowed, mnist_train_split, mnist_test_split,
                                                    tmp_path):
    base = Trainer(TrainConfig(dataset="mnist-sample", epochs=1, val_split=start[0], seed=start[1], device="cpu"),
                   train=mnist_train_split, test=mnist_test_split)
    path = save_checkpoint(tmp_path / "base.safetensors", base.model, base.meta())
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, val_split=run[0], seed=run[1], device="cpu", init=str(path))
    if allowed:
        Trainer(cfg, train=mnist_train_split, test=mnist_test_split)
    else:
        with pytest.raises(ValueError, match="already learned"):
            Trainer(cfg, train=mnist_train_split, test=mnist_test_split)


def test_lenet_precision_decides_what_auto_means(monkeypatch):
    """LENET_PRECISION=fp32 makes "auto" train in float32 on any CPU (the second CI run); an explicit setting wins;
    RBF outputs stay float32 under a forced bf16 "auto"; a misspelt value is an error, not silently ignored."""
    from lenet.net.config import preset
    from lenet.training.device import fast_path

    cpu, modern, rbf = torch.device("cpu"), preset("lenet5"), preset("lenet5-1998")
    monkeypatch.setenv("LENET_PRECISION", "fp32")
    assert not fast_path(cpu, "auto", modern).bf16
    assert fast_path(cpu, "bf16", modern).bf16
    monkeypatch.setenv("LENET_PRECISION", "bf16")
    assert fast_path(cpu, "auto", modern).bf16 and not fast_path(cpu, "auto", rbf).bf16
    assert not fast_path(cpu, "fp32", modern).bf16
    monkeypatch.setenv("LENET_PRECISION", "fp16")
    with pytest.raises(ValueError, match="LENET_PRECISION"):
        fast_path(cpu, "auto", modern)


def test_step_events_carry_the_plain_cross_entropy_the_test_loss_is_comparable_with(full_run):
    """The optimised loss has label smoothing (its floor is ~0.5 at 0.1 over ten classes); the Train tab plots the
    plain cross-entropy instead, as the test loss is measured, with the images each window counted."""
    trainer, events = full_run
    steps = [e for e in events if e.type == "step"]
    assert all(e.images > 0 and math.isfinite(e.cross_entropy) for e in steps)
    last = steps[-1]
    if trainer.cfg.label_smoothing > 0:
        assert last.cross_entropy < last.loss - 0.1, last
    else:
        assert last.cross_entropy == last.loss
