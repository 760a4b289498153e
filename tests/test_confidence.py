"""Honest confidence: the digit temperature, stated probabilities in plain words, and letters that look like digits
never read as a digit at 95% or more."""
import numpy as np
import pytest
import torch

from lenet.net.config import preset
from lenet.reading.inference import LoadedModel
from lenet.reading.verdict import Thresholds, judge, markdown, output_probabilities, probability_words, thresholds_for

REJECT = preset("lenet5", reject_class=True)
DIGITS = [str(i) for i in range(10)]


def test_temperature_defaults_to_one_and_old_checkpoints_keep_it():
    assert Thresholds().temperature == 1.0
    old = {"score": "reject", "not_digit": 0.9, "unsure_top": 0.5, "unsure_margin": 0.2, "head": None}
    assert thresholds_for(REJECT, {"verdict": old}).temperature == 1.0
    for bad in (0, -1.0, float("nan"), "2"):
        with pytest.raises(ValueError):
            Thresholds(temperature=bad)


def test_temperature_divides_the_digit_logits_and_leaves_not_a_digit_alone():
    out = torch.tensor([[3.0, 1.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0.5]])
    plain, plain_reject = output_probabilities(out.numpy(), REJECT)
    assert np.allclose(plain, torch.softmax(out[:, :10], 1))  # the ten among themselves
    assert np.allclose(plain_reject, torch.softmax(out, 1)[:, 10])
    warm, warm_reject = output_probabilities(out.numpy(), REJECT, 2.0)
    assert np.array_equal(warm_reject, plain_reject)  # the reject probability is the plain softmax's
    assert np.allclose(warm, torch.softmax(out[:, :10] / 2, 1))
    v1 = judge(out[0].numpy(), REJECT, DIGITS, Thresholds("reject", 0.9))
    v2 = judge(out[0].numpy(), REJECT, DIGITS, Thresholds("reject", 0.9, temperature=2.0))
    assert v2.probability < v1.probability
    assert np.isclose(v2.probability, torch.softmax(out[0, :10] / 2, 0)[0].item())


def test_the_words_are_probabilities_not_certainty():
    v = judge(np.array([12.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -5]), REJECT, DIGITS, Thresholds("reject", 0.9))
    text = markdown(v)
    assert "sure" not in text.replace("unsure", "") and "100%" not in text
    assert "Probability over 99.9%" in text
    assert probability_words(0.5) == "50.0%" and probability_words(0.0001) == "under 0.1%"


def test_two_competing_digits_say_so_when_calibrated():
    from lenet.calibrate import UNSURE_MARGIN, UNSURE_TOP

    logits = np.log(np.array([0.56, 0.36] + [0.08 / 8] * 8))
    v = judge(np.append(logits, -20), REJECT, DIGITS, Thresholds("reject", 0.9, UNSURE_TOP, UNSURE_MARGIN))
    assert v.kind == "unsure"


@pytest.fixture(scope="module")
def shipped():
    from pathlib import Path

    return LoadedModel.from_file(Path(__file__).resolve().parents[1] / "checkpoints" / "lenet5-mnist.safetensors")


def test_a_lookalike_head_discounts_every_stated_digit_probability():
    from lenet.reading.verdict import FeatureHead

    head = FeatureHead(16 * 25 + 120 + 84)
    with torch.no_grad():
        head.net[2].bias.fill_(50.0)  # "a letter", whatever the shape
    acts = {"output": np.array([12.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -5]), "s4": np.zeros((16, 5, 5)),
            "c5": np.zeros(120), "f6": np.zeros(84)}
    th = Thresholds("reject", 0.9, lookalike=head.to_dict(), letter_scale=1.0, letter_bias=-2.0)
    v = judge(acts, REJECT, DIGITS, th)
    assert v.kind == "digit" and v.letter > 0.99 and v.probability < 0.01
    assert "may also be a letter" in markdown(v)
    assert judge(acts, REJECT, DIGITS, Thresholds("reject", 0.9)).letter == 0.0


def test_letters_that_look_like_digits_are_never_read_as_a_digit_at_95_percent(shipped):
    """S B Z O I l ? + g q written on the pad in Hershey faces the calibration never saw (lenet.reading.lookalikes)."""
    from lenet.reading import lookalikes
    from lenet.reading.inference import read

    rng = np.random.default_rng(0)
    overclaimed = []
    for face, char, strokes in lookalikes.glyph_strokes(lookalikes.TEST_FACES, "SBZOIl?+gq"):
        for _ in range(2):
            canvas = lookalikes.pad_canvas(strokes, rng, height=(0.4, 0.7), pen=(18, 22), jitter=0.0)
            v = read(shipped, canvas).verdict
            if v.kind == "digit" and v.probability >= 0.95:
                overclaimed.append((face, char, v.digit, round(v.probability, 3)))
    assert not overclaimed, overclaimed


def test_the_letter_scaling_weighs_each_set_of_letters_alike_whatever_its_size():
    """Fonts' letters and real writers' letters scale P(letter) as much as each other (lenet.calibrate), however many
    of each there are; and together they are the prior's share of the whole."""
    from lenet.calibrate import fit_letter_scaling

    rng = np.random.default_rng(0)
    digits, fonts, real = rng.normal(-4, 2, 800), rng.normal(4, 2, 300), rng.normal(0, 2, 40)
    one = fit_letter_scaling(digits, fonts, real, prior=0.2)
    assert one == pytest.approx(fit_letter_scaling(digits, fonts, np.repeat(real, 5), prior=0.2), rel=1e-3)
    assert one != pytest.approx(fit_letter_scaling(digits, np.concatenate([fonts, real]), prior=0.2), rel=1e-2)
    scale, bias = fit_letter_scaling(digits, fonts, real, prior=0.05)
    p = 1 / (1 + np.exp(-(scale * np.concatenate([digits, fonts, real]) + bias)))
    weights = np.concatenate([np.full(800, 0.95 / 800), np.full(300, 0.025 / 300), np.full(40, 0.025 / 40)])
    assert (p * weights).sum() == pytest.approx(0.05, abs=0.005)  # logistic regression matches the prior's mean


def test_a_refusal_states_its_score_and_where_refusing_starts():
    """A threshold set on real hands is low (lenet5-mnist: 7.7%): "score 12%" alone would read as a digit's."""
    out = np.array([2.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.4])
    v = judge({"output": out}, REJECT, DIGITS, Thresholds("reject", 0.077))
    assert v.kind == "not a digit" and 0.077 < v.score < 0.5
    assert f"not-a-digit score: {v.score:.0%}, refused above 8%" in v.reason
