"""Recipes are files: every shipped checkpoint names the recipe and stage it came from, and every recipe resolves."""
from __future__ import annotations

import json

import pytest

from lenet.training import recipes
from lenet.net.checkpoint import load_checkpoint
from lenet.train import main
from lenet.training.config import TrainConfig, recipe

SHIPPED = sorted((recipes.ROOT / "checkpoints").glob("*.safetensors"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_checkpoint_records_its_recipe_and_stage(path):
    _, meta = load_checkpoint(path)
    made = meta["recipe"]
    r = recipes.load(recipes.ROOT / made["file"])
    assert r.checkpoint == f"checkpoints/{path.name}"
    assert made["stage"] == r.stages[-1].name, "a shipped file is its recipe's last stage"
    first = recipes.train_settings(r.stages[0])
    assert (first["arch"], first["dataset"]) == (meta["arch"], meta["dataset"])


@pytest.mark.parametrize("path", sorted(recipes.RECIPES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_recipe_dry_runs(path, capsys):
    assert main(["--recipe", str(path), "--dry-run", "--data-dir", "nowhere"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["stage"] for x in lines] == [s.name for s in recipes.load(path).stages]
    assert all(x["recipe"] == f"recipes/{path.name}" for x in lines)


def test_a_fine_tuning_stage_starts_from_the_previous_stage_and_calibration_reads_it(tmp_path):
    plan = recipes.resolve(recipes.load(recipes.RECIPES / "lenet5-mnist.toml"), "DATA", tmp_path)
    base, tuned, calibrated = plan[0], plan[1], plan[-1]
    assert tuned["config"].init == str(base["out"]) and tuned["config"].data_dir == "DATA"
    assert calibrated["argv"][:3] == [str(plan[-2]["out"]), "--out", str(calibrated["out"])]
    assert calibrated["argv"][calibrated["argv"].index("--score") + 1] == "reject" and "--real-hands" in calibrated["argv"]
    assert calibrated["argv"][calibrated["argv"].index("--real-digit-reject") + 1] == "0.01"


def test_the_default_recipe_is_where_every_run_starts():
    assert recipe() == TrainConfig(**recipes.defaults())
    assert (recipe().epochs, recipe().batch_size) == (2, 256)
    paper = recipe("lenet5-1998")
    assert (paper.lr, paper.betas, paper.label_smoothing) == (2e-3, (0.9, 0.999), 0.0)


@pytest.mark.parametrize("text, problem", [
    ("", "no \\[\\[stage\\]\\]"),
    ('[[stage]]\nname = "a"\nkind = "calibrate"\n', "no stage before it trains"),
    ('[[stage]]\nname = "a"\ninit = "b"\n', "not an earlier stage"),
    ('[[stage]]\nname = "a"\nepochz = 3\n', "unknown settings"),
    ('[[stage]]\nname = "a"\nkind = "bake"\n', "kind 'bake'"),
    ("[[stage]\n", "Expected"),
])
def test_a_bad_recipe_says_what_is_wrong(tmp_path, text, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(recipes.RecipeError, match=problem):
        recipes.load(path)
