"""What the Train tab shows while a run goes and after it: settings' choices, the curves, the status line, the
results."""
from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass, field


from lenet.sources.data import DATASETS, dataset_info, is_available_offline
from lenet.present.icons import FAIL, OK, STOP, WAIT, WARN
from lenet.reading.inference import LoadedModel
from lenet.present.charts import Series, line_chart, log_range
from lenet.training.config import TrainConfig
from lenet.training.events import Done, Eval, Event, Failed, Start, Step
from lenet.training.trainer import checkpoint_meta, run_outcome


def default_dataset() -> str:
    """Full MNIST when it is on this machine; otherwise the bundled sample, which always works."""
    return "mnist" if is_available_offline("mnist") else "mnist-sample"


def dataset_choices() -> list[tuple[str, str]]:
    """Names a person reads; where the data comes from is the dropdown's `info` (DATASET_INFO)."""
    return [(info.choice, k) for k, info in DATASETS.items()]


DATASET_INFO = "The full sets download once, on first use; the samples ship with the app and work offline."


def suggested_epochs(dataset: str) -> int:
    """The default recipe's epochs for full datasets (bench/training/time_to_99.py: every seed reaches 99.0% on MNIST);
    the bundled samples need more passes to learn."""
    return 10 if dataset_info(dataset).sample else TrainConfig().epochs


PAPER_ERRORS = (("1998 paper: 0.95% error", 0.95, False), ("1998 paper, distortions: 0.8%", 0.8, True))
WATCH_DRAWING = "my drawing"  # the Train tab's "digit to watch" choices: the Draw canvas, or a test image
WATCH_TEST = "a test digit of class"


def paper_lines(cfg: TrainConfig) -> list[tuple[str, float]]:
    """The paper's test errors where they apply: full MNIST only, 0.8% for runs with distortions."""
    if cfg.dataset != "mnist":
        return []
    return [(name, err) for name, err, distorted in PAPER_ERRORS if distorted == cfg.augment]


def run_label(cfg: TrainConfig) -> str:
    aug = " · augment" if cfg.augment else ""
    return f"{cfg.arch} · {cfg.optimizer} lr {cfg.lr:g} · bs {cfg.batch_size}{aug}"


