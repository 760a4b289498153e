"""Issue 29: what each model learned is said where a visitor chooses it (the selector) and in About, from its
settings and the recipe that made it; a digit model that cannot refuse a drawing says so."""
from __future__ import annotations

import pytest

from lenet.net.config import preset
from lenet.net.model import LeNet
from lenet.present.model_story import CANNOT_REFUSE, stages
from lenet.present.selectors import model_info
from lenet.reading.inference import LoadedModel
from lenet.training import recipes
from conftest import ROOT


@pytest.fixture(scope="module")
def shipped_models() -> dict[str, LoadedModel]:
    return {p.stem: LoadedModel.from_file(p) for p in sorted((ROOT / "checkpoints").glob("*.safetensors"))}


def test_every_shipped_model_tells_each_stage_of_its_recipe(shipped_models):
    for key, lm in shipped_models.items():
        recipe = recipes.load(recipes.ROOT / lm.meta["recipe"]["file"])
        lines = stages(lm)
        assert [line.split(":")[0] for line in lines] == [s.name for s in recipe.stages], key
    default = stages(shipped_models["lenet5-mnist"])
    assert "UCI optdigits" in default[1] and default[1].startswith("styles-and-writers: from the stage before")
    assert "real pen digits" in default[2]  # its calibrate stage fitted the temperature on real writers
    assert "MAP criterion" in stages(shipped_models["lenet5-1998-mnist"])[0]


def test_a_digit_model_that_cannot_refuse_says_so_and_the_others_do_not(shipped_models):
    plain = LoadedModel.from_model(LeNet(preset("lenet5")), {"arch": "lenet5", "dataset": "mnist-sample",
                                                            "settings": {"mix": []}})
    assert CANNOT_REFUSE in model_info(plain)
    for key, lm in shipped_models.items():  # the digit models can refuse; the clothes model reads no digits
        assert CANNOT_REFUSE not in model_info(lm), key
    assert "trained on MNIST, UCI optdigits' 30 writers" in model_info(shipped_models["lenet5-mnist"])
