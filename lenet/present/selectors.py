"""What the selectors list and say: architectures, datasets and models by the names people use."""
from __future__ import annotations

from lenet.net.config import ARCHITECTURES
from lenet.sources.data import DATASETS
from lenet.present.model_story import AS_NOT_A_DIGIT, CANNOT_REFUSE, cannot_refuse, learned_from
from lenet.reading.inference import LoadedModel


YOURS = "yours"  # the model dropdown's value for this visitor's own model


def arch_name(arch: str) -> str:
    """A person's name for an architecture id (the id itself for one this app does not know)."""
    return ARCHITECTURES[arch].name if arch in ARCHITECTURES else arch


def _dataset_short(dataset: str) -> str:
    return DATASETS[dataset].short if dataset in DATASETS else dataset


def arch_choices() -> list[tuple[str, str]]:
    return [(a.name, k) for k, a in ARCHITECTURES.items()]


def arch_info(arch: str) -> str:
    description = ARCHITECTURES[arch].description if arch in ARCHITECTURES else ""
    return description


def model_name(lm: LoadedModel) -> str:
    """Short enough for the selector on a phone: "LeNet-5 · MNIST · 99.3%"."""
    acc = f" · {lm.test_accuracy:.1%}" if lm.test_accuracy is not None else ""
    return f"{arch_name(lm.arch)} · {_dataset_short(lm.dataset)}{acc}"


def model_choices(shipped: dict[str, LoadedModel], mine: LoadedModel | None) -> list[tuple[str, str]]:
    choices = [(model_name(lm), key) for key, lm in shipped.items()]
    if mine is not None:
        acc = f" · {mine.test_accuracy:.1%}" if mine.test_accuracy is not None else ""
        # its architecture is in model_info, under the selector: the name stays short enough for a phone
        choices.append((f"your model · {_dataset_short(mine.dataset)}{acc}", YOURS))
    return choices


def model_info(lm: LoadedModel) -> str:
    """The selected model in full, under the selector: what it is and everything it learned (then its
    architecture's details would make the header too tall; About has them), and whether it can refuse a drawing."""
    trained_on = DATASETS[lm.dataset].title if lm.dataset in DATASETS else lm.dataset
    arch = ARCHITECTURES.get(lm.arch)
    also = learned_from(lm.meta.get("settings"))  # distortions left out: they only change how its digits look
    if also.digits or also.not_digits:  # short enough for two lines under the selector
        what = (f"{arch.name if arch else lm.arch} trained on {', '.join([trained_on, *also.digits])}"
                + (f"; {', '.join(also.not_digits)}{AS_NOT_A_DIGIT}" if also.not_digits else "") + ".")
    else:
        what = f"{arch.description if arch else lm.arch}, trained on {trained_on}."
    return what + (f" {CANNOT_REFUSE}" if cannot_refuse(lm) else "")


def after_run(final: LoadedModel, current: str | None, shipped: dict[str, LoadedModel], default: str) -> str:
    """The model Draw and Inspect use after a run: the new one, unless it learned nothing (then it is listed
    but not selected, and what was in use stays: a shipped model; "yours" would now be the failed run)."""
    if final.run_state != "failed":
        return YOURS
    return current if current in shipped else default


def resolve_model(key: str | None, shipped: dict[str, LoadedModel], mine: LoadedModel | None,
                  default: str) -> LoadedModel:
    if key == YOURS and mine is not None:
        return mine
    return shipped.get(key) or shipped[default]
