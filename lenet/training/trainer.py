"""Training as ONE generator of typed events (lenet.training.events), consumed by the CLI, the app and the
benchmarks.

The model lives on `Trainer.model`: closing the generator at any yield (a Stop) leaves it
consistent and usable, because weights only change between yields.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Iterator

import torch

from lenet.evaluate import evaluate
from lenet.net.model import LeNet
from lenet.sources.augment import AFFINE_PRESETS, canvas_like, random_affine
from lenet.sources.data import Split, dataset_info, load_split, to_model_input
from lenet.sources.mix import BATCH, DISTORTION, SOURCES, Ingredients
from lenet.training.config import TrainConfig
from lenet.training.device import fast_path, pick_device
from lenet.training.events import Done, EpochEnd, Eval, Event, Failed, Start, Step

# The paper's per-pass learning rates (5e-4 x2, 2e-4 x3, 1e-4 x3, 5e-5 x4, then 1e-5), relative to the first.
PAPER_LR_STEPS = [1, 1, .4, .4, .4, .2, .2, .2, .1, .1, .1, .1]
PAPER_LR_FLOOR = .02


class _Average:
    """An exponential moving average of a model's weights (and float buffers), updated after every step. Its
    weights are what a run with `ema` evaluates and keeps: they sit where the last steps' noisy weights scatter
    around. Early on the decay is lower ((1 + steps) / (10 + steps)), so the average does not remember the
    untrained network."""

    def __init__(self, model: LeNet, decay: float):
        self.decay = decay
        self.weights = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def update(self, model: LeNet, steps: int) -> None:
        """After the optimiser's `steps`-th step."""
        keep = min(self.decay, (1 + steps) / (10 + steps))
        with torch.no_grad():
            for name, value in model.state_dict().items():
                if name in self.weights:
                    self.weights[name].lerp_(value, 1 - keep)

    @contextlib.contextmanager
    def swapped_into(self, model: LeNet):
        """The model holds the averaged weights inside the block, its own again after it."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.weights, strict=False)
        try:
            yield
        finally:
            model.load_state_dict(own)


@dataclass
class _Window:
    """Running train loss / accuracy since the last step event, summed on the device (no sync per step)."""
    loss: torch.Tensor
    correct: torch.Tensor
    ce: torch.Tensor | None = None  # plain cross-entropy (no label smoothing): comparable with the test loss
    n: int = 0
    since: float = 0.0

    def add(self, loss, scores, y, n: int, plain=None):
        """n: the digits at the head of the batch (generated negatives follow them and are not counted); plain:
        the batch's cross-entropy without label smoothing, when the loss has smoothing."""
        self.loss += loss.detach() * n
        if plain is not None:
            self.ce = plain * n if self.ce is None else self.ce + plain * n
        self.correct += (scores[:n].detach().argmax(1) == y[:n]).sum()  # "not a digit" for a digit: wrong
        self.n += n


@dataclass
class _Run:
    """Everything run() carries from one stage to the next, by name."""
    opt: torch.optim.Optimizer
    sched: object
    sched_when: str | None  # 'step', 'epoch', 'plateau' or None
    t0: float
    good: dict  # the last weights known to give a finite loss: restored on divergence
    shown: float  # perf_counter of the last step event (or the start): the next is due log_interval after it
    epoch: int = 0
    step: int = 0
    first_loss: float | None = None  # the untrained loss: what "diverged" is measured against
    failed: bool = False  # an error event was yielded: the run ends
    best_loss: float = math.inf  # the monitored loss (val, else train) of the best epoch so far
    best_weights: dict | None = None  # kept only with a validation split
    best_epoch: int = 0
    stale: int = 0  # epochs since the monitored loss last improved
    reason: str = "finished"

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


