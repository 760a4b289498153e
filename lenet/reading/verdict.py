"""Three verdicts for a reading: a digit, "unsure" (two digits compete), or "not a digit" -- with a reason.

"Not a digit" comes from one number per reading, its *reject score* (higher = less like a digit), compared
with a threshold that `python -m lenet.calibrate` stores in the checkpoint, calibrated on held-out digits
(never the test set). Which score depends on the model:

  reject        the probability of its learned "not a digit" output (models trained with --negatives: an
                11th unit, or the RBF's MAP "none of these")
  rbf_distance  the paper's RBF output: the distance from F6 to the closest digit prototype
  energy        any other model: -logsumexp of the ten logits (low energy = some digit unit fires strongly)
  max_softmax   1 - the top digit probability (the classic baseline; kept for comparison)
  reject+head   the larger of the two (a model trained with negatives plus a head: each catches kinds the
                other misses; one threshold on the maximum, calibrated the same way)
  head          a small "not a digit" network on the model's own S4, C5 and F6 activations, fitted by the
                calibration on generated negatives with the model frozen (its digits are untouched): how the
                shipped lenet5-1998 says "not a digit" without retraining

"Unsure" looks only at the digits: the top one below `unsure_top`, or the runner-up within `unsure_margin`.
Models of other classes (Fashion-MNIST) get the same rule with their own classes and never say "not a digit"
(lenet.reading.inference.LoadedModel.thresholds).
"""
from __future__ import annotations

import base64
import functools
import html
import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from lenet.net.config import LeNetConfig
from lenet.present.icons import ASK, NO

VERDICTS = ("digit", "unsure", "not a digit")
DIGITS = tuple("0123456789")  # the classes of a model that reads digits (any other classes are items)
LETTER_NOTE = 0.05  # P(letter) from which a verdict says "it may also be a letter or symbol"
SCORES = ("reject", "rbf_distance", "energy", "max_softmax", "head", "reject+head")
HEAD_LAYERS = ("s4", "c5", "f6")  # what the feature head reads


