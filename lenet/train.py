"""Training as ONE generator of plain event dicts, consumed by the CLI (below) and by the app.

Events (every one has "type", "elapsed" in seconds since start, and "epoch"/"step" where known):
  start  settings, device, sizes, steps per epoch
  step   running train loss / accuracy since the last step event (over `images`; `cross_entropy` is the loss
         without label smoothing, as the test loss is measured), lr, images/s, ETA   (>= every 0.25 s)
  eval   per epoch, for "val" (if a validation split is set) and "test": loss, accuracy
  epoch  the epoch's summary
  done   reason: finished | early_stopping, with the final test figures
  error  reason: nan | diverged, message; the last good weights are restored first

The model lives on `Trainer.model`: closing the generator at any yield (a Stop) leaves it
consistent and usable, because weights only change between yields.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from typing import Iterator

import torch

from lenet.augment import AFFINE_PRESETS, CANVAS_DISTORTIONS, canvas_like, random_affine
from lenet.coarse import SHARE as COARSE_SHARE, with_coarse
from lenet.config import PRESETS, LeNetConfig, preset
from lenet.data import DATASETS, Split, dataset_info, default_data_dir, load_split, to_model_input
from lenet.device import PRECISIONS, fast_path, pick_device
from lenet.evaluate import evaluate
from lenet.hand_fonts import CALIBRATION_HANDS, FontUnavailable, with_hand_digits
from lenet.optdigits import COPIES as OPTDIGITS_COPIES, with_optdigits
from lenet.model import MAP_REJECT_PENALTY, LeNet
from lenet.negatives import NegativeBank
from lenet.styles import StyleBank

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "onecycle", "step", "plateau", "paper")
# The paper's per-pass learning rates (5e-4 x2, 2e-4 x3, 1e-4 x3, 5e-5 x4, then 1e-5), relative to the first.
PAPER_LR_STEPS = [1, 1, .4, .4, .4, .2, .2, .2, .1, .1, .1, .1]
PAPER_LR_FLOOR = .02
NEGATIVE_SHARE = 0.25  # --negatives: this many generated non-digits per digit in every batch
STYLE_SHARE = 0.03  # --styles: this many drawn style digits (lenet.styles) per digit in every batch, by default
CANVAS_SHARE = 0.5  # --canvas-augment: the share of each batch drawn "by other people"; the rest stays MNIST


@dataclass(frozen=True)
class TrainConfig:
    arch: str = "lenet5"
    dataset: str = "mnist"
    epochs: int = 2
    batch_size: int = 256
    lr: float = 1e-2
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.7, 0.9)  # Adam's moment decays: shorter memories suit a 2-epoch run
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    warmup: float = 0.2  # onecycle: the share of all steps spent rising to the peak rate
    label_smoothing: float = 0.1
    augment: bool = False
    affine: str = "studio"  # with augment: which distortions (augment.AFFINE_PRESETS); "paper" has no rotation
    val_split: float = 0.0  # fraction of the training set held out for validation
    early_stopping: int = 0  # patience in epochs on the monitored loss; 0 = off
    keep_best: bool = True  # with a validation split: end with the weights of the best val loss
    map_criterion: bool = False  # RBF models: train with the paper's MAP criterion (adds "none of these")
    negatives: bool = False  # also learn what is not a digit (lenet.negatives): an 11th output, or the MAP class
    styles: bool = False  # also learn ways of writing a digit MNIST lacks (lenet.styles: continental 1, slashed 0)
    style_share: float = STYLE_SHARE  # with styles: drawn style digits per digit in every batch
    coarse: bool = False  # also learn digits as an 8x8 scan leaves them (lenet.coarse: COARSE_SHARE more, built once)
    hand_digits: bool = False  # also learn the digits of 56 handwriting fonts (lenet.hand_fonts; npm once)
    optdigits: bool = False  # also learn 30 real writers' 8x8-scanned digits (lenet.optdigits: UCI's, bundled)
    real_hands: bool = False  # also learn UNIPEN's training writers' pen digits drawn on the pad (lenet.real_hands)
    real_sketches: bool = False  # with negatives: also learn TU-Berlin's training kinds' sketches as not a digit
    canvas_augment: str = ""  # comma-separated canvas-like distortions (augment.CANVAS_DISTORTIONS) or "all"
    init: str | None = None  # start from this checkpoint's weights (e.g. to add --negatives to a trained model)
    seed: int = 0
    device: str = "auto"
    data_dir: str | None = None
    log_interval: float = 0.25  # seconds between step events
    final_evals: int = 4  # test evaluations in the last epoch (evenly spaced, the last at its end)
    precision: str = "auto"  # auto: bfloat16 autocast where the CPU has it natively (and not for RBF outputs)

    def __post_init__(self):
        problems = []
        if self.arch not in PRESETS:
            problems.append(f"unknown architecture {self.arch!r} (choose from {', '.join(PRESETS)})")
        if self.dataset not in DATASETS:
            problems.append(f"unknown dataset {self.dataset!r} (choose from {', '.join(DATASETS)})")
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= 1000):
            problems.append(f"epochs must be a whole number from 1 to 1000 (you entered {_shown(self.epochs)})")
        if not (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 65536):
            problems.append(f"batch size must be a whole number from 1 to 65536 (you entered {_shown(self.batch_size)})")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 10):
            problems.append(f"learning rate must be above 0 and at most 10 (you entered {_shown(self.lr)})")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not (0 <= self.momentum < 1):
            problems.append(f"momentum must be in [0, 1), got {self.momentum}")
        if not (math.isfinite(self.weight_decay) and 0 <= self.weight_decay <= 1):
            problems.append(f"weight decay must be in [0, 1], got {self.weight_decay}")
        if not (0 <= self.val_split <= 0.5):
            problems.append(f"validation split must be in [0, 0.5], got {self.val_split}")
        if self.early_stopping < 0:
            problems.append("early-stopping patience must be >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            problems.append(f"Adam betas must be two numbers in [0, 1), got {self.betas}")
        if not 0 < self.warmup < 1:
            problems.append(f"warmup must be a share of the steps in (0, 1), got {self.warmup}")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if not (isinstance(self.final_evals, int) and 1 <= self.final_evals <= 100):
            problems.append(f"final evaluations must be a whole number from 1 to 100, got {self.final_evals}")
        if self.affine not in AFFINE_PRESETS:
            problems.append(f"affine must be one of {tuple(AFFINE_PRESETS)}, got {self.affine!r}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.map_criterion and self.arch in PRESETS and PRESETS[self.arch].output != "rbf":
            problems.append("the MAP criterion needs an RBF output (lenet5-1998)")
        not_digits = self.dataset in DATASETS and DATASETS[self.dataset].torchvision_class != "MNIST"
        if self.negatives and not_digits:
            problems.append("negatives teach what is not a digit: they need a digit dataset (MNIST)")
        if self.styles and not_digits:
            problems.append("styles are ways of writing a digit: they need a digit dataset (MNIST)")
        if not 0 < self.style_share <= 0.5:
            problems.append(f"style share must be in (0, 0.5], got {self.style_share}")
        if self.coarse and not_digits:
            problems.append("coarse copies are modelled on scanned digits: they need a digit dataset (MNIST)")
        if self.hand_digits and not_digits:
            problems.append("handwriting fonts' digits are digits: they need a digit dataset (MNIST)")
        if self.optdigits and not_digits:
            problems.append("optdigits are digits: they need a digit dataset (MNIST)")
        if self.real_hands and not_digits:
            problems.append("real hands' digits are digits: they need a digit dataset (MNIST)")
        if self.real_sketches and not self.negatives:
            problems.append("real sketches are taught as 'not a digit': they need negatives")
        bad = set(self.distortions) - set(CANVAS_DISTORTIONS)
        if bad:
            problems.append(f"unknown canvas distortions {sorted(bad)} (choose from {', '.join(CANVAS_DISTORTIONS)})")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def distortions(self) -> tuple[str, ...]:
        if self.canvas_augment.strip() == "all":
            return CANVAS_DISTORTIONS
        return tuple(d.strip() for d in self.canvas_augment.split(",") if d.strip())

    def model_config(self) -> LeNetConfig:
        rbf = PRESETS.get(self.arch, PRESETS["lenet5"]).output == "rbf"
        if self.map_criterion or (self.negatives and rbf):  # RBF: negatives are the MAP's "none of these"
            return preset(self.arch, rbf_reject=MAP_REJECT_PENALTY)
        return preset(self.arch, reject_class=True) if self.negatives else preset(self.arch)


def recipe(arch: str | None = None, **settings) -> TrainConfig:
    """Where every run starts: the default recipe (recipes/default.toml) with `arch`'s own settings where it has
    them (the paper's lenet5-1998 starts from a lower rate); `settings` win."""
    from lenet import recipes

    return TrainConfig(**{**recipes.defaults(arch), **settings})


def _shown(value) -> str:
    """A number as a person typed it: 1e+09 rather than 1000000000.0, 65,537 rather than 65537."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


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
        self.train = Split(train.images[order[n_val:]], train.labels[order[n_val:]])
        if cfg.coarse:  # from the training digits only: no coarse twin of a held-out digit
            self.train = with_coarse(self.train, cfg.seed)
        if cfg.hand_digits:
            self.train = with_hand_digits(self.train, cfg.seed)
        if cfg.optdigits:
            self.train = with_optdigits(self.train, cfg.seed)
        if cfg.real_hands:
            from lenet.real_hands import with_real_hands
            self.train = with_real_hands(self.train, cfg.seed)
        self.train = self.train.to(self.device)
        if len(self.train) == 0:
            raise ValueError("no training images left after the validation split")
        self.steps_per_epoch = math.ceil(len(self.train) / cfg.batch_size)
        self.classes = dataset_info(cfg.dataset).classes
        self.fast = fast_path(self.device, cfg.precision, self.model.config)
        self.negatives = (NegativeBank(min(8000, max(2000, len(self.train) // 8)), cfg.seed, self.device)
                          if cfg.negatives else None)
        if cfg.real_sketches and self.negatives is not None:
            from lenet.real_hands import add_sketches
            add_sketches(self.negatives, cfg.seed)
        self.styles = StyleBank(seed=cfg.seed, device=self.device) if cfg.styles else None
        self.history: list[dict] = []  # epoch events
        self.final: dict | None = None  # the last test evaluation

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
        """(inputs, targets): the digits first, then any generated negatives (target = num_classes)."""
        x = self.train.images[idx].float().div_(255).unsqueeze(1)  # (B, 1, 28, 28) in [0, 1]
        y = self.train.labels[idx]
        if self.cfg.augment:
            x = random_affine(x, self.gen, **AFFINE_PRESETS[self.cfg.affine])
        if self.cfg.distortions:
            k = round(len(x) * CANVAS_SHARE)
            x = torch.cat([canvas_like(x[:k], self.gen, self.cfg.distortions), x[k:]])
        if self.styles is not None:  # after the batch's digits, so the running accuracy counts MNIST only
            xs, ys = self.styles.sample(max(1, round(len(x) * self.cfg.style_share)), self.gen)
            x, y = torch.cat([x, xs]), torch.cat([y, ys])
        if self.negatives is not None:
            k = max(1, round(len(idx) * NEGATIVE_SHARE))
            x = torch.cat([x, self.negatives.sample(k, self.gen, digits=x)])
            y = torch.cat([y, y.new_full((k,), self.model.config.num_classes)])
        return self.fast.input(to_model_input(x, self.model.config)), y

    def _snapshot(self):
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

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

    def run(self) -> Iterator[dict]:
        opt = self._optimizer()
        sched, when = self._scheduler(opt)
        t0 = time.perf_counter()
        r = _Run(opt=opt, sched=sched, sched_when=when, t0=t0, shown=t0, good=self._snapshot())
        self.fast.prepare(self.model)
        try:
            yield self._start_event()
            for r.epoch in range(1, self.cfg.epochs + 1):
                summary = yield from self._train_epoch(r)
                if r.failed:
                    return
                yield from self._evaluate_epoch(r, summary)
                if self._stop_early(r):
                    r.reason = "early_stopping"
                    break
            yield self._finish(r)
        finally:
            self.fast.restore(self.model)  # plain memory layout again, however the run ended

    def _start_event(self) -> dict:
        return {"type": "start", "elapsed": 0.0, "epoch": 0, "step": 0, "settings": dataclasses.asdict(self.cfg),
                "device": str(self.device), "precision": self.fast.name, "n_train": len(self.train),
                "n_val": len(self.val or ()), "n_test": len(self.test), "steps_per_epoch": self.steps_per_epoch,
                "total_steps": self.cfg.epochs * self.steps_per_epoch,
                "parameters": self.model.num_parameters(), "classes": list(self.classes)}

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
        if r.sched_when == "step":
            r.sched.step()
        r.step += 1
        if r.first_loss is None:
            r.first_loss = loss.item()
        return loss, scores, y

    def _train_epoch(self, r: _Run) -> Iterator[dict]:
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
            if event["type"] == "error":
                r.failed = True
                yield event
                return None
            r.shown = time.perf_counter()
            ep_loss += event["loss"] * win.n
            ep_correct += event["accuracy"] * win.n
            yield event
            win = _Window(zero(), zero(), since=time.perf_counter())
            if i in tests and i < self.steps_per_epoch:  # the end-of-epoch test is _evaluate_epoch's
                yield self._eval_event(r, "test", self.test, progress=i / self.steps_per_epoch)
        return {"type": "epoch", "epoch": r.epoch, "step": r.step, "train_loss": ep_loss / len(self.train),
                "train_accuracy": ep_correct / len(self.train), "lr": r.opt.param_groups[0]["lr"]}

    def _step_event(self, r: _Run, win: _Window, i: int) -> dict:
        """The window's step event, or an error event after restoring the last good weights."""
        now = time.perf_counter()
        mean_loss, acc = win.loss.item() / win.n, win.correct.item() / win.n
        if not math.isfinite(mean_loss) or mean_loss > 50 * max(r.first_loss, 1.0):
            self.model.load_state_dict(r.good)
            kind = "nan" if not math.isfinite(mean_loss) else "diverged"
            return {"type": "error", "reason": kind, "epoch": r.epoch, "step": r.step, "elapsed": r.elapsed(),
                    "loss": mean_loss if math.isfinite(mean_loss) else None,  # NaN is not JSON
                    "message": f"Training {'produced a NaN/infinite loss' if kind == 'nan' else 'diverged'}"
                               f" at step {r.step} (loss {mean_loss:.3g}); the learning rate "
                               f"{self.cfg.lr:g} is probably too high. The last good weights were kept."}
        r.good = self._snapshot()
        done_frac = r.step / (self.cfg.epochs * self.steps_per_epoch)
        return {"type": "step", "epoch": r.epoch, "step": r.step, "epoch_progress": i / self.steps_per_epoch,
                "loss": mean_loss, "accuracy": acc, "lr": r.opt.param_groups[0]["lr"], "images": win.n,
                "cross_entropy": win.ce.item() / win.n if win.ce is not None else mean_loss,
                "images_per_s": win.n / max(now - win.since, 1e-9), "elapsed": r.elapsed(),
                "eta": r.elapsed() * (1 - done_frac) / done_frac}

    def _eval_event(self, r: _Run, split: str, data: Split, progress: float = 1.0) -> dict:
        result = evaluate(self.model, data)
        if split == "test":
            self.final = result
        return {"type": "eval", "split": split, "epoch": r.epoch, "epoch_progress": progress, "step": r.step,
                "elapsed": r.elapsed(), "loss": result["loss"], "accuracy": result["accuracy"]}

    def _evaluate_epoch(self, r: _Run, summary: dict) -> Iterator[dict]:
        """Validation and test evaluation, the per-epoch schedules, the best epoch; then the summary event."""
        if self.val is not None:
            v = self._eval_event(r, "val", self.val)
            summary.update(val_loss=v["loss"], val_accuracy=v["accuracy"])
            yield v
        t = self._eval_event(r, "test", self.test)
        summary.update(test_loss=t["loss"], test_accuracy=t["accuracy"])
        yield t
        monitored = summary.get("val_loss", summary["train_loss"])
        if r.sched_when == "epoch":
            r.sched.step()
        elif r.sched_when == "plateau":
            r.sched.step(monitored)
        if monitored < r.best_loss:
            r.best_loss, r.best_epoch, r.stale = monitored, r.epoch, 0
            r.best_weights = self._snapshot() if self.val is not None else None
        else:
            r.stale += 1
        summary["elapsed"] = r.elapsed()
        self.history.append(summary)
        yield summary

    def _stop_early(self, r: _Run) -> bool:
        c = self.cfg
        return bool(c.early_stopping) and r.stale >= c.early_stopping and r.epoch < c.epochs

    def _finish(self, r: _Run) -> dict:
        """Back to the best epoch's weights when a validation split chose one; the done event."""
        best_epoch = r.epoch
        if self.cfg.keep_best and r.best_weights is not None and r.best_epoch != r.epoch:
            self.model.load_state_dict(r.best_weights)
            best_epoch = r.best_epoch
            self.final = evaluate(self.model, self.test)
        self.model.eval()
        return {"type": "done", "reason": r.reason, "epoch": r.epoch, "step": r.step, "elapsed": r.elapsed(),
                "best_epoch": best_epoch, "test_loss": self.final["loss"], "test_accuracy": self.final["accuracy"],
                **run_outcome(self.final["accuracy"], len(self.classes))}


def start_from(model: LeNet, path: str) -> dict:
    """Copy a checkpoint's weights into `model` (same architecture) and return its meta. A "not a digit" output
    the checkpoint lacks keeps its fresh initialisation; the ten digit units are copied."""
    from lenet.checkpoint import load_checkpoint

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



def to_cpu_weights(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def train_stream(cfg: TrainConfig, weights_every: float = 0.5) -> Iterator[tuple[dict, dict | None]]:
    """`Trainer.run()`'s events as (event, CPU weights or None): how often weights leave training.

    Weights are attached every `weights_every` s of steps and to every epoch, done and error event. A
    test "eval" event also carries that evaluation's confusion matrix and per-image predictions (uint8),
    so a UI can show how the test set is read as the model learns. Only plain dicts and CPU tensors come
    out: this is what may cross back from a GPU worker.
    """
    trainer = Trainer(cfg)
    last = 0.0
    for ev in trainer.run():
        now = time.perf_counter()
        attach = ev["type"] in ("done", "error", "epoch") or (ev["type"] == "step" and now - last >= weights_every)
        if attach:
            last = now
        if ev["type"] == "eval" and ev.get("split") == "test" and "confusion" not in ev:
            ev = {**ev, **_test_readings(trainer)}
        yield ev, to_cpu_weights(trainer.model) if attach else None


def _test_readings(trainer: Trainer) -> dict:
    """The last test evaluation's confusion and predictions, when it covered the whole test split."""
    final = trainer.final or {}
    predictions = final.get("predictions")
    if predictions is None or len(predictions) != len(trainer.test):
        return {}
    return {"confusion": final["confusion"], "predictions": torch.tensor(predictions, dtype=torch.uint8)}


def checkpoint_meta(trainer: Trainer, command: str | None = None) -> dict:
    """What a checkpoint should record about the run that made it."""
    final = trainer.final or {}
    return {"arch": trainer.cfg.arch, "dataset": trainer.cfg.dataset, "classes": list(trainer.classes),
            "settings": dataclasses.asdict(trainer.cfg), "command": command,
            "epochs": len(trainer.history), "history": trainer.history,
            "metrics": {"test_accuracy": final.get("accuracy"), "test_loss": final.get("loss"),
                        "test_n": final.get("n")}}


def build_parser() -> argparse.ArgumentParser:
    d = recipe()
    p = argparse.ArgumentParser(prog="python -m lenet.train", description="Train a LeNet and save a checkpoint.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--recipe", metavar="TOML", help="replay a recipe file's stages (recipes/*.toml); with it only "
                                                    "--data-dir, --device, --out, --json and --dry-run apply")
    p.add_argument("--dry-run", action="store_true", help="with --recipe: print the stages' resolved settings")
    p.add_argument("--reuse", action="append", metavar="STAGE=FILE",
                   help="with --recipe: take STAGE's output from FILE instead of running it (and the stages only it "
                        "needed), e.g. styles-and-writers=checkpoints/lenet5-mnist.safetensors")
    p.add_argument("--arch", choices=list(PRESETS), default=d.arch)
    p.add_argument("--dataset", choices=list(DATASETS), default=d.dataset)
    p.add_argument("--data-dir", default=default_data_dir(), help="torchvision-layout folder (env LENET_DATA_DIR)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, help=f"learning rate (the peak for onecycle); default {d.lr:g}, "
                                            "or the architecture's own (recipes/default.toml)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--betas", type=float, nargs=2, metavar=("B1", "B2"),
                   help=f"Adam's betas; default {d.betas[0]:g} {d.betas[1]:g}, or the architecture's own")
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--warmup", type=float, default=d.warmup, help="onecycle: share of the steps rising to the peak")
    p.add_argument("--label-smoothing", type=float,
                   help=f"default {d.label_smoothing:g}, or the architecture's own")
    p.add_argument("--augment", action="store_true", help="random affine distortions, as in the paper")
    p.add_argument("--affine", choices=list(AFFINE_PRESETS), default=d.affine,
                   help="with --augment: 'paper' = translation, scaling, squeezing, shear, no rotation")
    p.add_argument("--val-split", type=float, default=d.val_split)
    p.add_argument("--early-stopping", type=int, default=d.early_stopping, metavar="PATIENCE")
    p.add_argument("--no-keep-best", dest="keep_best", action="store_false")
    p.add_argument("--map-criterion", action="store_true",
                   help="RBF models: the paper's MAP loss (Eq. 9) with a 'none of these' class")
    p.add_argument("--negatives", action="store_true",
                   help="also learn what is not a digit: generated scribbles, doodles, letters, symbols "
                        "(an 11th output; RBF models: the MAP criterion's 'none of these')")
    p.add_argument("--styles", action="store_true",
                   help="also learn ways of writing a digit MNIST lacks: drawn continental ones (flag, foot), "
                        "slashed zeros")
    p.add_argument("--style-share", type=float, default=d.style_share, metavar="SHARE",
                   help=f"with --styles: drawn style digits per digit in every batch (default {d.style_share:g})")
    p.add_argument("--coarse", action="store_true",
                   help="also learn digits as an 8x8 scan leaves them (lenet.coarse): coarse copies of "
                        f"{COARSE_SHARE * 100:.0f}%% of the training digits, built once before the first step "
                        "(about 25 s on one core)")
    p.add_argument("--hand-digits", action="store_true",
                   help=f"also learn the digits of {len(CALIBRATION_HANDS)} handwriting fonts "
                        "(lenet.hand_fonts.CALIBRATION_HANDS), as drawn and as coarse copies; the fonts are fetched "
                        "from npm's registry once")
    p.add_argument("--optdigits", action="store_true",
                   help="also learn the real handwriting of 30 writers outside MNIST: UCI optdigits' training part "
                        f"(8x8 scans, bundled; lenet.optdigits), {OPTDIGITS_COPIES} renderings of each of its 3,823 "
                        "digits, built once (about 20 s)")
    p.add_argument("--real-hands", action="store_true",
                   help="also learn UNIPEN's training writers' pen digits (bundled; lenet.real_hands), drawn on the "
                        "pad as a visitor draws, two renderings each, built once (about a minute)")
    p.add_argument("--real-sketches", action="store_true",
                   help="with --negatives: also learn TU-Berlin's training kinds' sketches (bundled) as not a digit")
    p.add_argument("--canvas-augment", nargs="?", const="all", default=d.canvas_augment, metavar="LIST",
                   help="canvas-like distortions for half of each batch: 'all' (the default when given without "
                        f"a value) or a comma-separated list of {', '.join(CANVAS_DISTORTIONS)}")
    p.add_argument("--init", metavar="CHECKPOINT", help="start from this checkpoint's weights (same --arch)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or mps")
    p.add_argument("--final-evals", type=int, default=d.final_evals,
                   help="test evaluations in the last epoch, evenly spaced")
    p.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                   help="auto: bfloat16 autocast on CPUs with native bfloat16, float32 otherwise")
    p.add_argument("--out", help="checkpoint path (.safetensors)")
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The options given, and the architecture's defaults (recipes/default.toml) for those that were not."""
    opts = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    opts = {k: v for k, v in opts.items() if v is not None}  # not given: recipe() or TrainConfig decides
    if "betas" in opts:
        opts["betas"] = tuple(opts["betas"])
    return recipe(**opts)


def run_and_save(trainer: Trainer, out: str | None, command: str, json_events: bool = False,
                 extra_meta: dict | None = None) -> bool:
    """Run a trainer to its end, printing its events (JSON lines, or a progress bar and one line per epoch),
    and save the checkpoint to `out` unless the run failed. True when it succeeded."""
    from lenet.checkpoint import save_checkpoint

    bar = None
    if not json_events:
        from tqdm import tqdm
        bar = tqdm(total=trainer.steps_per_epoch * trainer.cfg.epochs, unit="step", dynamic_ncols=True)
    failed = False
    for ev in trainer.run():
        if json_events:
            print(json.dumps(ev), flush=True)
        elif ev["type"] == "step":
            bar.update(ev["step"] - bar.n)
            bar.set_postfix(epoch=ev["epoch"], loss=f"{ev['loss']:.4f}", acc=f"{ev['accuracy']:.3f}",
                            img_s=f"{ev['images_per_s']:.0f}")
        elif ev["type"] == "epoch":
            extra = f"  val {ev['val_accuracy']:.2%}" if "val_accuracy" in ev else ""
            bar.write(f"epoch {ev['epoch']}: train loss {ev['train_loss']:.4f} acc {ev['train_accuracy']:.2%}"
                      f"{extra}  test {ev['test_accuracy']:.2%}  ({ev['elapsed']:.1f}s)")
        elif ev["type"] in ("done", "error"):
            if bar:
                bar.close()
            failed = ev["type"] == "error" or ev.get("failed", False)
            msg = ev.get("message") or ev.get("failure") or (
                f"done ({ev['reason']}): test accuracy {ev['test_accuracy']:.2%}, "
                f"error {1 - ev['test_accuracy']:.2%}, {ev['elapsed']:.1f}s")
            if failed and out:
                msg += f" Not saved to {out}."
            print(msg, file=sys.stderr if failed else sys.stdout)
    if out and not failed:
        path = save_checkpoint(out, trainer.model.cpu(), {**checkpoint_meta(trainer, command), **(extra_meta or {})})
        if not json_events:
            print(f"saved {path}")
    return not failed


def main(argv=None) -> int:
    from lenet.data import DatasetUnavailable

    args = build_parser().parse_args(argv)
    if args.recipe:
        from lenet.recipes import replay_main

        return replay_main(args)
    command = "python -m lenet.train " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        trainer = Trainer(config_from_args(args))
    except (ValueError, DatasetUnavailable, FontUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if run_and_save(trainer, args.out, command, args.json) else 1


if __name__ == "__main__":
    sys.exit(main())
