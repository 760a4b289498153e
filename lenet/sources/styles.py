"""Ways of writing a digit that MNIST's writers rarely used, drawn on the fly as labelled training digits.

MNIST's writers were American (Census Bureau staff and high-school students). Most of continental Europe
writes a one with a long up-stroke flag, often with a foot, and a model trained on MNIST alone reads that one
as a 7 (`bench/reader/writing_styles.py`). `StyleBank` holds a few thousand such ones drawn as pen strokes with
random flag length and angle, foot, slant, rotation and pen width, framed exactly like a drawing
(`augment.renormalize`), and serves them freshly distorted, a few in every batch (`--styles`).

Only styles that the reader gets wrong, or refuses as "not a digit", are drawn here: every other digit style
comes from MNIST itself.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from lenet.sources.augment import canvas_like
from lenet.sources.negatives import framed


def _continental_one(rng: np.random.Generator) -> list[np.ndarray]:
    """A stem with a flag rising to its top (30-65 degrees below the horizontal, a fifth to half of the
    height long), half of them with a foot. A flatter or longer flag on a leaning stem is a 7."""
    top, bottom = np.array([0.0, -1.0]), np.array([0.0, 1.0])
    angle, length = math.radians(rng.uniform(30, 65)), rng.uniform(0.4, 1.0)
    flag_start = top + length * np.array([-math.cos(angle), math.sin(angle)])
    strokes = [np.stack([flag_start, top, bottom])]
    if rng.random() < 0.5:
        strokes.append(_foot(rng))
    return strokes


def _footed_one(rng: np.random.Generator) -> list[np.ndarray]:
    """A stem with a foot and no flag (or only a tick of one)."""
    stem = [np.array([[0.0, -1.0], [0.0, 1.0]])]
    if rng.random() < 0.5:
        stem = [np.array([[-rng.uniform(0.1, 0.3), -1 + rng.uniform(0.05, 0.2)], [0.0, -1.0], [0.0, 1.0]])]
    return stem + [_foot(rng)]


def _slashed_zero(rng: np.random.Generator) -> list[np.ndarray]:
    """An oval crossed by a slash, as programmers and Scandinavians write a zero. The reader read it as 0, but
    the "not a digit" head took it for one of its doodles (an oval and a line) and refused 45% of them."""
    rx, t0 = rng.uniform(0.45, 0.7), rng.uniform(0, 2 * math.pi)
    t = np.linspace(t0, t0 + 2 * math.pi, 40)
    oval = np.stack([rx * np.cos(t), np.sin(t)], 1)
    reach = rng.uniform(0.7, 1.15)  # from inside the oval to a little beyond it
    slash = np.array([[-rx * reach, reach], [rx * reach, -reach]]) * rng.uniform(0.8, 1.0)
    return [oval, slash]


def _foot(rng) -> np.ndarray:
    return np.array([[-rng.uniform(0.25, 0.6), 1.0], [rng.uniform(0.25, 0.6), 1.0]])


STYLES = {"continental 1": ("1", _continental_one, 3), "1 with a foot": ("1", _footed_one, 1),
          "slashed 0": ("0", _slashed_zero, 1)}  # label, maker, share


def random_style(rng: np.random.Generator, maker) -> list[np.ndarray]:
    """One drawing by `maker`, slanted, rotated, squeezed and a little shaky, as a person's hand would. The stem
    stays within about 15 degrees of upright: a one that leans further is a 7 in many hands."""
    strokes = maker(rng)
    slant, a = rng.uniform(-0.15, 0.25), rng.uniform(-0.1, 0.1)
    m = (np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
         @ np.array([[1.0, -slant], [0.0, 1.0]]) @ np.diag([rng.uniform(0.7, 1.1), 1.0]))
    return [_wobble(rng, s) @ m.T for s in strokes]


def _wobble(rng, s: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Resample a polyline about `step` apart and shake it a little (a hand is not a ruler)."""
    pts = [s[0]]
    for p, q in zip(s[:-1], s[1:]):
        n = max(1, int(np.linalg.norm(q - p) / step))
        pts += [p + (q - p) * k / n for k in range(1, n + 1)]
    pts = np.array(pts)
    return pts + np.cumsum(rng.normal(0, 0.008, pts.shape), 0)


def make_styles(n: int, seed: int = 0, device="cpu", chunk: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """n style digits as (n, 28, 28) uint8 on `device`, and their labels (n,) int64 (class indices)."""
    rng = np.random.default_rng(seed)
    deck = [name for name, (_, _, share) in STYLES.items() for _ in range(share)]
    names = [deck[i] for i in rng.integers(0, len(deck), n)]
    out = torch.zeros(n, 28, 28, dtype=torch.uint8, device=device)
    for start in range(0, n, chunk):
        part = names[start:start + chunk]
        shapes = [random_style(rng, STYLES[name][1]) for name in part]
        widths = rng.uniform(2.8, 6.4, len(part))  # the band the app's stroke evening leaves alone (negatives)
        out[start:start + len(part)] = framed(shapes, widths, device)
    labels = torch.tensor([int(STYLES[name][0]) for name in names], dtype=torch.long, device=device)
    return out, labels


def distorted(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Style digits ((B, 1, 28, 28) in [0, 1]) as training sees them: pen width and a small affine change only;
    an elastic warp bends too many of these ones into 7s and 2s."""
    return canvas_like(x, generator, distortions=("stroke",))


class StyleBank:
    """A few thousand style digits on the device; `sample(k)` serves k of them freshly distorted."""

    def __init__(self, size: int = 4000, seed: int = 0, device="cpu"):
        self.images, self.labels = make_styles(size, seed, device)
        self.device = device

    def __len__(self):
        return len(self.images)

    def sample(self, k: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """((k, 1, 28, 28) in [0, 1], (k,) labels), freshly `distorted`."""
        idx = torch.randint(0, len(self.images), (k,), generator=generator, device=self.device)
        return distorted(self.images[idx].float().div_(255).unsqueeze(1), generator), self.labels[idx]
