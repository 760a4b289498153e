"""Handwriting fonts (lenet.sources.hand_fonts) and their letters in the "not a digit" head's calibration. No test
fetches a font: matplotlib's own stand in for a hand, and a missing one must fail clearly."""
from __future__ import annotations

import urllib.request

import numpy as np
import pytest
import torch

import lenet.calibrate as cal
import lenet.sources.hand_fonts as hand_fonts
from lenet.net.checkpoint import save_checkpoint
from lenet.net.config import preset
from lenet.sources.data import Split
from lenet.reading.inference import LoadedModel, read
from lenet.net.model import LeNet
from lenet.sources.negatives import _font_dir
from lenet.train import main as train_main
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer
from lenet.reading.verdict import FeatureHead
from conftest import ROOT


def test_the_hands_that_teach_and_the_hands_that_measure_are_apart():
    teach, measure = set(hand_fonts.CALIBRATION_HANDS), set(hand_fonts.HELD_OUT_HANDS)
    every = {name for names in hand_fonts.GROUPS.values() for name in names}
    assert not teach & measure and teach | measure == every
    for names in hand_fonts.GROUPS.values():  # each group is split, not one group to each side
        assert set(names) & teach and set(names) & measure


def test_letters_from_a_font_are_framed_like_drawings():
    font = _font_dir() / "DejaVuSans.ttf"
    x = hand_fonts.letter_images([font, font], "AhW ")  # a space draws no ink: left out
    assert x.shape == (6, 28, 28) and x.dtype.name == "uint8"
    assert (x.reshape(6, -1).max(1) == 255).all()  # ink reaches full strength, as canvas_to_digit frames a drawing
    assert (x[:, :4].max() == 0) and (x[:, -4:].max() == 0)  # the 20-pixel box inside MNIST's 28


def test_a_font_that_cannot_be_fetched_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(hand_fonts, "CACHE", tmp_path)

    def offline(*a, **k):
        raise OSError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(hand_fonts.FontUnavailable, match="cannot fetch the font 'caveat'"):
        hand_fonts.font_file("caveat")
    path = tmp_path / "caveat.woff"
    path.write_bytes(b"cached")  # once fetched, the cache is used and nothing is fetched again
    assert hand_fonts.font_file("caveat") == path


def test_calibrate_without_the_fonts_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(hand_fonts, "CACHE", tmp_path)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    path = save_checkpoint(tmp_path / "m.safetensors", LeNet(preset("lenet5", reject_class=True)),
                           {"arch": "lenet5", "dataset": "mnist-sample"})
    assert cal.main([str(path), "--hand-letters"]) == 2
    assert "cannot fetch the font" in capsys.readouterr().err


@pytest.mark.slow
def test_the_head_learns_hand_letters_as_negatives(monkeypatch):
    """--hand-letters: the letters join every head's negatives, and the calibration says how many.
    --head-samples: how many digits (and generated non-digits) each head learns from."""
    seen = []
    real_fit = FeatureHead.fit
    monkeypatch.setattr(FeatureHead, "fit",
                        lambda self, d, neg, **k: seen.append((len(d), len(neg))) or real_fit(self, d, neg, **k))
    meta = {"arch": "lenet5", "dataset": "mnist-sample", "settings": {"val_split": 0.1, "seed": 0}}
    model = LeNet(preset("lenet5", reject_class=True))
    letters = torch.from_numpy(hand_fonts.letter_images([_font_dir() / "DejaVuSans.ttf"], "AEFHKMNRWXYhkmnrwy"))
    without = cal.calibrate(model, meta, None, "head", 0.05, n_negatives=40, heads=2, head_samples=300)
    with_letters = cal.calibrate(model, meta, None, "head", 0.05, n_negatives=40, heads=2, letters=letters,
                                 head_samples=300)
    pairs = 300 // 6  # two digits side by side, also negatives
    assert len(letters) == 18 and seen == [(300, 300 + pairs)] * 2 + [(300, 300 + 18 + pairs)] * 2
    assert without["calibration"]["hand_letters"] == 0 and with_letters["calibration"]["hand_letters"] == 18
    seen.clear()  # --small-pictures: copies of a share of both sides, as sent in a small picture, join them
    small = cal.calibrate(model, meta, None, "head", 0.05, n_negatives=40, heads=1, head_samples=300, small=0.3)
    assert seen == [(300 + 90, 350 + 105)] and small["calibration"]["small_pictures"] == 0.3


