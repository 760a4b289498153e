"""Digits as an 8x8 scan or a small picture leaves them (lenet.sources.coarse), and training with them (--coarse), on real
MNIST digits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet.sources.coarse import SHARE, coarse_digit, small_picture, with_coarse
from lenet.sources.data import Split
from lenet.reading.inference import LoadedModel, read
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer
from conftest import ROOT
from helpers import assert_framed_like_a_drawing


@pytest.fixture(scope="module")
def digits(mnist_test_split):
    return Split(mnist_test_split.images[:300], mnist_test_split.labels[:300])


@pytest.fixture(scope="module")
def coarse(digits):
    rng = np.random.default_rng(0)
    return np.stack([coarse_digit(d, rng) for d in digits.images.numpy()])


def test_coarse_copies_are_framed_like_drawings_and_seeded(digits, coarse):
    assert coarse.shape == (300, 28, 28) and coarse.dtype == np.uint8
    for img in coarse[:50]:
        assert_framed_like_a_drawing(img / 255)
    rng = np.random.default_rng(0)
    assert np.array_equal(coarse_digit(digits.images[0].numpy(), rng), coarse[0])


def test_coarse_copies_lose_detail_but_keep_their_digit(digits, coarse):
    """The paper's model, which never saw a coarse copy, still reads most of them as labelled, and fewer than
    the originals: the labels are right and the detail is really lost."""
    lm = LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")
    labels = digits.labels.numpy()
    original = np.mean([read(lm, d).top for d in digits.images.float().div(255).numpy()] == labels)
    reads = np.mean([read(lm, d).top for d in (coarse / 255).astype(np.float32)] == labels)
    assert 0.8 < reads < original


def test_small_pictures_are_framed_like_drawings_blurred_and_seeded(digits):
    """Sent in a 28-64 px picture, a digit comes back framed as any drawing, seeded, and softer when it was drawn
    small: the default still reads nearly all of them as labelled."""
    rng = np.random.default_rng(0)
    small = np.stack([small_picture(d, rng) for d in digits.images.numpy()])
    assert small.shape == (300, 28, 28) and small.dtype == np.uint8
    for img in small[:50]:
        assert_framed_like_a_drawing(img / 255)
    assert np.array_equal(small_picture(digits.images[0].numpy(), np.random.default_rng(0)), small[0])
    solid = lambda imgs: ((imgs > 200).sum((1, 2)) / np.maximum((imgs > 25).sum((1, 2)), 1)).mean()
    assert solid(small) < solid(digits.images.numpy())  # fewer pixels at full ink: edges blur
    lm = LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-mnist.safetensors")
    reads = np.array([read(lm, d).top for d in (small / 255).astype(np.float32)])
    assert np.mean(reads == digits.labels.numpy()) > 0.95
    blank = np.zeros((28, 28), np.uint8)
    assert small_picture(blank, rng) is blank


def test_with_coarse_adds_labelled_copies(digits):
    more = with_coarse(digits, seed=1)
    k = round(SHARE * len(digits))
    assert len(more) == len(digits) + k and more.images.dtype == torch.uint8
    assert torch.equal(more.images[:300], digits.images) and torch.equal(more.labels[:300], digits.labels)
    # each copy carries the label of the digit it was made from
    lm = LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-mnist.safetensors")
    reads = np.array([read(lm, d).top for d in more.images[300:].float().div(255).numpy()])
    assert np.mean(reads == more.labels[300:].numpy()) > 0.9
    assert torch.equal(with_coarse(digits, seed=1).images, more.images)
    assert with_coarse(Split(digits.images[:1], digits.labels[:1]), seed=0, share=0.1).images.shape[0] == 1


def test_training_with_coarse_copies_of_the_training_digits_only(digits, mnist_test_split):
    cfg = TrainConfig(dataset="mnist-sample", epochs=1, batch_size=100, mix={"coarse": True}, val_split=0.1,
                      seed=0, device="cpu")
    trainer = Trainer(cfg, train=digits, test=mnist_test_split)
    assert len(trainer.val) == 30 and len(trainer.train) == 270 + round(SHARE * 270)
    assert trainer.steps_per_epoch == 4
    own = Split(trainer.train.images[:270], trainer.train.labels[:270])  # the copies are made from these alone
    assert torch.equal(with_coarse(own, seed=0).images, trainer.train.images)
    with pytest.raises(ValueError, match="coarse teach digits"):
        TrainConfig(dataset="fashion-mnist-sample", mix={"coarse": True})
