"""The training mix: every source a run can learn from beyond its dataset, each with a share, in ONE registry.

    python -m lenet.train --mix negatives,canvas,styles=0.05,optdigits     # a bare name: its default share
    [[stage]] ... mix = {negatives = 0.25, canvas = 0.5, styles = 0.05, optdigits = 2}          # a recipe

A source's share is counted in its own unit (`Source.unit`): per-batch sources and distortions in shares of each
batch's digits, sources made once in copies. The defaults are what the shipped models and every measured figure
used. `TrainConfig.mix` keeps (name, share) pairs in the order of `SOURCES`, which is the order they are applied
in (so the same seed gives the same run however the mix was listed): digits made once first, so that the banks
know the training set's size; in every batch the distortions redraw the batch's own digits, then each per-batch
source appends its images after them.

Older recipes and checkpoints spell the mix as a setting per source (`negatives = true`, `style_share`,
`canvas_augment = "all"`): `upgrade` reads them, `learned` says what any checkpoint's settings learned from.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from lenet.sources.augment import CANVAS_DISTORTIONS
from lenet.sources import coarse, hand_fonts, optdigits
from lenet.sources.data import Split
from lenet.sources.negatives import NegativeBank, add_objects
from lenet.sources.styles import StyleBank

ONCE = "made once"  # images made before the first step: digits join the training set (copies of each)
BATCH = "every batch"  # a bank made once serves this many images per digit in every batch, after the digits
DISTORTION = "distortion"  # this share of every batch's digits is redrawn as other people would draw them


@dataclass
class Ingredients:
    """A run's data while its mix is applied: the training digits (never the held-out ones), and the banks
    that every batch draws from, by source name."""
    train: Split
    seed: int
    device: torch.device | str = "cpu"
    banks: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # ONCE, BATCH or DISTORTION
    default: float  # the share the recipes, the shipped models and the measured figures use
    unit: str  # what the share counts
    about: str  # what a model learns from it, in a few words (the model's description, --help)
    most: float  # the largest share allowed (the least is above 0)
    whole: bool = False  # the share counts copies
    any_dataset: bool = False  # False: it is made of digits, or taught against them, so it needs a digit dataset
    needs: str | None = None  # the source it adds to
    prepare: Callable[[Ingredients, float], None] | None = None  # before the first step
    draw: Callable | None = None  # BATCH: (bank, k, generator, the batch's digits) -> (images, labels or None)
    not_digit: bool = False  # taught as "not a digit"

    @property
    def described(self) -> str:
        """`about` on its own (--help): a distortion or a "not a digit" source says so."""
        if self.kind == DISTORTION:
            return f"canvas-like {self.about}"
        return f"{self.about} as “not a digit”" if self.not_digit else self.about


def _coarse(ing: Ingredients, share: float) -> None:
    ing.train = coarse.with_coarse(ing.train, ing.seed, share)


def _hand_digits(ing: Ingredients, share: float) -> None:
    ing.train = hand_fonts.with_hand_digits(ing.train, ing.seed, copies=int(share))


def _optdigits(ing: Ingredients, share: float) -> None:
    ing.train = optdigits.with_optdigits(ing.train, ing.seed, copies=int(share))


def _real_hands(ing: Ingredients, share: float) -> None:
    from lenet.sources.real_hands import with_real_hands  # scipy and the bundled strokes: only when asked

    ing.train = with_real_hands(ing.train, ing.seed, copies=int(share))


def _styles(ing: Ingredients, share: float) -> None:
    ing.banks["styles"] = StyleBank(seed=ing.seed, device=ing.device)


def _negatives(ing: Ingredients, share: float) -> None:
    ing.banks["negatives"] = NegativeBank(min(8000, max(2000, len(ing.train) // 8)), ing.seed, ing.device)


def _objects(ing: Ingredients, share: float) -> None:
    add_objects(ing.banks["negatives"], ing.seed, share)


def _real_sketches(ing: Ingredients, share: float) -> None:
    from lenet.sources.real_hands import add_sketches

    add_sketches(ing.banks["negatives"], ing.seed, copies=int(share))


def _draw_styles(bank: StyleBank, k: int, generator, digits):
    return bank.sample(k, generator)


def _draw_negatives(bank: NegativeBank, k: int, generator, digits):
    return bank.sample(k, generator, digits=digits), None  # None: "not a digit"


_DISTORTED = {"stroke": "pen widths", "elastic": "elastic warps", "slant": "slant", "broken": "broken strokes"}
_ENTRIES = (
    Source("coarse", ONCE, coarse.SHARE, "coarse copies per training digit", "digits as an 8x8 scan leaves them",
           1.0, prepare=_coarse),
    Source("hand_digits", ONCE, hand_fonts.DIGIT_COPIES,
           "copies of each font digit as drawn, and 0.6 as many coarse; fonts from npm",
           f"the digits of {len(hand_fonts.CALIBRATION_HANDS)} handwriting fonts", 50, whole=True,
           prepare=_hand_digits),
    Source("optdigits", ONCE, optdigits.COPIES, "renderings of each of its 3,823 digits",
           "UCI optdigits' 30 writers", 10, whole=True, prepare=_optdigits),
    # real_hands.COPIES and SKETCH_COPIES, written out: that module loads scipy, so only a run that uses it does
    Source("real_hands", ONCE, 2, "renderings of each digit", "UNIPEN's pen digits", 10,
           whole=True, prepare=_real_hands),
    *(Source(name, DISTORTION, 0.5, "share of each batch's digits redrawn", what, 1.0,
             any_dataset=True) for name, what in _DISTORTED.items()),
    Source("styles", BATCH, 0.03, "style digits per digit in every batch", "continental 1s and slashed 0s",
           0.5, prepare=_styles, draw=_draw_styles),
    Source("negatives", BATCH, 0.25, "non-digits per digit in every batch",
           "scribbles, letters, doodles", 1.0, prepare=_negatives, draw=_draw_negatives, not_digit=True),
    Source("objects", ONCE, 0.25, "everyday objects per generated non-digit, among the negatives",
           "apples, moons, keys, lightning, shapes in shapes", 1.0, needs="negatives", prepare=_objects,
           not_digit=True),
    Source("real_sketches", ONCE, 3, "renderings of each sketch, among the negatives",
           "TU-Berlin sketches", 10, whole=True, needs="negatives", prepare=_real_sketches, not_digit=True),
)
SOURCES = {s.name: s for s in _ENTRIES}
GROUPS = {"canvas": tuple(_DISTORTED)}  # one name for several sources: `canvas` is all four distortions
assert set(_DISTORTED) == set(CANVAS_DISTORTIONS)

Mix = tuple[tuple[str, float], ...]


def canonical(given) -> Mix:
    """A mix as settings give it (a mapping or (name, share) pairs: a recipe, the command line, a checkpoint) ->
    (name, share) pairs in the order of SOURCES. A share of True is the source's default; False or 0 leaves it
    out; a group name stands for its sources. Unknown names raise ValueError, listing the known ones."""
    shares = {}
    for name, share in (given.items() if isinstance(given, Mapping) else given):
        for n in GROUPS.get(name, (name,)):
            if n not in SOURCES:
                raise ValueError(f"unknown training source {name!r} (choose from {', '.join([*SOURCES, *GROUPS])})")
            if not isinstance(share, (int, float)):
                raise ValueError(f"{n}: the share must be a number; got {share!r}")
            shares[n] = SOURCES[n].default if share is True else share
    return tuple((n, float(shares[n])) for n in SOURCES if shares.get(n))


def problems(mix: Mix, digit_dataset: bool) -> list[str]:
    """What is wrong with a canonical mix, in words."""
    out = []
    for name, share in mix:
        s = SOURCES[name]
        if s.whole and not (share.is_integer() and 1 <= share <= s.most):
            out.append(f"{name}: the share counts {s.unit}, a whole number from 1 to {s.most:g}; got {share:g}")
        elif not 0 < share <= s.most:
            out.append(f"{name}: the share ({s.unit}) must be above 0 and at most {s.most:g}; got {share:g}")
        if s.needs and s.needs not in dict(mix):
            out.append(f"{name} are taught among the {s.needs}: they need {s.needs} in the mix")
    digits_only = [name for name, _ in mix if not SOURCES[name].any_dataset]
    if digits_only and not digit_dataset:
        out.append(f"{', '.join(digits_only)} teach digits, or what is not one: they need a digit dataset (MNIST)")
    if len({share for name, share in mix if SOURCES[name].kind == DISTORTION}) > 1:
        out.append("the canvas distortions redraw one share of each batch together: give them one share")
    return out


# ---------- the mix as older recipes and checkpoints spell it: a setting per source ----------

OLD_FLAGS = ("negatives", "styles", "coarse", "hand_digits", "optdigits", "real_hands", "real_sketches")
OLD_KEYS = (*OLD_FLAGS, "style_share", "canvas_augment")


def upgrade(settings: Mapping) -> dict:
    """Settings with the older spellings (`negatives = true`, `style_share = 0.05` with styles, `canvas_augment =
    "all"` or a comma-separated list of distortions) turned into entries of `mix`; its own entries win."""
    old = {k: settings[k] for k in OLD_KEYS if k in settings}
    rest = {k: v for k, v in settings.items() if k not in old}
    if not old:
        return rest
    mix = {name: True for name in OLD_FLAGS if old.get(name)}
    if "styles" in mix and "style_share" in old:
        mix["styles"] = old["style_share"]
    for d in (old.get("canvas_augment") or "").split(","):
        if d.strip():
            mix["canvas" if d.strip() == "all" else d.strip()] = True
    return {**rest, "mix": {**mix, **dict(rest.get("mix") or ())}}


def learned(settings: Mapping | None) -> dict[str, float]:
    """{source: share} that a run with these settings (a checkpoint's meta["settings"], old or new) learned from;
    {} when they name a source this version does not know."""
    try:
        return dict(canonical(upgrade(settings or {}).get("mix") or ()))
    except ValueError:
        return {}
