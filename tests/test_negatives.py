"""The non-digit generator (lenet.sources.negatives) and the canvas-like distortions (lenet.sources.augment) it shares."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet.sources.augment import CANVAS_DISTORTIONS, broken_strokes, canvas_like, elastic_field, renormalize, stroke_width
from lenet.sources.negatives import (KINDS, OUTPUT_KINDS, OUTPUT_SHARE, SHARE, NegativeBank, add_objects, glyph_bank,
                                     make_negatives, pairs, rasterize)
from lenet.sources.shapes import OBJECT_SHAPES, DIGIT_LOOKALIKES, LETTERS, SYMBOLS, TRAIN_HERSHEY, WRITTEN_CHARS, hershey_strokes, random_strokes
from lenet.reading.preprocess import canvas_to_digit
from helpers import assert_framed_like_a_drawing, bbox_side, centre_of_mass


@pytest.fixture(scope="module")
def negatives():
    return make_negatives(280, seed=3)


def test_negatives_cover_every_kind_and_are_framed_like_drawings(negatives):
    images, kinds = negatives
    assert images.shape == (280, 28, 28) and images.dtype == torch.uint8
    assert set(kinds) == set(KINDS)
    for img in images.float().div(255).numpy():
        assert_framed_like_a_drawing(img)


def test_negatives_are_seeded(negatives):
    again, kinds = make_negatives(280, seed=3)
    assert torch.equal(again, negatives[0]) and kinds == negatives[1]
    other, _ = make_negatives(280, seed=4)
    assert not torch.equal(other, negatives[0])


def test_dots_become_filled_disks_as_the_app_frames_them(negatives):
    images, kinds = negatives
    dots = images[[i for i, k in enumerate(kinds) if k == "dot"]].float().div(255).numpy()
    assert len(dots)
    for d in dots:  # the app scales a single dot up to a 20-pixel disk: ~pi * 10^2 pixels of ink
        assert 250 < (d > 0.5).sum() < 380


def test_glyphs_leave_out_digit_lookalikes():
    assert not set(LETTERS) & DIGIT_LOOKALIKES and not set(SYMBOLS) & DIGIT_LOOKALIKES
    assert {"O", "o", "I", "l", "S", "Z", "B"} <= DIGIT_LOOKALIKES and "A" in LETTERS and "#" in SYMBOLS
    bank = glyph_bank()
    assert bank.ndim == 3 and bank.shape[1:] == (28, 28) and len(bank) > 200
    assert float(bank.amax()) == pytest.approx(1.0, abs=1e-3)


def test_rasterize_draws_a_round_pen_line():
    ink = rasterize([[np.array([[-1.0, 0.0], [1.0, 0.0]])]], [4.0])[0, 0].numpy()  # horizontal, 4 px pen at GRID
    rows = np.nonzero(ink.max(1) > 0.5)[0]
    cols = np.nonzero(ink.max(0) > 0.5)[0]
    assert 6 <= len(rows) <= 10  # 4 px at GRID is 8 px at the 2x drawing size
    assert len(cols) > 70  # the line spans 70% of the 112-px square (plus its round ends)


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("glyph", "dot")])
def test_every_shape_kind_gives_finite_strokes(kind):
    rng = np.random.default_rng(0)
    strokes = random_strokes(rng, kind)
    assert strokes and all(s.ndim == 2 and s.shape[1] == 2 and np.isfinite(s).all() for s in strokes)


def test_pairs_put_two_digits_side_by_side(mnist_test_split):
    d = mnist_test_split.images[:8].float().div(255).unsqueeze(1)
    p = pairs(d, torch.Generator().manual_seed(0))[:, 0].numpy()
    assert p.shape == (8, 28, 28)
    for img in p:
        rows, cols = np.nonzero(img > 0.1)
        assert np.ptp(cols) > 1.5 * np.ptp(rows)  # wide: two digits next to each other


def test_the_output_learns_every_kind_but_written_letters():
    bank = NegativeBank(64, seed=1)  # what training serves: the head alone learns written letters (calibrate)
    assert set(bank.kinds) == set(OUTPUT_KINDS) == set(KINDS) - {"written"}
    _, kinds = make_negatives(64, seed=1)
    assert "written" in kinds


def test_doodles_are_three_to_six_parts_in_one_or_more_strokes():
    rng = np.random.default_rng(0)
    counts = [len(random_strokes(rng, "doodle")) for _ in range(300)]
    assert min(counts) == 1 and max(counts) == 12  # one stroke (pen never lifted) ... six parts mirrored
    assert 3 <= np.median(counts) <= 6
    ink = make_negatives(50, seed=0, kinds=("doodle",))[0].float().div(255)
    assert (ink.flatten(1).sum(1) > 20).all()  # every one drawn and framed: real ink, not a speck


def test_everyday_objects_are_an_opt_in_share_of_the_bank():
    """mix objects = S: S as many blobs on stems, crescents, keys, lightning bolts and nested shapes as the bank's
    generated non-digits, framed like drawings; never in the kinds the shipped recipes draw (they replay)."""
    assert not set(OBJECT_SHAPES) & set(KINDS)
    bank = NegativeBank(200, seed=1)
    before = bank.images.clone()
    add_objects(bank, seed=1, share=0.5)
    assert len(bank.images) == len(bank.kinds) == 300 and torch.equal(bank.images[:200], before)
    assert set(bank.kinds[200:]) == set(OBJECT_SHAPES)
    for img in bank.images[200:].float().div(255).numpy():
        assert_framed_like_a_drawing(img)


@pytest.mark.parametrize("kind", sorted(OBJECT_SHAPES))
def test_an_everyday_object_is_more_than_a_ring_or_a_line(kind):
    """Each object has what tells it from a 0, a 9 or a 7: several strokes, or (a crescent, a bolt) a closed
    outline with corners."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        strokes = random_strokes(rng, kind)
        assert all(np.isfinite(s).all() for s in strokes)
        closed = np.linalg.norm(strokes[0][0] - strokes[0][-1]) < 0.15
        assert len(strokes) >= 2 or (closed and kind in ("crescent", "lightning")), (kind, len(strokes))