class Trainer:
    """Holds the model, the data on the device and the optimiser; `run()` is the event generator."""

    def __init__(self, cfg: TrainConfig, model: LeNet | None = None, train: Split | None = None,
                 test: Split | None = None):
        self.cfg = cfg
        self.device = pick_device(cfg.device)
        torch.manual_seed(cfg.seed)  # model init and dropout
        self.model = model or LeNet(cfg.model_config())
        if cfg.init and model is None:
            check_held_out(start_from(self.model, cfg.init), cfg)
        self.model = self.model.to(self.device)
        train = train if train is not None else load_split(cfg.dataset, True, cfg.data_dir)
        self.test = (test if test is not None else load_split(cfg.dataset, False, cfg.data_dir)).to(self.device)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed)  # batches and augmentation
        n_val = round(cfg.val_split * len(train))
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.seed))
        self.val = Split(train.images[order[:n_val]], train.labels[order[:n_val]]).to(self.device) if n_val else None
        # the mix, in its registry's order, from the training digits only: no coarse twin of a held-out digit
        made = Ingredients(Split(train.images[order[n_val:]], train.labels[order[n_val:]]), cfg.seed, self.device)
        for name, share in cfg.mix:
            if SOURCES[name].prepare:
                SOURCES[name].prepare(made, share)
        self.train = made.train.to(self.device)
        # every batch: a share of its digits redrawn with these distortions, then each bank's images after them
        distorted = {name: share for name, share in cfg.mix if SOURCES[name].kind == DISTORTION}
        self.distortions, self.distorted_share = tuple(distorted), max(distorted.values(), default=0.0)  # one share
        self.extras = [(SOURCES[name].draw, made.banks[name], share) for name, share in cfg.mix
                       if SOURCES[name].kind == BATCH]
        if len(self.train) == 0:
            raise ValueError("no training images left after the validation split")
        self.steps_per_epoch = math.ceil(len(self.train) / cfg.batch_size)
        self.classes = dataset_info(cfg.dataset).classes
        self.fast = fast_path(self.device, cfg.precision, self.model.config)
        self.history: list[EpochEnd] = []
        self.final: dict | None = None  # the last test evaluation
        self.average: _Average | None = None  # with cfg.ema: made when the run starts

    def meta(self, command: str | None = None) -> dict:
        """The checkpoint metadata of the model as it is now (lenet.training.trainer.checkpoint_meta)."""
        return checkpoint_meta(self.cfg, self.classes, self.history, self.final, command)

    def _optimizer(self):
        params = self.model.parameters()
        if self.cfg.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.cfg.lr, momentum=self.cfg.momentum,
                                   weight_decay=self.cfg.weight_decay)
        # fused: one kernel for all parameters instead of ~10 small ops each (about 0.7 ms a step on CPU)
        return torch.optim.Adam(params, lr=self.cfg.lr, betas=self.cfg.betas, weight_decay=self.cfg.weight_decay,
                                fused=self.device.type in ("cpu", "cuda"))

    def _scheduler(self, opt):
        """(scheduler, when): when is 'step', 'epoch' or 'plateau'."""
        c, total = self.cfg, self.cfg.epochs * self.steps_per_epoch
        if c.schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=c.lr, total_steps=total,
                                                       pct_start=c.warmup), "step"
        if c.schedule == "step":
            return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, c.epochs // 3), gamma=0.1), "epoch"
        if c.schedule == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3), "plateau"
        if c.schedule == "paper":
            rate = lambda e: PAPER_LR_STEPS[e] if e < len(PAPER_LR_STEPS) else PAPER_LR_FLOOR  # noqa: E731
            return torch.optim.lr_scheduler.LambdaLR(opt, rate), "epoch"
        return None, None

    def _batch(self, idx):
        """(inputs, targets): the digits first, then the mix's per-batch images ("not a digit": num_classes)."""
        x = self.train.images[idx].float().div_(255).unsqueeze(1)  # (B, 1, 28, 28) in [0, 1]
        y = self.train.labels[idx]
        if self.cfg.augment:
            x = random_affine(x, self.gen, **AFFINE_PRESETS[self.cfg.affine])
        if self.distortions:
            k = round(len(x) * self.distorted_share)
            x = torch.cat([canvas_like(x[:k], self.gen, self.distortions), x[k:]])
        for draw, bank, share in self.extras:  # after the batch's digits, so the running accuracy counts those only
            xs, ys = draw(bank, max(1, round(len(idx) * share)), self.gen, x)
            x = torch.cat([x, xs])
            y = torch.cat([y, y.new_full((len(xs),), self.model.config.num_classes) if ys is None else ys])
        return self.fast.input(to_model_input(x, self.model.config)), y

    def _snapshot(self):
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _as_kept(self):
        """A block in which the model holds the weights the run keeps: the average with `ema`, else its own."""
        return self.average.swapped_into(self.model) if self.average else contextlib.nullcontext()

    def _test_points(self, epoch: int) -> set[int]:
        """Steps of this epoch after which the test set is evaluated: the end of every epoch, plus
        `final_evals - 1` evenly spaced points in the second half of the last epoch, where accuracy climbs as
        the rate anneals (earlier, an evaluation could not matter and would only cost time)."""
        n = self.steps_per_epoch
        points = {n}
        if epoch == self.cfg.epochs:
            k = self.cfg.final_evals
            points |= {max(1, round(n * (1 - j / (2 * k)))) for j in range(1, k)}
        return points

    # ---- the stages of run(); each yields its events, and weights change only between yields ----

    def run(self) -> Iterator[Event]:
        opt = self._optimizer()
        sched, when = self._scheduler(opt)
        t0 = time.perf_counter()
        r = _Run(opt=opt, sched=sched, sched_when=when, t0=t0, shown=t0, good=self._snapshot())
        self.fast.prepare(self.model)
        self.average = _Average(self.model, self.cfg.ema) if self.cfg.ema else None
        try:
            yield self._start_event()
            for r.epoch in range(1, self.cfg.epochs + 1):
                summary = yield from self._train_epoch(r)
                if r.failed:
                    return
                yield from self._evaluate_epoch(r, summary)
                if self._stop_early(r):
                    r.reason = "early-stopped"
                    break
            yield self._finish(r)
        finally:
            self.fast.restore(self.model)  # plain memory layout again, however the run ended

    def _start_event(self) -> Start:
        return Start(elapsed=0.0, epoch=0, step=0, settings=dataclasses.asdict(self.cfg), device=str(self.device),
                     precision=self.fast.name, n_train=len(self.train), n_val=len(self.val or ()),
                     n_test=len(self.test), steps_per_epoch=self.steps_per_epoch,
                     total_steps=self.cfg.epochs * self.steps_per_epoch, parameters=self.model.num_parameters(),
                     classes=list(self.classes))

    def _train_step(self, r: _Run, idx) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One optimiser step on the digits `idx` (and any negatives): (loss, scores, targets), on the device."""
        x, y = self._batch(idx)
        with self.fast.autocast():
            output = self.model.output_scores(x)
        scores = self.model.scores(output.float())
        loss = self.model.loss(scores, y, self.cfg.label_smoothing)
        r.opt.zero_grad(set_to_none=True)
        loss.backward()
        r.opt.step()
        if self.average:
            self.average.update(self.model, r.step + 1)
        if r.sched_when == "step":
            r.sched.step()
        r.step += 1
        if r.first_loss is None:
            r.first_loss = loss.item()
        return loss, scores, y

    def _train_epoch(self, r: _Run) -> Iterator[Event]:
        """Step events (at most every `log_interval` s and at the end) and test evaluations at the
        epoch's test points; returns the partial epoch summary, or sets r.failed after an error event."""
        c, model = self.cfg, self.model
        model.train()
        order = torch.randperm(len(self.train), generator=self.gen, device=self.device)
        zero = lambda: torch.zeros((), device=self.device)  # noqa: E731
        win = _Window(zero(), zero(), since=time.perf_counter())
        ep_loss = ep_correct = 0.0
        tests = self._test_points(r.epoch)
        for i in range(1, self.steps_per_epoch + 1):
            idx = order[(i - 1) * c.batch_size:i * c.batch_size]
            loss, scores, y = self._train_step(r, idx)
            plain = None
            if c.label_smoothing > 0:  # the curve plots what the test loss measures: smoothing adds a floor (~0.5)
                with torch.no_grad():
                    plain = model.loss(scores.detach(), y, 0.0)
            win.add(loss, scores, y, len(idx), plain)
            # due from the last step event, evaluations included: a curve never stalls at an epoch's end
            if time.perf_counter() - r.shown < c.log_interval and i not in tests:
                continue
            # A step event: the only place the loss is read out, so the only sync with the device.
            event = self._step_event(r, win, i)
            if isinstance(event, Failed):
                r.failed = True
                yield event
                return None
            r.shown = time.perf_counter()
            ep_loss += event.loss * win.n
            ep_correct += event.accuracy * win.n
            yield event
            win = _Window(zero(), zero(), since=time.perf_counter())
            if i in tests and i < self.steps_per_epoch:  # the end-of-epoch test is _evaluate_epoch's
                yield self._eval_event(r, "test", self.test, progress=i / self.steps_per_epoch)
        return {"train_loss": ep_loss / len(self.train), "train_accuracy": ep_correct / len(self.train),
                "lr": r.opt.param_groups[0]["lr"]}

    def _step_event(self, r: _Run, win: _Window, i: int) -> Step | Failed:
        """The window's step event, or an error event after restoring the last good weights."""
        now = time.perf_counter()
        mean_loss, acc = win.loss.item() / win.n, win.correct.item() / win.n
        if not math.isfinite(mean_loss) or mean_loss > 50 * max(r.first_loss, 1.0):
            self.model.load_state_dict(r.good)
            kind = "nan" if not math.isfinite(mean_loss) else "diverged"
            return Failed(reason=kind, epoch=r.epoch, step=r.step, elapsed=r.elapsed(),
                          loss=mean_loss if math.isfinite(mean_loss) else None,
                          message=f"Training {'produced a NaN/infinite loss' if kind == 'nan' else 'diverged'}"
                                  f" at step {r.step} (loss {mean_loss:.3g}); the learning rate "
                                  f"{self.cfg.lr:g} is probably too high. The last good weights were kept.")
        r.good = self._snapshot()
        done_frac = r.step / (self.cfg.epochs * self.steps_per_epoch)
        return Step(epoch=r.epoch, step=r.step, epoch_progress=i / self.steps_per_epoch, loss=mean_loss,
                    accuracy=acc, lr=r.opt.param_groups[0]["lr"], images=win.n,
                    cross_entropy=win.ce.item() / win.n if win.ce is not None else mean_loss,
                    images_per_s=win.n / max(now - win.since, 1e-9), elapsed=r.elapsed(),
                    eta=r.elapsed() * (1 - done_frac) / done_frac)

    def _eval_event(self, r: _Run, split: str, data: Split, progress: float = 1.0) -> Eval:
        with self._as_kept():
            result = evaluate(self.model, data)
        per_image = {}
        if split == "test":  # how each test image is read, for the app's confusion matrix and drill-down
            self.final = result
            per_image = {"confusion": result["confusion"],
                         "predictions": torch.tensor(result["predictions"], dtype=torch.uint8)}
        return Eval(split=split, epoch=r.epoch, epoch_progress=progress, step=r.step, elapsed=r.elapsed(),
                    loss=result["loss"], accuracy=result["accuracy"], **per_image)

    def _evaluate_epoch(self, r: _Run, summary: dict) -> Iterator[Event]:
        """Validation and test evaluation, the per-epoch schedules, the best epoch; then the summary event."""
        if self.val is not None:
            v = self._eval_event(r, "val", self.val)
            summary.update(val_loss=v.loss, val_accuracy=v.accuracy)
            yield v
        t = self._eval_event(r, "test", self.test)
        yield t
        monitored = summary.get("val_loss", summary["train_loss"])
        if r.sched_when == "epoch":
            r.sched.step()
        elif r.sched_when == "plateau":
            r.sched.step(monitored)
        if monitored < r.best_loss:
            r.best_loss, r.best_epoch, r.stale = monitored, r.epoch, 0
            with self._as_kept():
                r.best_weights = self._snapshot() if self.val is not None else None
        else:
            r.stale += 1
        end = EpochEnd(epoch=r.epoch, step=r.step, elapsed=r.elapsed(), test_loss=t.loss, test_accuracy=t.accuracy,
                       **summary)
        self.history.append(end)
        yield end

    def _stop_early(self, r: _Run) -> bool:
        c = self.cfg
        return bool(c.early_stopping) and r.stale >= c.early_stopping and r.epoch < c.epochs

    def _finish(self, r: _Run) -> Done:
        """Back to the best epoch's weights when a validation split chose one; the done event."""
        best_epoch = r.epoch
        if self.average:  # the test evaluations were of these weights already
            self.model.load_state_dict(self.average.weights, strict=False)
        if self.cfg.keep_best and r.best_weights is not None and r.best_epoch != r.epoch:
            self.model.load_state_dict(r.best_weights)
            best_epoch = r.best_epoch
            self.final = evaluate(self.model, self.test)
        self.model.eval()
        return Done(reason=r.reason, epoch=r.epoch, step=r.step, elapsed=r.elapsed(), best_epoch=best_epoch,
                    test_loss=self.final["loss"], test_accuracy=self.final["accuracy"], test_n=self.final["n"],
                    evaluation=self.final, **run_outcome(self.final["accuracy"], len(self.classes)))


