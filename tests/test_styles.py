"""Writing styles MNIST lacks (lenet.sources.styles): drawn continental ones and slashed zeros, and training with them
(--styles)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet.reading.inference import LoadedModel, read
from lenet.sources.styles import STYLES, StyleBank, make_styles, random_style
from lenet.sources.mix import SOURCES
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer
from conftest import ROOT
from helpers import assert_framed_like_a_drawing


@pytest.fixture(scope="module")
def styles():
    return make_styles(120, seed=2)


def test_styles_are_labelled_ones_and_zeros_framed_like_drawings(styles):
    images, labels = styles
    assert images.shape == (120, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.long and set(labels.tolist()) == {0, 1}
    assert (labels == 1).sum() > 3 * (labels == 0).sum()  # shares: continental 3, footed 1, slashed zero 1
    for img, label in zip(images.float().div(255).numpy(), labels.tolist()):
        assert_framed_like_a_drawing(img)
        rows, cols = np.nonzero(img > 0.1)
        assert np.ptp(rows) > np.ptp(cols)  # tall: a one (not a seven's bar), or an upright oval
        if label == 0:  # an open oval: across its middle the ink is the two sides (and the slash), not a blob
            across = img[int(rows.mean()), cols.min():cols.max() + 1] > 0.3
            assert np.count_nonzero(np.diff(across.astype(int)) == 1) + across[0] >= 2


def test_styles_are_seeded(styles):
    again, labels = make_styles(120, seed=2)
    assert torch.equal(again, styles[0]) and torch.equal(labels, styles[1])
    assert not torch.equal(make_styles(120, seed=3)[0], styles[0])


@pytest.mark.parametrize("name", list(STYLES))
def test_every_style_draws_a_stem_and_more(name):
    strokes = random_style(np.random.default_rng(0), STYLES[name][1])
    pts = np.concatenate(strokes)
    assert len(strokes) >= 2 or len(strokes[0]) > 2  # a flag or a foot besides the stem
    assert np.isfinite(pts).all() and np.ptp(pts[:, 1]) > 1.5  # about two units tall


def test_a_model_that_never_saw_them_reads_them_as_labelled(styles):
    """The labels are right: the paper's model (trained on MNIST only, never on these) reads most as labelled."""
    lm = LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")
    reads = np.array([read(lm, img).top for img in styles[0].float().div(255).numpy()])
    assert np.mean(reads == styles[1].numpy()) > 0.8
    assert np.mean(reads[styles[1].numpy() == 0] == 0) > 0.8  # the slashed zeros too


def test_bank_serves_distorted_styles():
    bank = StyleBank(64, seed=1)
    x, y = bank.sample(20, torch.Generator().manual_seed(0))
    assert x.shape == (20, 1, 28, 28) and y.shape == (20,) and set(y.tolist()) <= {0, 1}
    assert 0 <= float(x.min()) and float(x.max()) <= 1 and (x.flatten(1).amax(1) > 0.5).all()
    assert not torch.equal(x, bank.images[:20].float().div(255).unsqueeze(1))


@pytest.mark.parametrize("share", [SOURCES["styles"].default, 0.05])
def test_training_batches_carry_styles_after_the_digits(mnist_train_split, mnist_test_split, share):
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=100, mix={"styles": share, "negatives": True},
                      seed=0, device="cpu")
    trainer = Trainer(cfg, train=mnist_train_split, test=mnist_test_split)
    idx = torch.arange(100)
    x, y = trainer._batch(idx)
    k = round(100 * share)
    assert torch.equal(y[:100], trainer.train.labels[idx])
    assert set(y[100:100 + k].tolist()) <= {0, 1}  # the styles, then the negatives ("not a digit" = class 10)
    assert set(y[100 + k:].tolist()) == {10} and len(y) - 100 - k == 25
    assert len(x) == len(y)
    with pytest.raises(ValueError, match="styles"):
        TrainConfig(dataset="fashion-mnist-sample", mix={"styles": True})
    with pytest.raises(ValueError, match="styles: the share"):
        TrainConfig(mix={"styles": -0.1})


def test_the_train_tab_hands_its_styles_box_to_the_run(app_module):
    """The box reaches the run's settings: with a dataset that has no digits, the run says styles need them."""
    import gradio as gr

    run = app_module.train_tab.run("lenet5", "fashion-mnist-sample", 1, 64, 1e-3, "adam", "onecycle", False, 0.0, 0, "cpu",
                           styles=True)
    with pytest.raises(gr.Error, match="styles teach digits, or what is not one: they need a digit dataset"):
        next(run)
    run = app_module.train_tab.run("lenet5", "fashion-mnist-sample", 1, 64, 1e-3, "adam", "onecycle", False, 0.0, 0, "cpu",
                           styles=False)
    assert app_module.train_tab.status in next(run)  # the same settings without it start a run ("Loading data…")
    run.close()  # before its training thread starts
