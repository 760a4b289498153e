"""What a model learned, in words a visitor reads: from its settings' mix (the model selector's description) and,
for a shipped model, from every stage of the recipe that made it (the About tab)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from lenet.reading.inference import LoadedModel
from lenet.sources.data import DATASETS
from lenet.sources.mix import DISTORTION, SOURCES, learned
from lenet.training import recipes

AS_NOT_A_DIGIT = " as “not a digit”"
CANNOT_REFUSE = ("It never learned what is not a digit: whatever you draw, it reads as one of the ten digits "
                 "(train with “Also learn what is not a digit” for one that can say so).")


def _dataset(name: str) -> str:
    return DATASETS[name].title if name in DATASETS else name


@dataclass(frozen=True)
class Learned:
    """What a run's mix added to its dataset, by what it teaches."""
    digits: tuple[str, ...] = ()
    not_digits: tuple[str, ...] = ()  # taught as "not a digit"
    distortions: tuple[str, ...] = ()  # how its digits were redrawn

    def phrases(self, distortions: bool = True) -> list[str]:
        out = list(self.digits) + ([f"{', '.join(self.not_digits)}{AS_NOT_A_DIGIT}"] if self.not_digits else [])
        if distortions and self.distortions:
            out.insert(0, f"its digits redrawn as on a canvas ({', '.join(self.distortions)})")
        return out


def learned_from(settings: dict | None) -> Learned:
    """Its settings' mix (old spelling or new) in words, grouped by what each source teaches."""
    sources = [SOURCES[n] for n in learned(settings)]
    pick = lambda test: tuple(s.about for s in sources if test(s))  # noqa: E731
    return Learned(pick(lambda s: s.kind != DISTORTION and not s.not_digit), pick(lambda s: s.not_digit),
                   pick(lambda s: s.kind == DISTORTION))


def cannot_refuse(lm: LoadedModel) -> bool:
    """A digit model without a "not a digit" it could say: it reads every drawing as a digit."""
    return lm.reads_digits and lm.thresholds.not_digit is None


@functools.lru_cache(maxsize=8)
def _recipe(path: str) -> recipes.Recipe | None:
    try:
        return recipes.load(recipes.ROOT / path)
    except recipes.RecipeError:
        return None


def stages(lm: LoadedModel) -> list[str]:
    """Each stage of the recipe a shipped model records (meta["recipe"]), as a line; [] without one."""
    made_by = lm.meta.get("recipe") or {}
    recipe = _recipe(made_by.get("file", "")) if made_by.get("file") else None
    if recipe is None:
        return []
    lines, before = [], []
    for stage in recipe.stages:
        s = stage.settings
        if stage.kind == "train":
            what = learned_from({"mix": recipes.train_settings(stage).get("mix", ())}).phrases()
            new = [w for w in what if w not in before] if s.get("init") else what
            line = (("from the stage before, " if s.get("init") else "")
                    + f"{s.get('epochs', '?')} epochs of {_dataset(s.get('dataset', lm.dataset))}"
                    + (" with the paper's distortions" if s.get("augment") else "")
                    + (" and its MAP criterion (“none of these”)" if s.get("map_criterion") else "")
                    + (f", {'adding' if s.get('init') else 'with'} {', '.join(new)}" if new else ""))
            before = what
        else:
            line = (("“not a digit” threshold set on real pen digits" if s.get("real_digit_reject") else
                     "“not a digit” thresholds set on held-out digits")
                    + (" and letters written by hand" if s.get("hand_letters") else "")
                    + ("; probabilities calibrated on real pen digits (UNIPEN writers it never trains on), and "
                       "on letters written like digits (fonts and UJI's real writers)" if s.get("real_hands") else ""))
        lines.append(f"{stage.name}: {line}")
    return lines