@dataclass(frozen=True)
class Thresholds:
    score: str = "reject"
    not_digit: float | None = 0.5  # reject score above this -> "not a digit"; None: this model never says it
    unsure_top: float = 0.5  # top digit probability (among the ten) below this -> "unsure"
    unsure_margin: float = 0.2  # ... or the runner-up this close
    head: dict | None = None  # score "head": its weights (FeatureHead.to_dict)
    # The ten digit logits are divided by this before their softmax, wherever a digit probability is computed
    # (judge, lenet.reading.inference.output_probabilities): fitted on real writers' held-out digits (lenet.calibrate
    # --real-hands) so that "97%" is right about 97% of the time. 1.0 (no change) for checkpoints without one. The
    # "not a digit" score is not tempered: its threshold is calibrated on its own.
    temperature: float = 1.0
    # A second head (FeatureHead weights, lenet.reading.lookalikes) whose logit l says how much more a shape looks like a
    # letter or symbol people write like a digit (S B Z O I l ? + g q ...) than like a digit. P(letter) =
    # sigmoid(letter_scale * l + letter_bias), the two fitted (lenet.calibrate.fit_letter_scaling) on held-out real
    # writers' digits and letters written like digits, weighted as if one drawing in ten that looks like a digit
    # were such a letter; every stated digit probability is (1 - P(letter)) x its probability among the ten
    # (Verdict.probability). None: P(letter) = 0.
    lookalike: dict | None = None
    letter_scale: float = 1.0
    letter_bias: float = -2.1972  # log(0.1 / 0.9): one in ten, on the head's own scale (calibrate fits both)

    def __post_init__(self):
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {self.score!r}")
        for name in ("not_digit", "unsure_top", "unsure_margin"):
            v = getattr(self, name)
            if not (v is None and name == "not_digit") and (type(v) not in (int, float) or not math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        for name in ("letter_scale", "letter_bias"):
            v = getattr(self, name)
            if type(v) not in (int, float) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if self.lookalike is not None and not isinstance(self.lookalike, dict):
            raise ValueError("lookalike must be a FeatureHead's weights (a dict) or None")
        if type(self.temperature) not in (int, float) or not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a positive finite number, got {self.temperature!r}")
        if self.score in ("head", "reject+head") and not isinstance(self.head, dict):
            raise ValueError("the 'head' score needs the head's weights")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Thresholds":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def default_thresholds(config: LeNetConfig) -> Thresholds:
    """Before calibration: a learned "not a digit" output is trusted at 50%; other models only say "unsure"."""
    if config.can_reject:
        return Thresholds("reject", 0.5)
    return Thresholds("rbf_distance" if config.output == "rbf" else "energy", None)


def thresholds_for(config: LeNetConfig, meta: dict | None) -> Thresholds:
    """The calibrated thresholds stored in a checkpoint's metadata, else the defaults for its kind of model."""
    stored = (meta or {}).get("verdict")
    if isinstance(stored, dict):
        try:
            return Thresholds.from_dict(stored)
        except (TypeError, ValueError):
            pass  # a damaged or foreign entry: fall back to the defaults rather than refuse the model
    return default_thresholds(config)


class FeatureHead(torch.nn.Module):
    """p(not a digit) from a frozen model's S4, C5 and F6 activations: standardise, one hidden layer, one logit."""

    def __init__(self, n_in: int, hidden: int = 32):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("std", torch.ones(n_in))
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    @staticmethod
    def features(acts: dict) -> torch.Tensor:
        return torch.cat([torch.as_tensor(np.asarray(acts[k]), dtype=torch.float32).flatten(1) for k in HEAD_LAYERS], 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.net((feats - self.mean) / self.std)[:, 0]

    def fit(self, digits: torch.Tensor, negatives: torch.Tensor, steps: int = 400, seed: int = 0) -> "FeatureHead":
        x = torch.cat([digits, negatives])
        y = torch.cat([torch.zeros(len(digits)), torch.ones(len(negatives))])
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        with torch.random.fork_rng(devices=[]):  # a seeded start too: the same data and seed give the same head
            torch.manual_seed(seed)
            for layer in (self.net[0], self.net[2]):
                layer.reset_parameters()
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(self.net.parameters(), 1e-2, weight_decay=1e-4)
        with torch.enable_grad():
            for _ in range(steps):
                idx = torch.randint(0, len(x), (1024,), generator=g)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(self(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self.eval()

    @classmethod
    def averaged(cls, heads: list["FeatureHead"]) -> "FeatureHead":
        """One head whose logit is the mean of the heads' logits: their hidden layers side by side, each head's
        standardisation folded into its first layer (so the merged head reads raw features)."""
        w1, b1, w2 = [], [], []
        for h in heads:
            lin1, lin2 = h.net[0], h.net[2]
            w1.append(lin1.weight / h.std)
            b1.append(lin1.bias - w1[-1] @ h.mean)
            w2.append(lin2.weight / len(heads))
        merged = cls(len(heads[0].mean), sum(h.net[0].out_features for h in heads))
        with torch.no_grad():
            merged.net[0].weight.copy_(torch.cat(w1))
            merged.net[0].bias.copy_(torch.cat(b1))
            merged.net[2].weight.copy_(torch.cat(w2, 1))
            merged.net[2].bias.copy_(torch.stack([h.net[2].bias for h in heads]).mean(0))
        return merged.eval()

    def to_dict(self) -> dict:
        """JSON-safe: each tensor as base64 float32 bytes (a checkpoint's metadata is text)."""
        return {"n_in": len(self.mean), "hidden": self.net[0].out_features,
                "tensors": {k: base64.b64encode(v.detach().float().contiguous().numpy().tobytes()).decode()
                            for k, v in self.state_dict().items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureHead":
        head = cls(int(d["n_in"]), int(d["hidden"]))
        state = {}
        for k, v in head.state_dict().items():
            try:
                raw = np.frombuffer(base64.b64decode(d["tensors"][k]), dtype=np.float32)
            except (KeyError, TypeError, ValueError):  # binascii.Error is a ValueError
                raw = np.zeros(0, np.float32)
            if raw.size != v.numel() or not np.isfinite(raw).all():
                raise ValueError(f"feature head tensor {k} is damaged")
            state[k] = torch.from_numpy(raw.copy()).view_as(v)
        head.load_state_dict(state)
        return head.eval()


def _head(d: dict) -> FeatureHead:
    return _decoded_head(int(d["n_in"]), int(d["hidden"]), tuple(sorted(d["tensors"].items())))


@functools.lru_cache(maxsize=8)
def _decoded_head(n_in: int, hidden: int, tensors: tuple) -> FeatureHead:
    """Decoded once per checkpoint and shared read-only (never trained after this)."""
    return FeatureHead.from_dict({"n_in": n_in, "hidden": hidden, "tensors": dict(tensors)})


def reject_scores(acts, config: LeNetConfig, kind: str, head: dict | None = None,
                  reject: np.ndarray | None = None) -> np.ndarray:
    """Reject scores (higher = less like a digit) for a batch: `acts` holds the model's activations with a batch
    dimension ({"output": (N, 10 or 11), and "s4", "c5", "f6" for the head}), or just the output array.
    `reject`: the "not a digit" probabilities when output_probabilities already gave them (not computed again)."""
    if not isinstance(acts, dict):
        acts = {"output": acts}
    if kind == "reject+head":
        return np.maximum(reject_scores(acts, config, "reject", reject=reject),
                          reject_scores(acts, config, "head", head))
    if kind == "head":
        if head is None:
            raise ValueError("the 'head' score needs the head's weights")
        with torch.inference_mode():
            return torch.sigmoid(_head(head)(FeatureHead.features(acts))).double().numpy()
    out = np.asarray(acts["output"], dtype=np.float64)
    k = config.num_classes
    if kind == "rbf_distance":
        if config.output != "rbf":
            raise ValueError("rbf_distance needs an RBF output")
        return out[:, :k].min(1)
    logits = -out if config.output == "rbf" else out
    if kind == "reject":
        if not config.can_reject:
            raise ValueError("this model has no 'not a digit' output: train it with negatives")
        return _reject_probability(logits, config) if reject is None else np.asarray(reject, np.float64)
    digits = logits[:, :k]
    if kind == "energy":
        m = digits.max(1, keepdims=True)
        return -(m[:, 0] + np.log(np.exp(digits - m).sum(1)))
    if kind == "max_softmax":
        return 1 - _softmax(digits).max(1)
    raise ValueError(f"unknown score {kind!r}")


def output_probabilities(output, config: LeNetConfig, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A batch's output-layer values (N, 10 or 11) -> (each class's probability among the classes (N, k):
    softmax(class logits / temperature); the probability of the model's own "not a digit" output (N,): the
    untempered softmax's over every output, as its threshold was calibrated, zeros without one). The one place
    a reading's probabilities come from: lenet.reading.inference.read, judge, Inspect's occlusion."""
    out = np.asarray(output, np.float64)
    logits = -out if config.output == "rbf" else out
    return digit_probabilities(logits[:, :config.num_classes], temperature), _reject_probability(logits, config)


def _reject_probability(logits: np.ndarray, config: LeNetConfig) -> np.ndarray:
    """P("not a digit") over every output: the 11th unit, or the MAP criterion's constant "none of these" class."""
    if config.reject_class:
        full = logits
    elif config.rbf_reject is not None:
        full = np.concatenate([logits, np.full((len(logits), 1), -config.rbf_reject)], 1)
    else:
        return np.zeros(len(logits))
    return _softmax(full)[:, config.num_classes]


def digit_probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, 10) digit logits -> their probabilities among the ten: softmax(logits / temperature)."""
    return _softmax(np.asarray(logits, np.float64) / temperature)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@dataclass(frozen=True)
class Verdict:
    kind: str  # one of VERDICTS
    digit: str | None  # the digit read (None unless kind == "digit")
    best: str  # the most likely digit, whatever the verdict
    probability: float  # its stated probability: (1 - letter) x its probability among the ten digits
    runner_up: str
    runner_up_probability: float  # stated the same way
    score: float  # the reject score
    reason: str  # plain words for a learner
    letter: float = 0.0  # P(a letter or symbol written like a digit), from Thresholds.lookalike; 0 without one
    noun: str = "digit"  # what the model reads: "digit", or "item" for other classes (Fashion-MNIST)


def letter_probability(acts: dict, th: Thresholds) -> np.ndarray:
    """P(a digit-like letter or symbol | the shape) for a batch of activations ({"s4", "c5", "f6"} with a batch
    dimension): the lookalike head's logit (a log likelihood ratio: it learned as many letters as digits) plus the
    fitted bias (Thresholds.letter_scale, letter_bias), through a sigmoid. Zeros without a lookalike head."""
    n = len(np.asarray(acts["output"]))
    if th.lookalike is None:
        return np.zeros(n)
    return 1 / (1 + np.exp(-(th.letter_scale * lookalike_logits(acts, th.lookalike) + th.letter_bias)))


def lookalike_logits(acts: dict, head: dict) -> np.ndarray:
    """The lookalike head's raw logits for a batch of activations."""
    with torch.inference_mode():
        return _head(head)(FeatureHead.features(acts)).double().numpy()


def judge(acts, config: LeNetConfig, classes: list[str], th: Thresholds) -> Verdict:
    """The verdict for ONE reading from its activations alone (batch tools: lenet.calibrate, real hands): its
    activations without a batch dimension (a dict with "output", and "s4", "c5", "f6" for the head score), or
    just its raw output-layer values (10 or 11 numbers). A lenet.reading.inference.Reading carries its own."""
    if not isinstance(acts, dict):
        acts = {"output": acts}
    probs, reject = output_probabilities(np.asarray(acts["output"]).reshape(1, -1), config, th.temperature)
    return decide(acts, probs[0], float(reject[0]), config, classes, th)


def decide(acts: dict, probs: np.ndarray, reject: float, config: LeNetConfig, classes: list[str],
           th: Thresholds) -> Verdict:
    """THE rule, for every model and every tab: "not a digit" when the reject score passes `th.not_digit`,
    else "unsure" when the top class's probability (among the classes: `probs`) is below `th.unsure_top` or the
    runner-up's within `th.unsure_margin`, else the top class. `reject`: the model's own "not a digit"
    probability (output_probabilities), `acts` the reading's activations (no batch dimension)."""
    order = np.argsort(probs)[::-1]
    first, second = classes[order[0]], classes[order[1]]
    p1, p2 = float(probs[order[0]]), float(probs[order[1]])
    out = np.asarray(acts["output"], dtype=np.float64).reshape(1, -1)
    batch = {k: np.asarray(v)[None] for k, v in acts.items() if k in HEAD_LAYERS} | {"output": out}
    score = float(reject_scores(batch, config, th.score, th.head, reject=np.array([reject]))[0])
    letter = float(letter_probability(batch, th)[0])
    s1, s2 = p1 * (1 - letter), p2 * (1 - letter)  # stated: it may be a letter written like a digit
    noun = "digit" if tuple(classes) == DIGITS else "item"
    if th.not_digit is not None and score > th.not_digit:
        return Verdict("not a digit", None, first, s1, second, s2, score, _not_digit_reason(th, score), letter, noun)
    if p1 < th.unsure_top or p1 - p2 < th.unsure_margin:
        reason = f"two {noun}s compete: {first} ({s1:.0%}) or {second} ({s2:.0%})"
        return Verdict("unsure", None, first, s1, second, s2, score, reason, letter, noun)
    maybe = f"; it may also be a letter or symbol ({letter:.0%})" if letter >= LETTER_NOTE else ""
    return Verdict("digit", first, first, s1, second, s2, score,
                   f"{first} ({probability_words(s1)}); runner-up {second} ({probability_words(s2)}){maybe}", letter,
                   noun)


def _not_digit_reason(th: Thresholds, score: float) -> str:
    if th.score in ("reject", "head", "reject+head"):
        return (f"it looks more like the scribbles, letters and doodles this model learned to tell apart from "
                f"digits (its not-a-digit score: {score:.0%}, refused above {th.not_digit:.0%}) than like any digit it "
                f"was trained on")  # the threshold too: since it is set on real hands, 10% can be a refusal
    if th.score == "rbf_distance":
        return (f"its F6 code is far from every digit's prototype (distance {score:.0f}; the digits it was "
                f"trained on are closer than {th.not_digit:.0f})")
    return "none of the ten digit units responds the way they do to the digits the model was trained on"


# What tells two often-confused digits apart, for the "unsure" verdict: advice a learner can act on.
TELL_APART = {
    frozenset("49"): "a 4 is open at the top, a 9 closes its loop",
    frozenset("17"): "a 7 has a bar across the top, a 1 at most a short flag",
    frozenset("35"): "a 5 has a flat top bar and a corner, a 3 two round bumps",
    frozenset("38"): "an 8 closes both loops, a 3 leaves them open on the left",
    frozenset("56"): "a 6 closes its bottom loop, a 5 leaves it open",
    frozenset("06"): "a 6 has a small loop at the bottom and a tail, a 0 is one round loop",
    frozenset("89"): "an 8 has two closed loops, a 9 one loop on a stem",
    frozenset("27"): "a 2 has a flat base, a 7 a straight stem down",
    frozenset("01"): "a 0 is a loop, a 1 a single stroke",
    frozenset("23"): "a 2 ends in a flat base, a 3 curls back in",
    frozenset("58"): "an 8 is closed on both sides, a 5 has a corner at the top left",
    frozenset("69"): "a 6 has its loop at the bottom, a 9 at the top",
    frozenset("47"): "a 4 has a crossing bar low down, a 7 a bar at the top",
}


def unsure_advice(v: Verdict) -> str:
    hint = TELL_APART.get(frozenset(v.best + v.runner_up)) if v.noun == "digit" else None
    return f"Draw it again so they differ: {hint}." if hint else f"Draw it again, one clear {v.noun} filling the box."


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def title(v: Verdict, bold=lambda t: f"**{t}**") -> str:
    """The verdict in one line, as Draw's heading and Inspect's headline say it; `bold` marks the answer
    (Markdown's ** by default, Inspect's own HTML)."""
    if v.kind == "not a digit":
        return f"{NO} That doesn't look like a digit"
    if v.kind == "unsure":
        return f"{ASK} Not sure — {bold(_escape(v.best))} or {_escape(v.runner_up)}?"
    return f"I read: {bold(_escape(v.best))}"


def markdown(v: Verdict) -> str:
    """The Draw tab's verdict text."""
    e = _escape
    if v.kind == "not a digit":
        return (f"### {title(v)}\n{e(v.reason[:1].upper() + v.reason[1:])}. If you meant a digit, "
                f"draw one digit, 0–9, filling the box. (Closest digit: **{e(v.best)}**.)")
    if v.kind == "unsure":
        return (f"### {title(v)}\n{e(v.best)} ({v.probability:.0%}) and "
                f"{e(v.runner_up)} ({v.runner_up_probability:.0%}) compete. {unsure_advice(v)}")
    maybe = f" · it may also be a letter or symbol ({v.letter:.0%})" if v.letter >= LETTER_NOTE else ""
    return (f"### {title(v)}\nProbability {probability_words(v.probability)} · runner-up "
            f"{e(v.runner_up)} ({probability_words(v.runner_up_probability)}){maybe}")


def probability_words(p: float) -> str:
    """A digit's probability in plain words: never "100%" (the model is never certain), "over 99.9%" at the top."""
    if p > 0.999:
        return "over 99.9%"
    if p < 0.001:
        return "under 0.1%"
    return f"{p:.1%}"
