"""The 30 real writers of UCI optdigits' training part (lenet.sources.optdigits), and training with them (--optdigits)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet.sources.data import Split
from lenet.reading.inference import LoadedModel, read
from lenet.sources.optdigits import load_grids, render, samples, with_optdigits
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer
from conftest import ROOT
from helpers import assert_framed_like_a_drawing


def test_the_bundled_grids_are_uci_training_part():
    """3,823 grids of ink counts 0-16, with the class counts UCI's optdigits.names gives for its training part."""
    grids, labels = load_grids()
    assert grids.shape == (3823, 8, 8) and grids.dtype == np.uint8 and grids.max() == 16
    assert np.bincount(labels).tolist() == [376, 389, 380, 389, 387, 376, 377, 387, 380, 382]


def test_none_of_them_is_in_the_benchmark_writers_digits():
    """The benchmark's 13 writers (scikit-learn's load_digits, the test part) are a different set of people."""
    from sklearn.datasets import load_digits  # requirements-dev

    test_part = {g.tobytes() for g in load_digits().images.astype(np.uint8)}
    assert not any(g.tobytes() in test_part for g in load_grids()[0])


def test_renderings_are_framed_like_drawings_seeded_and_keep_their_digit():
    grids, labels = load_grids()
    rng = np.random.default_rng(0)
    digits = np.stack([render(g, rng) for g in grids[:200]])
    assert digits.shape == (200, 28, 28) and digits.dtype == np.uint8
    for d in digits[:50]:
        assert_framed_like_a_drawing(d / 255)
    assert np.array_equal(render(grids[0], np.random.default_rng(0)), digits[0])
    # the paper's model, which never saw them, reads most as labelled: the labels are right
    lm = LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")
    reads = np.array([read(lm, d).top for d in (digits / 255).astype(np.float32)])
    assert np.mean(reads == labels[:200]) > 0.85
    assert render(np.zeros((8, 8), np.uint8), rng) is None


def test_samples_for_the_feature_head_are_seeded_renderings():
    some = samples(30, seed=1)
    assert some.shape == (30, 28, 28) and some.dtype == torch.uint8
    assert torch.equal(samples(30, seed=1), some) and not torch.equal(samples(30, seed=2), some)


@pytest.mark.slow
def test_with_optdigits_adds_labelled_renderings(mnist_test_split):
    few = Split(mnist_test_split.images[:10], mnist_test_split.labels[:10])
    more = with_optdigits(few, seed=1, copies=1)
    grids, labels = load_grids()
    assert len(more) == 10 + len(grids) and more.images.dtype == torch.uint8
    assert torch.equal(more.images[:10], few.images)
    assert torch.equal(more.labels[10:], torch.from_numpy(labels))


@pytest.mark.slow
def test_training_with_optdigits(mnist_test_split):
    own = Split(mnist_test_split.images[:100], mnist_test_split.labels[:100])
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=100, mix={"optdigits": 1}, seed=0, device="cpu")
    trainer = Trainer(cfg, train=own, test=mnist_test_split)  # one rendering of each: the wiring, quickly
    assert len(trainer.train) == 100 + 3823
    with pytest.raises(ValueError, match="optdigits"):
        TrainConfig(dataset="fashion-mnist", mix={"optdigits": True})
