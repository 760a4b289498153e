"""Words for people in the selectors: plain names, no code ids, short enough for a phone."""
from __future__ import annotations

from pathlib import Path

import pytest

from lenet.net.config import PRESETS
from lenet.reading.inference import LoadedModel
from lenet.present.selectors import arch_choices, arch_info, model_choices, model_info
from lenet.present.train_view import dataset_choices

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped() -> dict[str, LoadedModel]:
    return {p.stem: LoadedModel.from_file(p) for p in sorted((ROOT / "checkpoints").glob("*.safetensors"))}


def test_dataset_names_are_short_and_free_of_settings():
    for label, key in dataset_choices():
        assert len(label) <= 40 and "LENET_" not in label and "(" not in label, label


def test_architectures_have_plain_names_and_no_code_id():
    choices = arch_choices()
    assert [k for _, k in choices] == list(PRESETS)
    for name, key in choices:
        assert name != key and "lenet5" not in name, name
        assert "id:" not in arch_info(key) and key not in arch_info(key)


def test_model_names_fit_a_phone_selector(shipped):
    mine = next(iter(shipped.values()))
    for label, key in model_choices(shipped, mine):
        assert len(label) <= 36, label  # ~300 px of text at 16 px on a 390 px phone
        assert "lenet5" not in label
    for lm in shipped.values():
        assert "id:" not in model_info(lm) and "trained on" in model_info(lm)
