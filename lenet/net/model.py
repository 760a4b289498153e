"""LeNet-5 and its variants, read top to bottom; layer names follow the paper (c1 s2 c3 s4 c5 f6 output).

Shape comments are for the 32x32 input of the default preset (B = batch).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lenet.net.config import LeNetConfig
from lenet.net.prototypes import rbf_prototypes

LAYERS = ("c1", "s2", "c3", "s4", "c5", "f6", "output")
# A good j for the paper's MAP criterion (Eq. 9) with our prototypes: on the MNIST sample it pulled digits'
# nearest-prototype distance to a median of 3.3 while scribbles stayed at 10.8 (so large = "not a digit").
MAP_REJECT_PENALTY = 10.0

# The paper's S2 -> C3 connection table (Table I): which of the 6 S2 maps each C3 map reads.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def c3_connection_matrix() -> torch.Tensor:
    """(16, 6) bool: [j, i] is True when C3 map j reads S2 map i."""
    m = torch.zeros(16, 6, dtype=torch.bool)
    for j, inputs in enumerate(C3_TABLE):
        m[j, list(inputs)] = True
    return m


class ScaledTanh(nn.Module):
    """The paper's squashing function f(a) = 1.7159 tanh(2a/3)."""

    def forward(self, x):
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


def make_activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "scaled_tanh": ScaledTanh, "sigmoid": nn.Sigmoid}[name]()


