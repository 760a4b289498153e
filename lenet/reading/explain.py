"""Why the network reads what it reads: occlusion, nearest training digits in F6 space, a 2-D map of F6,
and the arithmetic of one unit (patch, kernel, weighted sum, activation). No UI framework.

The inspector's hover/click detail is computed in the browser (lenet/static/inspect.js) from
`unit_payload`; `unit_detail` is the same arithmetic in Python, the reference the tests hold both to.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lenet.sources.data import DATASETS, Split, load_split, normalise, to_input01
from lenet.reading.inference import LoadedModel, Reading
from lenet.reading.verdict import output_probabilities
from lenet.net.model import C3_TABLE, SparseConv2d

OCCLUSION_PATCH = 6  # pixels: about a stroke's width and a half on a 28x28 digit
OCCLUSION_STRIDE = 2  # -> a 14x14 map, one value per 2x2 block of the digit
OCCLUSION_FILL = 0.5  # the grey of the patch, in [0, 1] pixels
N_NEIGHBOURS = 8
SPATIAL = ("c1", "s2", "c3", "s4")  # the layers whose units one can point at


# ---------- saliency and occlusion ----------

def saliency(lm: LoadedModel, reading: Reading, target: int | None = None, samples: int = 16,
             noise: float = 0.15, seed: int = 0) -> np.ndarray:
    """|d score / d input| over the model input (S, S), scaled to [0, 1]: SmoothGrad, the gradient averaged
    over `samples` noisy copies of the input (noise as a fraction of its range), which removes the speckle
    of a single gradient. The same seed gives the same picture for the same input."""
    target = reading.top if target is None else target
    x0 = torch.from_numpy(reading.model_input)[None, None]
    spread = float(x0.max() - x0.min()) or 1.0
    gen = torch.Generator().manual_seed(seed)
    x = (x0 + noise * spread * torch.randn((samples, 1, *x0.shape[2:]), generator=gen)).requires_grad_(True)
    with torch.enable_grad():
        score = lm.model(x)[:, target].sum()
        (grad,) = torch.autograd.grad(score, x)  # grads of the input only: the model is untouched
    g = grad.abs().mean(0)[0].numpy()
    return g / g.max() if g.max() > 0 else g




def occlusion(lm: LoadedModel, reading: Reading, patch: int = OCCLUSION_PATCH, stride: int = OCCLUSION_STRIDE,
              fill: float = OCCLUSION_FILL, target: int | None = None) -> np.ndarray:
    """Slide a grey patch over the 28x28 digit; per place, how much the probability of the read class drops.

    Returns (28 // stride, 28 // stride): entry [i, j] is the drop when the patch is centred on the
    stride x stride block at row i * stride, column j * stride (negative: covering it helps that class).
    All placements go through the network as one batch.
    """
    target = reading.top if target is None else target
    n = 28 // stride
    starts = np.arange(n) * stride + (stride - patch) // 2  # centre each patch on its block
    digits = torch.from_numpy(reading.digit).float().repeat(n * n, 1, 1)  # (n*n, 28, 28)
    for k, (i, j) in enumerate((i, j) for i in starts for j in starts):
        digits[k, max(i, 0):i + patch, max(j, 0):j + patch] = fill
    cfg = lm.model.config
    with torch.inference_mode():
        output = lm.model.activations(normalise(to_input01(digits, cfg), cfg))["output"].numpy()
    probs = output_probabilities(output, cfg, lm.thresholds.temperature)[0][:, target]
    return (reading.probs[target] - probs).reshape(n, n).astype(np.float32)


# ---------- F6 features of the bundled samples: neighbours and a 2-D map ----------

def sample_for(lm: LoadedModel) -> str:
    """The bundled sample of the model's dataset (full datasets are not on a Space or in CI)."""
    name = lm.dataset if lm.dataset in DATASETS else "mnist"
    return name if DATASETS[name].sample else f"{name}-sample"


def f6_features(lm: LoadedModel, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """(N, 28, 28) uint8 or [0, 1] -> (N, F6) float32; and nothing else is kept."""
    cfg, out = lm.model.config, []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            acts = lm.model.activations(normalise(to_input01(images[i:i + batch_size], cfg), cfg))
            out.append(acts["f6"])
    return torch.cat(out)


@dataclass(frozen=True)
class FeatureIndex:
    """One model's F6 view of a bundled sample: training digits to search, test digits to map and pick from.

    Built once per model (a few hundred ms) and never changed, so a shipped model's index can be shared.
    """

    dataset: str  # the bundled sample
    train: Split
    train_f6: torch.Tensor  # (N, F6)
    train_sq: torch.Tensor  # (N,) squared norms, for fast distances
    test: Split
    test_pred: np.ndarray  # (M,) the model's reading of each test digit
    pca_mean: np.ndarray  # (F6,)
    pca_axes: np.ndarray  # (2, F6)
    test_xy: np.ndarray  # (M, 2) test digits on the first two principal axes

    @classmethod
    def build(cls, lm: LoadedModel) -> "FeatureIndex":
        name = sample_for(lm)
        train, test = load_split(name, train=True), load_split(name, train=False)
        train_f6 = f6_features(lm, train.images)
        test_f6 = f6_features(lm, test.images)
        with torch.inference_mode():
            pred = lm.model.logits(lm.model.output(test_f6)).argmax(1).numpy()
        mean, axes = pca_2d(test_f6.numpy())
        return cls(name, train, train_f6, train_f6.pow(2).sum(1), test, pred, mean, axes,
                   (test_f6.numpy() - mean) @ axes.T)

    def neighbours(self, f6: np.ndarray, k: int = N_NEIGHBOURS) -> list[dict]:
        """The k training digits nearest to one F6 vector (Euclidean), nearest first."""
        q = torch.from_numpy(np.asarray(f6, np.float32))
        d2 = (self.train_sq - 2 * self.train_f6 @ q + q.dot(q)).clamp_min_(0)
        _, idx = torch.topk(d2, min(k, len(d2)), largest=False)
        dist = (self.train_f6[idx] - q).norm(dim=1)  # exact for the few shown (the expansion above rounds)
        dist, order = dist.sort()
        idx = idx[order]
        classes = DATASETS[self.dataset].classes
        return [{"label": classes[int(self.train.labels[i])], "distance": round(float(d), 4), "index": int(i)}
                for d, i in zip(dist, idx)]

    def project(self, f6: np.ndarray) -> np.ndarray:
        return (np.asarray(f6, np.float32) - self.pca_mean) @ self.pca_axes.T

    def indices_of(self, class_index: int | None = None, misread: bool = False) -> np.ndarray:
        """Test digits of one class (all when None), or only those this model misreads."""
        labels = self.test.labels.numpy()
        keep = np.ones(len(labels), bool) if class_index is None else labels == class_index
        if misread:
            keep &= self.test_pred != labels
        return np.flatnonzero(keep)


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, the first two principal axes as rows), signs fixed so the picture is the same every run."""
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    axes = vt[:2] * np.sign(vt[:2, [0]] + 1e-12)
    return mean.astype(np.float32), axes.astype(np.float32)


# ---------- one unit: patch, kernel, weighted sum, activation ----------

def _act_name(lm: LoadedModel) -> str:
    return lm.model.config.activation


def _batch_norm(stage: nn.Sequential) -> tuple[np.ndarray, np.ndarray] | None:
    """An eval-mode BatchNorm after a convolution as one scale and shift per map (None without one)."""
    bn = stage[1]
    if not isinstance(bn, nn.BatchNorm2d):
        return None
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    return scale.numpy(), (bn.bias.detach() - bn.running_mean * scale).numpy()


def conv_weight(conv: nn.Module) -> np.ndarray:
    """(out, in, 5, 5) as a dense array; the paper's sparse C3 has zeros where the table has no link."""
    w = conv.dense_weight() if isinstance(conv, SparseConv2d) else conv.weight
    return w.detach().numpy()


def c3_inputs(lm: LoadedModel) -> list[list[int]]:
    """Which S2 maps each C3 map reads: the paper's table, or all of them."""
    cfg = lm.model.config
    if cfg.c3_table == "paper":
        return [list(t) for t in C3_TABLE]
    return [list(range(cfg.c1_channels)) for _ in range(cfg.c3_channels)]


def pool_params(lm: LoadedModel, layer: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The paper's trainable subsampling: (coefficient, bias) per map; None for max / average pooling."""
    pool = getattr(lm.model, layer)[0]
    if lm.model.config.pooling != "subsample":
        return None
    return pool.weight.detach().numpy(), pool.bias.detach().numpy()


ACTIVATIONS = {"relu": lambda a: np.maximum(a, 0), "tanh": np.tanh,
               "scaled_tanh": lambda a: 1.7159 * np.tanh(a * 2 / 3), "sigmoid": lambda a: 1 / (1 + np.exp(-a))}


def unit_detail(lm: LoadedModel, reading: Reading, layer: str, m: int, y: int, x: int) -> dict:
    """The arithmetic of unit (y, x) of map m in C1, S2, C3 or S4, from the model's own weights.

    Convolutions: per input map the 5x5 patch, the kernel and their weighted sum; then the bias, any
    BatchNorm, the activation. Subsampling: the 2x2 window and how it is pooled.
    """
    if layer not in SPATIAL:
        raise ValueError(f"no unit detail for layer {layer!r}; pick one of {SPATIAL}")
    a = reading.activations
    f = ACTIVATIONS[_act_name(lm)]
    out = {"layer": layer, "map": m, "y": y, "x": x, "value": float(a[layer][m, y, x])}
    if layer in ("c1", "c3"):
        stage = getattr(lm.model, layer)
        w, bias = conv_weight(stage[0]), float(stage[0].bias[m])
        below = reading.model_input[None] if layer == "c1" else a["s2"]
        maps = [0] if layer == "c1" else c3_inputs(lm)[m]
        inputs = [{"map": i, "patch": below[i, y:y + 5, x:x + 5], "kernel": w[m, i]} for i in maps]
        for part in inputs:
            part["sum"] = float((part["patch"].astype(np.float64) * part["kernel"]).sum())
        total = sum(p["sum"] for p in inputs)
        pre = total + bias
        bn = _batch_norm(stage)
        if bn is not None:
            pre = pre * float(bn[0][m]) + float(bn[1][m])
        out.update(inputs=inputs, weighted_sum=total, bias=bias, batch_norm=None if bn is None else
                   (float(bn[0][m]), float(bn[1][m])), pre_activation=pre, activation=float(f(pre)))
    else:  # s2, s4
        below = a["c1" if layer == "s2" else "c3"][m, 2 * y:2 * y + 2, 2 * x:2 * x + 2]
        kind = lm.model.config.pooling
        out.update(window=below, pooling=kind)
        if kind == "max":
            out["activation"] = float(below.max())
        elif kind == "avg":
            out["activation"] = float(below.mean())
        else:  # the paper's trainable subsampling
            coef, b = pool_params(lm, layer)
            pre = float(below.astype(np.float64).sum()) * float(coef[m]) + float(b[m])
            out.update(coefficient=float(coef[m]), bias=float(b[m]), pre_activation=pre, activation=float(f(pre)))
    return out


def receptive_field(cfg, layer: str, y: int, x: int) -> tuple[int, int, int]:
    """(top, left, size) of the input region that unit (y, x) of a layer sees (in input pixels)."""
    stride, size = {"c1": (1, 5), "s2": (2, 6), "c3": (2, 14), "s4": (4, 16)}[layer]
    return y * stride, x * stride, size


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def _packed(a: np.ndarray) -> dict:
    return {"shape": list(a.shape), "data": _b64(a)}


def unit_payload(lm: LoadedModel, reading: Reading) -> dict:
    """Everything the browser needs to show any unit's detail without asking the server: the input and
    C1..S4 activations, both convolutions' weights (float32, base64), biases, BatchNorm, pooling and the
    C3 table. About 60 kB for LeNet-5."""
    a, cfg, net = reading.activations, lm.model.config, lm.model
    bn = {k: _batch_norm(getattr(net, k)) for k in ("c1", "c3")}
    pools = {k: pool_params(lm, k) for k in ("s2", "s4")}
    return {
        "activation": cfg.activation, "pooling": cfg.pooling, "input_size": cfg.input_size, "pad": cfg.pad,
        "maps": {"input": _packed(reading.model_input[None]), "input01": _packed(reading.input01[None]),
                 **{k: _packed(a[k]) for k in SPATIAL}},
        "weights": {"c1": _packed(conv_weight(net.c1[0])), "c3": _packed(conv_weight(net.c3[0]))},
        "bias": {k: getattr(net, k)[0].bias.detach().numpy().tolist() for k in ("c1", "c3")},
        "batch_norm": {k: None if v is None else [v[0].tolist(), v[1].tolist()] for k, v in bn.items()},
        "subsample": {k: None if v is None else [v[0].tolist(), v[1].tolist()] for k, v in pools.items()},
        "c3_inputs": c3_inputs(lm),
        "sparse_c3": cfg.c3_table == "paper",
    }