# ---------- --hand-digits: the calibration hands' digits in training ----------

def test_digits_from_a_font_are_framed_like_drawings_and_labelled():
    font = _font_dir() / "DejaVuSans.ttf"
    x, y = hand_fonts.digit_images([font, font])
    assert x.shape == (20, 28, 28) and x.dtype.name == "uint8" and list(y) == list(range(10)) * 2
    assert (x.reshape(20, -1).max(1) == 255).all()  # ink at full strength, as canvas_to_digit frames a drawing
    for d in x:  # fitted in MNIST's 20-pixel box (centring on the ink's mass may move the box off the middle)
        rows, cols = np.nonzero(d > 25)
        assert np.ptp(rows) < 21 and np.ptp(cols) < 21 and max(np.ptp(rows), np.ptp(cols)) >= 18
    # the paper's model, which never saw a font, reads a plain font's digits as labelled: the labels are right
    lm = LoadedModel.from_file(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")
    assert np.mean([read(lm, d).top for d in (x[:10] / 255).astype(np.float32)] == y[:10]) >= 0.8


def test_with_hand_digits_adds_drawn_and_coarse_copies(mnist_test_split):
    digits = Split(mnist_test_split.images[:50], mnist_test_split.labels[:50])
    font = _font_dir() / "DejaVuSans.ttf"
    more = hand_fonts.with_hand_digits(digits, seed=0, font_paths=[font])
    copies = hand_fonts.DIGIT_COPIES + hand_fonts.COARSE_DIGIT_COPIES
    assert len(more) == 50 + 10 * copies and torch.equal(more.images[:50], digits.images)
    x, y = hand_fonts.digit_images([font])
    added, labels = more.images[50:].numpy(), more.labels[50:].numpy()
    assert (labels == np.tile(y, copies)).all()
    assert (added[:10 * hand_fonts.DIGIT_COPIES] == np.tile(x, (hand_fonts.DIGIT_COPIES, 1, 1))).all()
    coarse = added[10 * hand_fonts.DIGIT_COPIES:]
    assert not (coarse[:10] == x).all(axis=(1, 2)).any()  # every coarse copy differs from its font digit ...
    assert not (coarse[:10] == coarse[10:20]).all()  # ... and the copies differ from each other
    assert torch.equal(hand_fonts.with_hand_digits(digits, seed=0, font_paths=[font]).images, more.images)


@pytest.mark.slow
def test_training_with_hand_digits_asks_for_the_fonts(tmp_path, monkeypatch, mnist_test_split, capsys):
    monkeypatch.setattr(hand_fonts, "CACHE", tmp_path)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(ValueError, match="hand_digits teach digits"):
        TrainConfig(dataset="fashion-mnist-sample", mix={"hand_digits": True})
    assert train_main(["--dataset", "mnist-sample", "--epochs", "1", "--hand-digits"]) == 2
    assert "cannot fetch the font" in capsys.readouterr().err
    # with fonts at hand the Trainer adds them to its training split alone (the validation split stays MNIST's)
    font = _font_dir() / "DejaVuSans.ttf"
    monkeypatch.setattr(hand_fonts, "font_file", lambda name, cache=None: font)
    digits = Split(mnist_test_split.images[:100], mnist_test_split.labels[:100])
    trainer = Trainer(TrainConfig(dataset="mnist-sample", epochs=1, batch_size=100, mix={"hand_digits": True},
                                  val_split=0.1, device="cpu"), train=digits, test=mnist_test_split)
    per_hand = 10 * (hand_fonts.DIGIT_COPIES + hand_fonts.COARSE_DIGIT_COPIES)
    assert len(trainer.val) == 10 and len(trainer.train) == 90 + per_hand * len(hand_fonts.CALIBRATION_HANDS)
