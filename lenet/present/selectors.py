"""What the selectors list and say: architectures, datasets and models by the names people use."""
from __future__ import annotations

from lenet.net.config import ARCHITECTURES
from lenet.sources.data import DATASETS
from lenet.present.model_story import also_learned
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
    """The selected model in full, under the selector."""
    trained_on = DATASETS[lm.dataset].title if lm.dataset in DATASETS else lm.dataset
    description = ARCHITECTURES[lm.arch].description if lm.arch in ARCHITECTURES else lm.arch
    return f"{description}, trained on {trained_on}.{also_learned(lm)}"


def resolve_model(key: str | None, shipped: dict[str, LoadedModel], mine: LoadedModel | None,
                  default: str) -> LoadedModel:
    if key == YOURS and mine is not None:
        return mine
    return shipped.get(key) or shipped[default]
