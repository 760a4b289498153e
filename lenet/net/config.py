"""One small frozen config per model; it is saved inside every checkpoint and rebuilds the model."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

ACTIVATIONS = ("relu", "tanh", "scaled_tanh", "sigmoid")
POOLINGS = ("max", "avg", "subsample")  # subsample: the paper's trainable 2x2 sum * coef + bias
C3_TABLES = ("full", "paper")
OUTPUTS = ("linear", "rbf")
INITS = ("default", "lecun98")


@dataclass(frozen=True)
class LeNetConfig:
    activation: str = "relu"
    pooling: str = "max"
    input_size: int = 32  # 32: MNIST's 28x28 padded with background, as in the paper; 28: no padding
    c1_channels: int = 6
    c3_channels: int = 16
    c5_units: int = 120
    f6_units: int = 84
    num_classes: int = 10
    batch_norm: bool = False
    dropout: float = 0.0  # after C5 and F6
    c3_table: str = "full"  # "paper": the sparse S2->C3 connection table (needs 6 -> 16 maps)
    output: str = "linear"  # "rbf": Euclidean RBF units with fixed prototypes (needs 84 F6 units)
    init: str = "default"  # "lecun98": uniform +-2.4 / fan_in, as in the paper
    # RBF outputs only: the constant j of the paper's MAP criterion (Eq. 9), a "none of these" class every
    # digit must beat; None trains plain cross-entropy on the negative distances.
    rbf_reject: float | None = None
    # Linear outputs only: one more output unit, "not a digit", trained on generated negatives
    # (lenet.sources.negatives) -- the linear counterpart of the RBF's "none of these".
    reject_class: bool = False
    # Input normalisation of pixels in [0, 1]; it belongs to the model, so it is saved with it.
    mean: float = 0.1307
    std: float = 0.3081

    def __post_init__(self):
        # Configs also arrive inside uploaded checkpoints: check types and sizes before building anything.
        for name, (lo, hi) in {"c1_channels": (1, 256), "c3_channels": (1, 256), "c5_units": (1, 4096),
                               "f6_units": (1, 4096), "num_classes": (2, 1000), "input_size": (28, 32)}.items():
            v = getattr(self, name)
            if type(v) is not int or not lo <= v <= hi:
                raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")
        for name in ("dropout", "mean", "std"):
            v = getattr(self, name)
            if type(v) not in (int, float) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        for name in ("batch_norm", "reject_class"):
            if type(getattr(self, name)) is not bool:
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name, allowed in (("activation", ACTIVATIONS), ("pooling", POOLINGS),
                              ("c3_table", C3_TABLES), ("output", OUTPUTS), ("init", INITS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.input_size not in (28, 32):
            raise ValueError(f"input_size must be 28 or 32, got {self.input_size}")
        if self.c3_table == "paper" and (self.c1_channels, self.c3_channels) != (6, 16):
            raise ValueError("the paper's C3 table connects 6 S2 maps to 16 C3 maps")
        if self.output == "rbf" and (self.f6_units, self.num_classes) != (84, 10):
            raise ValueError("RBF prototypes are 7x12 bitmaps of 10 digits: need f6_units=84, 10 classes")
        if self.rbf_reject is not None and (self.output != "rbf" or type(self.rbf_reject) not in (int, float)
                                            or not 0 < self.rbf_reject < 1000):
            raise ValueError(f"rbf_reject needs an RBF output and a value in (0, 1000), got {self.rbf_reject!r}")
        if self.reject_class and self.output != "linear":
            raise ValueError("reject_class adds a linear output unit; RBF models use rbf_reject instead")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.std <= 0:
            raise ValueError("std must be positive")

    @property
    def can_reject(self) -> bool:
        """True when the model has a learned "not a digit" output (an 11th unit, or the MAP's constant)."""
        return self.reject_class or self.rbf_reject is not None

    @property
    def pad(self) -> int:
        """Background pixels added on each side of the 28x28 digit to make the input (2 for 32x32, 0 for 28)."""
        return (self.input_size - 28) // 2

    @property
    def s4_size(self) -> int:
        return ((self.input_size - 4) // 2 - 4) // 2  # conv 5x5 -> pool 2 -> conv 5x5 -> pool 2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LeNetConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return cls(**d)


# The paper's input scaling: background -0.1, ink 1.175, i.e. x * 1.275 - 0.1 = (x - mean) / std.
_PAPER_STD = 1 / 1.275
_PAPER_MEAN = 0.1 * _PAPER_STD

@dataclass(frozen=True)
class Architecture:
    """A preset as a person meets it: a plain name, one line on what it is, and the config that builds it."""
    name: str
    description: str
    config: LeNetConfig


# One table, so names, descriptions and configs cannot disagree; the key is the id the CLI and checkpoints use.
ARCHITECTURES: dict[str, Architecture] = {
    # The common "modern LeNet-5": ReLU, max-pool, full C3, 32x32 input -> 61,706 parameters.
    "lenet5": Architecture("LeNet-5", "modern LeNet-5: ReLU, max-pool, 32x32 input", LeNetConfig()),
    # Faithful to LeCun et al. 1998 -> 60,000 trainable parameters.
    "lenet5-1998": Architecture(
        "LeNet-5 (1998)", "LeNet-5 as in the 1998 paper: scaled tanh, trainable subsampling, sparse C3, RBF output",
        LeNetConfig(activation="scaled_tanh", pooling="subsample", c3_table="paper", output="rbf", init="lecun98",
                    mean=_PAPER_MEAN, std=_PAPER_STD)),
    # The seeds' "classic" LeNet-5: sigmoid + average pooling, full C3.
    "lenet5-classic": Architecture("LeNet-5 classic", "classic LeNet-5: sigmoid, average pooling",
                                   LeNetConfig(activation="sigmoid", pooling="avg")),
    # The seeds' "improved LeNet": 32/64 channels, BatchNorm, FC 512/256, Dropout 0.5.
    "lenet5-bn": Architecture("Improved LeNet", "improved LeNet: 32/64 channels, BatchNorm, FC 512/256, Dropout 0.5",
                              LeNetConfig(c1_channels=32, c3_channels=64, c5_units=512, f6_units=256,
                                          batch_norm=True, dropout=0.5)),
    # The seeds' 28x28 variants (16*4*4 flatten), ReLU with average or max pooling.
    "lenet5-28-avg": Architecture("LeNet 28×28 avg-pool", "ReLU + average pooling on 28x28 input (no padding)",
                                  LeNetConfig(input_size=28, pooling="avg")),
    "lenet5-28-max": Architecture("LeNet 28×28 max-pool", "ReLU + max pooling on 28x28 input (no padding)",
                                  LeNetConfig(input_size=28, pooling="max")),
}
PRESETS: dict[str, LeNetConfig] = {key: a.config for key, a in ARCHITECTURES.items()}


def preset(name: str, **overrides) -> LeNetConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)
