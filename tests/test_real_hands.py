"""The bundled real hands (UNIPEN pen digits, TU-Berlin sketches): their split, how they are drawn on the pad,
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