class Subsample(nn.Module):
    """The paper's S-layer: sum of each 2x2 block x one trainable coefficient + one bias per map."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        summed = F.avg_pool2d(x, 2) * 4
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def make_pool(kind: str, channels: int) -> nn.Module:
    if kind == "subsample":
        return Subsample(channels)
    return nn.MaxPool2d(2) if kind == "max" else nn.AvgPool2d(2)


class SparseConv2d(nn.Module):
    """A 5x5 convolution where output map j reads only the input maps the table allows.

    Only the connected kernels are parameters (60 x 25 + 16 = 1,516 for the paper's C3), so the
    parameter count is the paper's; they are scattered into a dense zero-filled kernel per call.
    """

    def __init__(self, table: torch.Tensor, kernel_size: int = 5):
        super().__init__()
        out_ch, in_ch = table.shape
        self.out_channels, self.in_channels, self.kernel_size = out_ch, in_ch, kernel_size
        self.register_buffer("table", table.clone(), persistent=False)
        self.register_buffer("index", table.flatten().nonzero().flatten(), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(self.index), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_ch))
        fan_in = table.sum(1).float().mean().item() * kernel_size**2
        nn.init.uniform_(self.weight, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def dense_weight(self) -> torch.Tensor:
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels * self.in_channels, k, k)
        dense = dense.index_copy(0, self.index, self.weight)
        return dense.view(self.out_channels, self.in_channels, k, k)

    def forward(self, x):
        return F.conv2d(x, self.dense_weight(), self.bias)


class RBFOutput(nn.Module):
    """Euclidean RBF units y_i = sum_j (x_j - w_ij)^2 with fixed +-1 prototypes (no parameters)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("prototypes", rbf_prototypes())  # (10, 84)

    def forward(self, x):
        return (x.unsqueeze(1) - self.prototypes).pow(2).sum(-1)  # (B, 10): a distance, lower is better


class LeNet(nn.Module):
    def __init__(self, config: LeNetConfig):
        super().__init__()
        cfg = self.config = config
        bn2d = (lambda c: nn.BatchNorm2d(c)) if cfg.batch_norm else (lambda c: nn.Identity())
        bn1d = (lambda c: nn.BatchNorm1d(c)) if cfg.batch_norm else (lambda c: nn.Identity())
        act = lambda: make_activation(cfg.activation)  # noqa: E731
        # Paper-style subsampling applies its own squashing after the trainable coefficient.
        pool_act = act if cfg.pooling == "subsample" else nn.Identity

        self.c1 = nn.Sequential(nn.Conv2d(1, cfg.c1_channels, 5), bn2d(cfg.c1_channels), act())
        self.s2 = nn.Sequential(make_pool(cfg.pooling, cfg.c1_channels), pool_act())
        c3_conv = (SparseConv2d(c3_connection_matrix()) if cfg.c3_table == "paper"
                   else nn.Conv2d(cfg.c1_channels, cfg.c3_channels, 5))
        self.c3 = nn.Sequential(c3_conv, bn2d(cfg.c3_channels), act())
        self.s4 = nn.Sequential(make_pool(cfg.pooling, cfg.c3_channels), pool_act())
        # C5 is a 5x5 convolution over 5x5 maps, i.e. fully connected: a Linear on the flattened S4.
        self.c5 = nn.Sequential(nn.Linear(cfg.c3_channels * cfg.s4_size**2, cfg.c5_units),
                                bn1d(cfg.c5_units), act(), nn.Dropout(cfg.dropout))
        self.f6 = nn.Sequential(nn.Linear(cfg.c5_units, cfg.f6_units), bn1d(cfg.f6_units), act(),
                                nn.Dropout(cfg.dropout))
        self.output = (RBFOutput() if cfg.output == "rbf"
                       else nn.Linear(cfg.f6_units, cfg.num_classes + cfg.reject_class))  # +1: "not a digit"
        if cfg.init == "lecun98":
            self._init_lecun98()

    def _init_lecun98(self):
        """Uniform in +-2.4 / fan_in for every convolution and full connection, as in the paper.

        The subsampling coefficients keep their start of 1 (a plain 2x2 sum): the paper's rule would
        draw them from +-0.6, where a coefficient near zero silences its map at the start."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear, SparseConv2d)):
                if isinstance(module, SparseConv2d):
                    fan_in = module.table.sum(1, keepdim=True).float() * module.kernel_size**2  # per map
                    bound = (2.4 / fan_in).repeat_interleave(module.table.sum(1), 0).flatten()
                    with torch.no_grad():
                        module.weight.uniform_(-1, 1).mul_(bound.view(-1, 1, 1))
                        module.bias.uniform_(-1, 1).mul_(2.4 / fan_in.flatten())
                    continue
                fan_in = module.weight[0].numel()
                nn.init.uniform_(module.weight, -2.4 / fan_in, 2.4 / fan_in)
                nn.init.uniform_(module.bias, -2.4 / fan_in, 2.4 / fan_in)

    def activations(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every named layer's output for a normalised input (B, 1, S, S); forward and the inspector use it."""
        a = {}
        a["c1"] = self.c1(x)                    # (B, 6, 28, 28)
        a["s2"] = self.s2(a["c1"])              # (B, 6, 14, 14)
        a["c3"] = self.c3(a["s2"])              # (B, 16, 10, 10)
        a["s4"] = self.s4(a["c3"])              # (B, 16, 5, 5)
        a["c5"] = self.c5(a["s4"].flatten(1))   # (B, 120)
        a["f6"] = self.f6(a["c5"])              # (B, 84)
        a["output"] = self.output(a["f6"])      # (B, 10): logits (11 with reject_class), or RBF distances
        return a

    def output_scores(self, x: torch.Tensor) -> torch.Tensor:
        """The output layer alone, as `activations(x)["output"]` gives it, for training and evaluation.

        Same numbers, less work: with max pooling the activation is applied after the pool, not before
        (max commutes with any rising function, and every activation here rises), so it runs on a quarter
        of the values, and C1/C3's activated maps are never stored. bench/training/epoch_speed.py measures it."""
        cfg = self.config
        if cfg.pooling != "max" or cfg.batch_norm:
            return self.activations(x)["output"]
        conv1, act1 = self.c1[0], self.c1[-1]
        conv3, act3 = self.c3[0], self.c3[-1]
        s2 = act1(F.max_pool2d(conv1(x), 2))    # (B, 6, 14, 14)
        s4 = act3(F.max_pool2d(conv3(s2), 2))   # (B, 16, 5, 5)
        return self.output(self.f6(self.c5(s4.flatten(1))))

    def logits(self, output: torch.Tensor) -> torch.Tensor:
        """The classes' scores from the output layer: RBF distances are penalties, so their negatives; a
        "not a digit" unit (reject_class) is left out."""
        if self.config.output == "rbf":
            return -output
        return output[:, :self.config.num_classes] if self.config.reject_class else output

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        """Every class's score with "not a digit" last when the model has one: (B, 10) or (B, 11)."""
        if self.config.reject_class:
            return output
        return self.with_reject(self.logits(output))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.output_scores(x))  # (B, 10)

    def with_reject(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits plus the MAP criterion's constant "none of these" class when configured: (B, 11)."""
        if self.config.rbf_reject is None:
            return logits
        return torch.cat([logits, logits.new_full((len(logits), 1), -self.config.rbf_reject)], 1)

    def loss(self, logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        """Cross-entropy; with `rbf_reject` set it is the paper's MAP criterion (Eq. 9), via with_reject.
        Given all scores (from `scores`, as training does), it also covers the "not a digit" class (target 10)."""
        return F.cross_entropy(logits if logits.shape[1] > self.config.num_classes else self.with_reject(logits),
                               target, label_smoothing=label_smoothing)

    def num_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)
