"""A model as the Draw tab's in-browser reader (lenet/static/reader.js) takes it: one compact JSON payload.

    {"version": 1, "key": "<sha1 of the rest>", "config": LeNetConfig.to_dict(), "classes": [...],
     "reads_digits": bool, "thresholds": Thresholds.to_dict(),
     "tensors": {"c1.weight": {"shape": [6, 1, 5, 5], "data": "<base64 little-endian float32>"}, ...}}

Tensors are the model's own, with three changes that keep the page's code small: BatchNorm (eval mode) is folded
into the convolution or full connection before it, the paper's sparse C3 is given as its dense kernel (zeros
where the table has no link), and the RBF prototypes are included as "output.prototypes". "thresholds" is the
checkpoint's whole verdict (lenet.reading.verdict.Thresholds, every field): the reject score and its threshold,
"unsure", the "not a digit" head's weights, the temperature the digit logits are divided by, and the lookalike
head with letter_scale and letter_bias (P(letter) scales every stated digit probability); the page reads a field
a payload lacks as Thresholds' default. Nothing here needs
a UI framework; the payload is made once per model (cached while the model lives) and sent to the page once per
model change.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import weakref

import numpy as np
import torch
from torch import nn

from lenet.reading.inference import LoadedModel
from lenet.net.model import SparseConv2d

VERSION = 1
_CACHE: "weakref.WeakKeyDictionary[nn.Module, tuple[str, dict]]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(np.ascontiguousarray(t.detach().cpu().float().numpy(), dtype="<f4").tobytes()).decode()


def _folded(layer: nn.Module, bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a convolution / full connection with the BatchNorm after it (eval mode) folded in."""
    w = layer.dense_weight() if isinstance(layer, SparseConv2d) else layer.weight
    w, b = w.detach().double(), layer.bias.detach().double()
    if isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d)):
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        w = w * scale.view(-1, *([1] * (w.dim() - 1)))
        b = (b - bn.running_mean.double()) * scale + bn.bias.detach().double()
    return w.float(), b.float()


def model_tensors(lm: LoadedModel) -> dict[str, torch.Tensor]:
    """The float32 tensors the page's forward pass reads, by name."""
    m, cfg = lm.model, lm.model.config
    out = {}
    for name in ("c1", "c3", "c5", "f6"):
        seq = getattr(m, name)
        out[f"{name}.weight"], out[f"{name}.bias"] = _folded(seq[0], seq[1])
    if cfg.pooling == "subsample":
        for name in ("s2", "s4"):
            out[f"{name}.weight"], out[f"{name}.bias"] = m.get_submodule(name)[0].weight, m.get_submodule(name)[0].bias
    if cfg.output == "rbf":
        out["output.prototypes"] = m.output.prototypes
    else:
        out["output.weight"], out["output.bias"] = m.output.weight, m.output.bias
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def _signature(lm: LoadedModel) -> str:
    return json.dumps([lm.thresholds.to_dict(), lm.classes, lm.reads_digits], sort_keys=True)


def export_payload(lm: LoadedModel) -> dict:
    """The page's payload for a model (see the module docstring); the same dict for the same model, made once."""
    sig = _signature(lm)
    with _LOCK:
        hit = _CACHE.get(lm.model)
        if hit is not None and hit[0] == sig:
            return hit[1]
    body = {"version": VERSION, "config": lm.model.config.to_dict(), "classes": list(lm.classes),
            "reads_digits": lm.reads_digits, "thresholds": lm.thresholds.to_dict(),
            "tensors": {k: {"shape": list(v.shape), "data": _b64(v)} for k, v in model_tensors(lm).items()}}
    key = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    payload = {"key": key, **body}
    with _LOCK:
        _CACHE[lm.model] = (sig, payload)
    return payload


def payload_bytes(payload: dict) -> int:
    """The payload's size as JSON text (what the page downloads)."""
    return len(json.dumps(payload, separators=(",", ":")))
