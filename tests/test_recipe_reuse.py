"""--reuse STAGE=FILE: a recipe replays from a file standing for a stage's output (the shipped checkpoint)."""
from pathlib import Path

import pytest

from lenet.training import recipes

ROOT = Path(__file__).resolve().parents[1]


def test_reusing_the_shipped_network_runs_only_the_stages_after_it(tmp_path):
    recipe = recipes.load(ROOT / "recipes" / "lenet5-mnist-real-hands.toml")
    plan = recipes.resolve(recipe, None, tmp_path)
    shipped = str(ROOT / "checkpoints" / "lenet5-mnist.safetensors")
    kept = recipes.reuse(plan, {"styles-and-writers": shipped})
    assert [s["stage"] for s in kept] == ["styles-and-writers", "real-hands", "calibrate"]
    assert kept[0]["kind"] == "reuse" and kept[0]["file"] == shipped
    assert kept[1]["config"].init == str(kept[0]["out"]) and kept[1]["config"].share("real_hands")
    assert "--real-hands" in kept[2]["argv"]


def test_reuse_names_a_stage_and_a_file(tmp_path):
    plan = recipes.resolve(recipes.load(ROOT / "recipes" / "lenet5-mnist-real-hands.toml"), None, tmp_path)
    with pytest.raises(recipes.RecipeError):
        recipes.reuse(plan, {"no-such-stage": __file__})
    with pytest.raises(recipes.RecipeError):
        recipes.reuse(plan, {"base": str(tmp_path / "missing.safetensors")})