def test_bank_serves_distorted_negatives_and_pairs(mnist_test_split):
    bank = NegativeBank(64, seed=1)
    d = mnist_test_split.images[:16].float().div(255).unsqueeze(1)
    x = bank.sample(20, torch.Generator().manual_seed(0), digits=d)
    assert x.shape == (20, 1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert (x.flatten(1).amax(1) > 0.5).all()  # none came out empty


# ---------- canvas-like distortions ----------

def test_renormalize_frames_like_canvas_to_digit(mnist_test_split):
    img = mnist_test_split.images[0].numpy()
    small = np.zeros((56, 56), np.float32)
    small[5:19, 30:44] = np.asarray(torch.nn.functional.interpolate(  # the digit shrunk and moved to a corner
        torch.from_numpy(img).float()[None, None] / 255, size=(14, 14), mode="bilinear")[0, 0])
    ours = renormalize(torch.from_numpy(small)[None, None])[0, 0].numpy()
    theirs = canvas_to_digit(small, even_strokes=False)
    assert 19 <= bbox_side(ours) <= 21
    cy, cx = centre_of_mass(ours)
    assert abs(cy - 14) < 0.6 and abs(cx - 14) < 0.6
    assert np.abs(ours - theirs).mean() < 0.06


def test_renormalize_leaves_empty_images_empty():
    assert renormalize(torch.zeros(2, 1, 28, 28)).abs().max() == 0


def test_canvas_like_keeps_digits_digits(mnist_test_split):
    x = mnist_test_split.images[:64].float().div(255).unsqueeze(1)
    g = torch.Generator().manual_seed(0)
    y = canvas_like(x, g)
    assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1
    changed = (y - x).abs().flatten(1).mean(1)
    assert (changed > 0.01).float().mean() > 0.9  # nearly all were redrawn
    for name in CANVAS_DISTORTIONS:
        assert canvas_like(x[:4], g, distortions=(name,)).shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="unknown distortions"):
        canvas_like(x[:2], g, distortions=("melt",))


def test_stroke_width_makes_pens_thinner_and_thicker(mnist_test_split):
    x = torch.nn.functional.interpolate(mnist_test_split.images[:200].float().div(255).unsqueeze(1), scale_factor=2)
    y = stroke_width(x, torch.Generator().manual_seed(0), p=1.0)
    ratio = (y.flatten(1).sum(1) / x.flatten(1).sum(1)).numpy()
    assert (ratio < 0.9).any() and (ratio > 1.1).any()


def test_elastic_field_is_smooth_and_scaled():
    f = elastic_field(32, 28, 28, torch.Generator().manual_seed(0), alpha=34.0, sigma=4.0)
    assert f.shape == (32, 2, 28, 28)
    neighbour = (f[..., 1:] - f[..., :-1]).abs().mean()
    assert neighbour < 0.2 * f.abs().mean()  # smooth: neighbours move together
    assert 0.3 < float(f.abs().amax((1, 2, 3)).median()) < 34


def test_broken_strokes_remove_a_band_of_ink(mnist_test_split):
    x = mnist_test_split.images[:100].float().div(255).unsqueeze(1)
    y = broken_strokes(x, torch.Generator().manual_seed(0), p=1.0)
    lost = 1 - y.flatten(1).sum(1) / x.flatten(1).sum(1)
    assert (lost > 0.02).float().mean() > 0.5 and float(lost.max()) < 0.5


def test_letters_symbols_and_doodles_get_more_than_a_shape_kinds_share():
    deck = len(KINDS) + sum(n - 1 for n in SHARE.values())
    _, kinds = make_negatives(deck * 10, seed=0)  # ten full rounds of the deck
    assert kinds.count("heart") == 10 and kinds.count("glyph") == 20 and kinds.count("written") == 40
    assert kinds.count("doodle") == 20
    out_deck = len(OUTPUT_KINDS) + sum(n - 1 for k, n in OUTPUT_SHARE.items() if k in OUTPUT_KINDS)
    _, kinds = make_negatives(out_deck * 10, seed=0, kinds=OUTPUT_KINDS, share=OUTPUT_SHARE)  # what the bank serves
    assert kinds.count("doodle") == 40 and kinds.count("heart") == 10 and "written" not in kinds


def test_written_letters_are_hershey_pen_strokes_joined_into_lines():
    c = hershey_strokes("futural", "C")
    assert len(c) == 1 and len(c[0]) > 10  # one curve, its segments joined end to start
    assert len(hershey_strokes("futural", "H")) == 3  # two stems and a bar: the pen lifts between them
    for font in TRAIN_HERSHEY:  # every face used for training writes every character it is asked for
        assert all(hershey_strokes(font, ch) for ch in WRITTEN_CHARS)
    assert not set(WRITTEN_CHARS) & DIGIT_LOOKALIKES
