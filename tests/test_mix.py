"""The training mix (lenet.sources.mix): one registry of sources with a share each, as the command line, recipes,
checkpoints old and new, and the trainer read it."""
from __future__ import annotations

import json
import re

import pytest
import torch

from lenet.sources import mix, real_hands
from lenet.sources.mix import OLD_FLAGS, SOURCES, learned, upgrade
from lenet.sources.negatives import NegativeBank
from lenet.sources.styles import StyleBank
from lenet.train import build_parser, config_from_args
from lenet.training import recipes
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer

# The shipped default's second stage, as its recipe spelled it before the mix
# the shipped default's second stage (recipes/lenet5-mnist.toml), as the older flags spelled it
OLD_STAGE = {"negatives": True, "canvas_augment": "all", "styles": True, "style_share": 0.05, "optdigits": True,
             "coarse": False, "hand_digits": False, "real_hands": True, "real_sketches": True}
NEW_MIX = {"negatives": 0.25, "canvas": 0.5, "styles": 0.05, "optdigits": 2, "real_hands": 2, "real_sketches": 3}


def cli(*argv: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args(list(argv)))


def test_the_older_flags_give_the_config_that_mix_gives():
    old = cli("--negatives", "--canvas-augment", "--styles", "--style-share", "0.05", "--optdigits", "--real-hands",
              "--real-sketches")
    new = cli("--mix", "negatives,canvas,styles=0.05,optdigits,real_hands,real_sketches")
    assert old == new == TrainConfig(mix=NEW_MIX)
    assert cli("--style-share", "0.05", "--styles").mix == (("styles", 0.05),)  # a share wins in either order
    assert cli("--canvas-augment", "stroke,slant").mix == (("stroke", 0.5), ("slant", 0.5))
    assert cli().mix == ()


def test_each_older_flag_is_its_source_at_its_default_share():
    flags = ["--" + name.replace("_", "-") for name in OLD_FLAGS]
    assert cli(*flags).mix == tuple((name, SOURCES[name].default) for name in SOURCES if name in OLD_FLAGS)


def test_the_mix_is_kept_in_the_registrys_order_however_it_is_given():
    listed = TrainConfig(mix=(("optdigits", 2), ("negatives", True), ("coarse", 0.15)))
    assert listed == TrainConfig(mix={"coarse": 0.15, "negatives": 0.25, "optdigits": 2, "styles": False})
    assert [name for name, _ in listed.mix] == [name for name in SOURCES if listed.share(name)]
    assert listed.share("negatives") == 0.25 and listed.share("styles") == 0.0
    assert TrainConfig(mix=json.loads(json.dumps(listed.mix))) == listed  # as a checkpoint's JSON holds it


@pytest.mark.parametrize("given, dataset, words", [
    ({"negativs": 0.25}, "mnist", "unknown training source 'negativs' (choose from coarse, hand_digits"),
    ({"negatives": "a lot"}, "mnist", "negatives: the share must be a number"),
    ({"styles": 0.7}, "mnist", "styles: the share (style digits per digit in every batch) must be above 0 and at most"),
    ({"optdigits": 1.5}, "mnist", "optdigits: the share counts renderings"),
    ({"real_sketches": True}, "mnist", "they need negatives in the mix"),
    ({"styles": True, "coarse": True}, "fashion-mnist", "coarse, styles teach digits, or what is not one: they need"),
    ({"stroke": 0.5, "slant": 0.3}, "mnist", "give them one share"),
])
def test_a_bad_mix_says_what_is_wrong(given, dataset, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        TrainConfig(dataset=dataset, mix=given)
    assert TrainConfig(dataset="fashion-mnist", mix={"canvas": True}).share("broken") == 0.5  # any dataset


def test_old_settings_read_as_the_same_mix():
    assert TrainConfig(**upgrade(OLD_STAGE)) == TrainConfig(mix=NEW_MIX)
    assert learned(OLD_STAGE) == learned({"mix": NEW_MIX}) == dict(TrainConfig(mix=NEW_MIX).mix)
    assert learned({"styles": False, "style_share": 0.03, "canvas_augment": ""}) == {} == learned(None)
    assert learned({"mix": {"a source from the future": 1}}) == {}


def test_a_recipe_in_the_older_spelling_resolves_to_the_rewritten_one(tmp_path):
    shipped = recipes.load(recipes.RECIPES / "lenet5-mnist.toml")
    old = tmp_path / "old.toml"
    old.write_text('[[stage]]\nname = "a"\ndataset = "mnist"\n'
                   + "".join(f"{k} = {json.dumps(v)}\n" for k, v in OLD_STAGE.items()))
    [stage] = recipes.resolve(recipes.load(old), None, tmp_path)
    assert stage["config"].mix == recipes.resolve(shipped, None, tmp_path)[1]["config"].mix


def test_the_registrys_defaults_are_the_sources_own():
    assert (SOURCES["real_hands"].default, SOURCES["real_sketches"].default) == (real_hands.COPIES,
                                                                                 real_hands.SKETCH_COPIES)


def test_the_same_seed_gives_the_same_batches_by_either_spelling(monkeypatch, mnist_train_split, mnist_test_split):
    monkeypatch.setattr(mix, "StyleBank", lambda seed, device: StyleBank(200, seed, device))  # small banks: quick
    monkeypatch.setattr(mix, "NegativeBank", lambda size, seed, device: NegativeBank(200, seed, device))
    small = dict(train=mnist_train_split, test=mnist_test_split)
    settings = ["--dataset", "mnist-sample", "--batch-size", "64", "--device", "cpu"]
    by_flags = Trainer(cli(*settings, "--negatives", "--styles", "--canvas-augment", "stroke,elastic"), **small)
    by_mix = Trainer(cli(*settings, "--mix", "elastic,stroke,styles=0.03,negatives=0.25"), **small)
    for idx in (torch.arange(64), torch.arange(64, 128)):
        (x1, y1), (x2, y2) = by_flags._batch(idx), by_mix._batch(idx)
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert len(y1) == 64 + 2 + 16 and (y1[-16:] == 10).all()  # the digits, 3% styles, then 25% "not a digit"


def test_a_models_description_reads_its_settings_old_or_new():
    from lenet.net.config import preset
    from lenet.net.model import LeNet
    from lenet.present.selectors import model_info
    from lenet.reading.inference import LoadedModel

    def described(settings):
        return model_info(LoadedModel(LeNet(preset("lenet5", reject_class=True)),
                                      {"arch": "lenet5", "dataset": "mnist", "settings": settings}))

    assert described(OLD_STAGE) == described({"mix": NEW_MIX})
    assert "trained on MNIST, UCI optdigits' 30 writers" in described(OLD_STAGE)
    assert "canvas" not in described(OLD_STAGE) and "trained on MNIST." in described({"mix": {"canvas": 0.5}})
