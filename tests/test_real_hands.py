"""The bundled real hands (UNIPEN pen digits, TU-Berlin sketches, UJI's digits and letters): their split, how they are drawn on the pad,
and that reading them in batches is what /read says of each."""
import json
import re

import numpy as np
import pytest

from lenet.sources import real_hands as rh
from lenet.reading.inference import LoadedModel
from lenet.reading.strokes import SIZE


def test_the_bundle_holds_every_digit_with_hashed_writer_ids():
    ds = rh.load_digits()
    assert len(ds) == 15953
    writers = {d.writer for d in ds}
    assert len(writers) == 268
    assert all(re.fullmatch(r"[a-z]{3}/[0-9a-f]{8}", w) for w in writers)  # never a person's name
    assert {d.site for d in ds} == set(rh.TRAIN_SITES) | set(rh.BENCH_SITES)
    assert {d.label for d in ds} == set(range(10))


def test_the_split_never_lets_a_writer_teach_and_measure():
    parts = {p: {d.writer for d in rh.digits_for(p)} for p in ("train", "calibration", "bench")}
    assert not parts["train"] & parts["calibration"]
    assert not parts["train"] & parts["bench"] and not parts["calibration"] & parts["bench"]
    assert {w.split("/")[0] for w in parts["bench"]} == set(rh.BENCH_SITES)
    assert len(parts["bench"]) == 121
    train_kinds, bench_kinds = rh.kinds()
    assert len(train_kinds) == len(bench_kinds) == 20 and not set(train_kinds) & set(bench_kinds)
    for part, kinds in (("train", train_kinds), ("calibration", train_kinds), ("bench", bench_kinds)):
        _, names = rh.sketches_for(part)
        assert set(names) == set(kinds)


def test_uji_is_a_corpus_apart_with_two_of_each_character_a_writer():
    digits, letters = rh.load_uji()
    assert len(digits) == 1200 and len({d.writer for d in digits}) == 60
    assert all(sum(d.writer == w and d.label == k for d in digits) == 2 for w in ("uji/01", "uji/60") for k in range(10))
    assert len(letters) == 11 * 52 * 2 and {d.char for d in letters} == set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert rh.digits_for("uji") == list(digits)
    unipen = {d.writer for d in rh.load_digits()}
    assert not unipen & {d.writer for d in digits}
    # a 7's first stroke starts near its top: y grows downwards, as on a screen
    seven = next(d for d in digits if d.label == 7)
    assert seven.strokes[0][0, 1] < np.concatenate(seven.strokes)[:, 1].mean()


def test_uji_letters_teach_calibrate_and_measure_with_writers_apart():
    train, calibration, bench = ({d.writer for d in rh.letters_for(p)} for p in ("train", "calibration", "bench"))
    assert (len(train), len(calibration), len(bench)) == (4, 2, 5)
    assert not train & calibration and not train & bench and not calibration & bench
    images = rh.training_letters("SO", copies=3)
    assert images.shape == (4 * 2 * 2 * 3, 28, 28) and images.dtype == np.uint8 and images.max() == 255


def test_a_digit_is_drawn_as_a_visitor_draws_on_the_pad():
    rng = np.random.default_rng(0)
    for d in rh.digits_for("bench")[:200]:
        drawing = rh.pad_drawing(d, rng)
        pts = np.concatenate(drawing.strokes)
        height = np.ptp(pts[:, 1])
        assert 18 <= drawing.width <= 22 and drawing.size == SIZE
        assert pts.min() >= 0 and pts.max() <= SIZE
        assert height <= 0.7 * SIZE + 1e-6
        assert height >= 0.4 * SIZE - 1e-6 or np.ptp(pts[:, 0]) >= 0.9 * SIZE - 1e-6  # only a wide digit is kept lower


def test_a_sketch_is_drawn_with_the_pads_pen():
    ink, _ = rh.sketches_for("bench")
    canvas = rh.sketch_canvas(ink[0], np.random.default_rng(0))
    assert canvas.shape == (SIZE, SIZE, 4) and canvas[..., 3].max() == 255


def test_a_fast_pen_keeps_few_points_on_the_digits_own_lines():
    """`fast` (bench/reader/real_hands.py --points): the digit with `points` points in all, each stroke from its
    first point to its last, every kept point on the pen's own path (straight lines between them: corners)."""
    for d in rh.digits_for("train")[:100]:
        f = rh.fast(d, 10)
        assert (f.label, f.writer, len(f.strokes)) == (d.label, d.writer, len(d.strokes))
        kept = sum(len(s) for s in f.strokes)
        assert kept <= max(10 + len(d.strokes), 2 * len(d.strokes)) and kept < sum(len(s) for s in d.strokes)
        for s, orig in zip(f.strokes, d.strokes):
            assert np.allclose(s[[0, -1]], orig[[0, -1]])
            dense = np.concatenate([np.linspace(a, b, 50) for a, b in zip(orig[:-1], orig[1:])]) if len(orig) > 1 else orig
            assert np.min(np.linalg.norm(s[:, None] - dense[None], axis=2), axis=1).max() < 0.02 * np.ptp(dense, 0).max() + 1e-6


def test_a_slow_tablet_keeps_each_strokes_ends_and_one_sample_in_k():
    """`slow` (bench/reader/real_hands.py --keep-every): of each stroke's own samples, in order, its first, its last
    and one in k between them; k = 1 keeps them all."""
    rng = np.random.default_rng(0)
    for d in rh.digits_for("train")[:100]:
        assert all(np.array_equal(a, b) for a, b in zip(rh.slow(d, 1, rng).strokes, d.strokes))
        s6 = rh.slow(d, 6, rng)
        assert (s6.label, s6.writer, len(s6.strokes)) == (d.label, d.writer, len(d.strokes))
        for s, orig in zip(s6.strokes, d.strokes):
            assert np.array_equal(s[[0, -1]], orig[[0, -1]])
    numbered = rh.RealDigit([np.stack([np.arange(40.0), np.zeros(40)], 1), np.array([[5.0, 5.0]])], 3, "x/1")
    for _ in range(20):
        kept = rh.slow(numbered, 6, rng).strokes
        idx = kept[0][:, 0].astype(int)  # each kept sample's place in the stroke
        steps = np.diff(idx)
        assert idx[0] == 0 and idx[-1] == 39 and (steps > 0).all() and (steps <= 6).all()
        assert (steps[1:-1] == 6).all() and len(idx) <= 40 // 6 + 3
        assert np.array_equal(kept[1], [[5.0, 5.0]])


@pytest.fixture(scope="module")
def shipped():
    return LoadedModel.from_file(rh.UNIPEN_FILE.parents[1].parent / "checkpoints" / "lenet5-mnist.safetensors")


def test_reading_in_batches_is_what_read_says(shipped):
    from lenet.present import draw_view
    from lenet.reading.inference import read

    rng = np.random.default_rng(1)
    ds = rh.digits_for("calibration")[:12]
    drawings = [rh.pad_drawing(d, rng) for d in ds]
    batch = rh.read_canvases(shipped, [rh.rasterise(dr) for dr in drawings])
    for dr, got in zip(drawings, batch):
        strokes = json.dumps({"size": dr.size, "width": dr.width,
                              "strokes": [s.flatten().tolist() for s in dr.strokes]})
        one = draw_view.read_json(shipped, read(shipped, strokes))
        assert (got.verdict, got.digit) == (one["verdict"], one["digit"])