def start_from(model: LeNet, path: str) -> dict:
    """Copy a checkpoint's weights into `model` (same architecture) and return its meta. A "not a digit" output
    the checkpoint lacks keeps its fresh initialisation; the ten digit units are copied."""
    from lenet.net.checkpoint import load_checkpoint

    source, meta = load_checkpoint(path)
    mine = model.state_dict()
    for name, value in source.state_dict().items():
        if name not in mine:
            raise ValueError(f"{path} is not a {model.config} model (no {name})")
        if mine[name].shape == value.shape:
            mine[name] = value
        elif name.startswith("output.") and mine[name].shape[1:] == value.shape[1:]:
            mine[name][:len(value)] = value
        else:
            raise ValueError(f"{path}: {name} has shape {tuple(value.shape)}, this model needs {tuple(mine[name].shape)}")
    model.load_state_dict(mine)
    return meta


def check_held_out(meta: dict, cfg: TrainConfig) -> None:
    """A run that starts from a checkpoint must hold out the digits that checkpoint held out: the split follows
    the seed, so another seed (or a split the checkpoint trained on) would put digits the weights have already
    learned into the validation split, and its figures and any calibration on it would flatter the model."""
    settings = meta.get("settings") or {}
    if not cfg.val_split or settings.get("dataset", meta.get("dataset")) != cfg.dataset:
        return
    split = (float(settings.get("val_split") or 0), int(settings.get("seed", 0)))
    if split != (cfg.val_split, cfg.seed):
        held = (f"held out {split[0]:g} of its training set with seed {split[1]}" if split[0]
                else "was trained on all of its training set")
        raise ValueError(f"{cfg.init} {held}: a validation split of {cfg.val_split:g} with seed {cfg.seed} would "
                         "hold out digits it has already learned. Use "
                         + (f"--seed {split[1]} --val-split {split[0]:g}" if split[0] else "no --val-split"))


