"""What a training run is given: `TrainConfig` (every setting, checked), and `recipe()`, where every run starts
(recipes/default.toml with the architecture's own settings)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from lenet.net.config import PRESETS, LeNetConfig, preset
from lenet.net.model import MAP_REJECT_PENALTY
from lenet.sources import mix as registry
from lenet.sources.augment import AFFINE_PRESETS
from lenet.sources.data import DATASETS
from lenet.training.device import PRECISIONS


def _shown(value) -> str:
    """A number as a person typed it: 1e+09 rather than 1000000000.0, 65,537 rather than 65537."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "onecycle", "step", "plateau", "paper")


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
    ema: float = 0.0  # decay of a running average of the weights, evaluated and kept instead of them; 0 = off
    map_criterion: bool = False  # RBF models: train with the paper's MAP criterion (adds "none of these")
    # What it learns from beyond the dataset: (source, share) pairs of lenet.sources.mix, in its order. Given as a
    # mapping or pairs; kept canonical. "negatives" adds an 11th output ("not a digit"), or the MAP class.
    mix: registry.Mix = ()
    init: str | None = None  # start from this checkpoint's weights (e.g. to add negatives to a trained model)
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
        if not (math.isfinite(self.ema) and 0 <= self.ema < 1):
            problems.append(f"weight averaging (ema) must be a decay in [0, 1), got {self.ema}")
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
        try:
            object.__setattr__(self, "mix", registry.canonical(self.mix))  # frozen: set once, here
            digits = self.dataset not in DATASETS or DATASETS[self.dataset].torchvision_class == "MNIST"
            problems += registry.problems(self.mix, digits)
        except (TypeError, ValueError) as e:  # not pairs, an unknown source, a share that is not a number
            problems.append(str(e))
        if problems:
            raise ValueError("; ".join(problems))

    def share(self, source: str) -> float:
        """The source's share in the mix; 0 when it is not in it."""
        return dict(self.mix).get(source, 0.0)

    def model_config(self) -> LeNetConfig:
        rbf = PRESETS.get(self.arch, PRESETS["lenet5"]).output == "rbf"
        negatives = bool(self.share("negatives"))
        if self.map_criterion or (negatives and rbf):  # RBF: negatives are the MAP's "none of these"
            return preset(self.arch, rbf_reject=MAP_REJECT_PENALTY)
        return preset(self.arch, reject_class=True) if negatives else preset(self.arch)


def recipe(arch: str | None = None, **settings) -> TrainConfig:
    """Where every run starts: the default recipe (recipes/default.toml) with `arch`'s own settings where it has
    them (the paper's lenet5-1998 starts from a lower rate); `settings` win."""
    from lenet.training import recipes

    return TrainConfig(**{**recipes.defaults(arch), **settings})