def smoothing_span(n_train: int) -> int:
    """Images the running train error averages over: a tenth of an epoch, within 500-5,000 (round)."""
    span = min(max(n_train // 10, 500), 5000)
    return int(round(span, -2))


def smoothing_floor(eps: float, k: int) -> float:
    """The smallest cross-entropy against label-smoothed targets over k classes: their own entropy."""
    hi, lo = 1 - eps + eps / k, eps / k
    return -(hi * math.log(hi) + (k - 1) * lo * math.log(lo))


def _marker(epoch: float | None) -> tuple[float, str] | None:
    return None if epoch is None else (float(epoch), f"shown: epoch {epoch:.2f}".rstrip("0").rstrip("."))


@dataclass(frozen=True)
class Curves:
    """One run's curves, kept per visitor so the next run can draw them (dashed) for comparison."""
    label: str
    epochs: int
    loss: dict  # series name -> [(epoch, cross-entropy)]
    error: dict  # series name -> [(epoch, error %)]


@dataclass
class TrainView:
    """Accumulates events into curves, a status line and this visitor's model."""

    cfg: TrainConfig
    previous: Curves | None = None  # the visitor's previous run, drawn dashed
    loss: dict = field(default_factory=lambda: {"train": [], "val": [], "test": []})
    error: dict = field(default_factory=lambda: {"train": [], "val": [], "test": []})
    state: str = "starting"
    test_accuracy: float | None = None
    start: Start | None = None
    last: Step | None = None  # the latest step event
    done: Done | None = None  # the run's end: its final test evaluation, which finish_view shows
    failure: Failed | None = None
    raw_error: list = field(default_factory=list)  # train error % of each window of batches (drawn faint)
    smooth_error: float | None = None
    span: int = 2000  # images the running train error averages over (smoothing_span)

    def __post_init__(self):
        # before the run's start event says how many training images there are: the usual count (the samples
        # bundle ~4,000, the full sets 60,000), less the validation split
        n = 4000 if self.cfg.dataset in DATASETS and dataset_info(self.cfg.dataset).sample else 60000
        self.span = smoothing_span(int(n * (1 - self.cfg.val_split)))

    def add(self, ev: Event) -> None:
        if isinstance(ev, Start):
            self.start = ev
            self.state = "training"
            self.span = smoothing_span(ev.n_train)
        elif isinstance(ev, Step):
            x = ev.epochs_done
            # the loss the test loss is comparable with: plain cross-entropy (the optimised one has label smoothing)
            self.loss["train"].append((x, ev.cross_entropy))
            # each window of batches is noisy (and 0% wrong on a lucky one): a running figure over the last
            # `span` images is the train error, the windows themselves are drawn faint under it
            error = 100 * (1 - ev.accuracy)
            self.raw_error.append((x, error))
            k = 1 - math.exp(-ev.images / self.span)
            self.smooth_error = error if self.smooth_error is None else self.smooth_error + k * (error - self.smooth_error)
            self.error["train"].append((x, self.smooth_error))
            self.last = ev
        elif isinstance(ev, Eval):  # the end of an epoch, or a point inside the last one (epoch_progress < 1)
            self.loss[ev.split].append((ev.epochs_done, ev.loss))
            self.error[ev.split].append((ev.epochs_done, 100 * (1 - ev.accuracy)))
            if ev.split == "test":
                self.test_accuracy = ev.accuracy
        elif isinstance(ev, Done):
            self.state = "failed" if ev.failed else ev.reason
            self.test_accuracy = ev.test_accuracy
            self.done = ev
        elif isinstance(ev, Failed):
            self.state = "diverged"
            self.failure = ev

    def stopped(self) -> None:
        self.state = "stopped"

    @property
    def epoch(self) -> float:
        """Fractional epochs done, for snapshots."""
        return self.last.epochs_done if self.last is not None else 0.0

    def curves(self) -> Curves:
        return Curves(run_label(self.cfg), self.cfg.epochs, self.loss, self.error)

    def _series(self, which: str) -> list[Series]:
        data, prev = (self.loss, self.previous.loss if self.previous else None) if which == "loss" else \
            (self.error, self.previous.error if self.previous else None)
        splits = ("train", "val", "test") if self.cfg.val_split > 0 else ("train", "test")
        out = [Series(name, name, data[name]) for name in splits]
        if which == "error":
            out.insert(1, Series("train, each update", "train", self.raw_error, faint=True))
        if prev is not None:  # the previous run: only the splits it has, so the legend stays true
            out += [Series(f"previous: {name}", name, prev[name], dashed=True) for name in ("train", "test")
                    if prev.get(name)]
        if which == "error":
            x_end = float(self.x_max)
            out += [Series(name, "ref", [(0.0, err), (x_end, err)], label_at_end=f"{err:g}%")
                    for name, err in paper_lines(self.cfg)]
        return out

    @property
    def x_max(self) -> int:
        return max(self.cfg.epochs, self.previous.epochs if self.previous else 0)

    def loss_html(self, marker: float | None = None) -> str:
        series = self._series("loss")
        values = [y for s in series for _, y in s.points]
        eps = self.cfg.label_smoothing
        note = "train: cross-entropy of the batches being learned, measured as for test."
        if eps > 0:
            k = len(dataset_info(self.cfg.dataset).classes) + bool(self.cfg.share("negatives"))
            note += (f" Training minimises a label-smoothed loss ({eps:g}, never below "
                     f"{smoothing_floor(eps, k):.2f}) so the network is not over-confident.")
        return line_chart("Loss", "cross-entropy", series, self.x_max,
                          log_range(values, floor=1e-3, empty=(0.1, 10)), marker=_marker(marker), note=note)

    def error_html(self, marker: float | None = None) -> str:
        series = self._series("error")
        values = [y for s in series if not s.faint for _, y in s.points]
        note = (f"train: error over the last ~{self.span:,} training images (faint: each update alone). "
                "test: images it never trains on.")
        return line_chart("Error rate", "error %", series, self.x_max,
                          log_range(values, floor=0.01, ceiling=100, empty=(0.1, 100)), unit="%",
                          marker=_marker(marker), note=note)

    def status(self) -> str:
        s, ev = self.start, self.last
        if self.state == "diverged":
            why = self.failure.message if self.failure is not None else ""
            return f"### {WARN} Stopped: the run diverged\n{html.escape(why)}"
        if s is None:
            return f"### {WAIT} Loading {html.escape(dataset_info(self.cfg.dataset).title)}…"
        step = ev.step if ev is not None else 0
        bar = _progress_bar(step / s.total_steps if s.total_steps else 0)
        where = f"on {html.escape(s.device)} · {s.n_train:,} training images · {s.parameters:,} parameters"
        if self.state == "failed":
            return (f"### {FAIL} This run failed: it learned nothing\n{bar}\n{html.escape(self.done.failure or '')} "
                    "Draw and Inspect keep the model they had; pick “your model” in the Model menu to try it anyway.")
        if self.state in ("finished", "early-stopped"):
            how = "Done" if self.state == "finished" else "Done, stopped early (it had stopped improving)"
            return (f"### {OK} {how} · test accuracy {self.test_accuracy:.2%}\n{bar}\n"
                    f"{where}. Your model is now selected in Draw and Inspect.")
        if self.state == "stopped":
            at = f" in epoch {ev.epoch}, step {step}" if ev is not None else " before the first step"
            return f"### {STOP} Stopped{at}\n{bar}\nKept what was learned so far: its test results appear below."
        if ev is None:
            return f"### Training started\n{bar}\n{where}"
        test = f" · test accuracy {self.test_accuracy:.2%}" if self.test_accuracy is not None else ""
        train = (f"train accuracy {1 - self.smooth_error / 100:.1%} (last ~{self.span:,} images)"
                 if self.smooth_error is not None else f"train accuracy {ev.accuracy:.1%}")
        return (f"### Training · epoch {ev.epoch}/{self.cfg.epochs} · step {step}/{s.total_steps}\n{bar}\n"
                f"{train}{test} · {ev.images_per_s:,.0f} images/s · "
                f"{ev.elapsed:.0f} s elapsed · about {ev.eta:.0f} s left\n\n{where}")

    def model(self, weights: dict) -> LoadedModel:
        """This visitor's model with `weights` (the run's latest), recording the run as a checkpoint would."""
        final = {"accuracy": self.test_accuracy} if self.done is None else self.done.evaluation
        meta = checkpoint_meta(self.cfg, dataset_info(self.cfg.dataset).classes, final=final)
        lm = LoadedModel.from_weights(self.cfg.model_config(), weights, meta, source="trained")
        return dataclasses.replace(lm, run_state=self.state)


def _progress_bar(frac: float) -> str:
    frac = min(max(frac, 0.0), 1.0)
    return f'<div class="progress"><div style="width:{frac * 100:.1f}%"></div></div>'


def finish_view(lm: LoadedModel, evaluation: dict) -> tuple[str, LoadedModel]:
    """After a run (finished or stopped): the results text and the final model (finalized), given the final
    model's test evaluation (the done event's, or lenet.evaluate's for a stopped run)."""
    r = evaluation
    meta = {**lm.meta, "metrics": {"test_accuracy": r["accuracy"], "test_loss": r["loss"], "test_n": r["n"]}}
    run_state = "stopped" if lm.run_state == "training" else lm.run_state
    outcome = run_outcome(r["accuracy"], len(lm.classes))
    if outcome["failed"] and run_state in ("finished", "early-stopped"):  # a run the visitor stopped stays "stopped"
        run_state = "failed"
    how = {"stopped": f"{STOP} Stopped — kept what was learned so far",
           "diverged": f"{WARN} The run diverged — kept the last good weights",
           "failed": f"{FAIL} This run failed: it learned nothing"}.get(run_state, f"{OK} Finished")
    title = DATASETS[lm.dataset].title
    use = ("It is now **your model** in Draw and Inspect, for you only; reloading the page returns to the shipped "
           "models. Download it below to keep it.")
    if run_state == "failed":
        use = (f"{html.escape(outcome['failure'])} Draw and Inspect keep the model they had; it is listed as “your "
               "model” in the Model menu if you want to try it anyway.")
    md = (f"### {how}\nTest accuracy **{r['accuracy']:.2%}** on {r['n']:,} {title} test images "
          f"({len(r['misclassified'])} misread). {use}")
    return md, dataclasses.replace(lm, meta=meta, run_state=run_state, finalized=True)


def download_name(lm: LoadedModel) -> str:
    return f"{lm.arch}-{lm.dataset}-yours.safetensors"