def run_outcome(accuracy: float, n_classes: int) -> dict:
    """{"failed": bool, "failure": reason or None}: a run that ends at or near chance accuracy learned nothing,
    and must not pass for a success (below twice chance, e.g. < 20% with 10 classes, counts as near chance)."""
    chance = 1 / n_classes
    if accuracy is None or not math.isfinite(accuracy) or accuracy >= 2 * chance:
        return {"failed": False, "failure": None}
    return {"failed": True,
            "failure": f"Test accuracy {accuracy:.1%} is at chance level ({chance:.0%} is what guessing gets): this "
                       "run learned nothing. Try another learning rate or optimizer, or more epochs."}



def checkpoint_meta(cfg: TrainConfig, classes, history=(), final: dict | None = None,
                    command: str | None = None) -> dict:
    """What a model records about the run that made it: the one place this is built, for the CLI's checkpoints,
    the app's "your model" (its weights at every update) and its download."""
    final = final or {}
    return {"arch": cfg.arch, "dataset": cfg.dataset, "classes": list(classes),
            "settings": dataclasses.asdict(cfg), "command": command,
            "epochs": len(history), "history": [e.to_json() for e in history],
            "metrics": {"test_accuracy": final.get("accuracy"), "test_loss": final.get("loss"),
                        "test_n": final.get("n")}}
