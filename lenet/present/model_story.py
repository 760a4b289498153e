"""What a model learned, in words a visitor reads: from its settings' mix (the model selector's description) and,
for a shipped model, from every stage of the recipe that made it (the About tab)."""
from __future__ import annotations

import functools

from lenet.reading.inference import LoadedModel
from lenet.sources.data import DATASETS
from lenet.sources.mix import DISTORTION, SOURCES, learned
from lenet.training import recipes

CANNOT_REFUSE = ("It never learned what is not a digit: whatever you draw, it reads as one of the ten digits "
                 "(train with “Also learn what is not a digit” for one that can say so).")


def _dataset(name: str) -> str:
    return DATASETS[name].title if name in DATASETS else name


def _sources(settings: dict | None, distortions: bool) -> list[str]:
    names = learned(settings)
    out = [SOURCES[n].about for n in names if SOURCES[n].kind != DISTORTION]
    warped = [SOURCES[n].about.removeprefix("canvas-like ") for n in names if SOURCES[n].kind == DISTORTION]
    if distortions and warped:
        out.insert(0, f"its digits redrawn as on a canvas ({', '.join(warped)})")
    return out


def also_learned(lm: LoadedModel) -> list[str]:
    """What it learned besides its dataset (distortions left out: they only change how its digits look)."""
    return _sources(lm.meta.get("settings"), distortions=False)


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
            what = _sources({"mix": recipes.train_settings(stage).get("mix", ())}, distortions=True)
            new = [w for w in what if w not in before] if s.get("init") else what
            line = (("from the stage before, " if s.get("init") else "")
                    + f"{s.get('epochs', '?')} epochs of {_dataset(s.get('dataset', lm.dataset))}"
                    + (" with the paper's distortions" if s.get("augment") else "")
                    + (" and its MAP criterion (“none of these”)" if s.get("map_criterion") else "")
                    + (f", {'adding' if s.get('init') else 'with'} {', '.join(new)}" if new else ""))
            before = what
        else:
            line = ("“not a digit” thresholds set on held-out digits"
                    + (" and letters written by hand" if s.get("hand_letters") else "")
                    + ("; probabilities calibrated on real pen digits (UNIPEN writers it never trains on)"
                       if s.get("real_hands") else ""))
        lines.append(f"{stage.name}: {line}")
    return lines
