"""lenet/reading/explain.py: unit arithmetic against the model's own activations, receptive fields against the model,
occlusion, saliency, nearest neighbours in F6 space and the PCA map, on real digits of the bundled sample."""
from __future__ import annotations

import base64
import numpy as np
import pytest
import torch

from lenet.net.config import preset
from lenet.reading.explain import (SPATIAL, FeatureIndex, c3_inputs, occlusion, receptive_field, saliency, unit_detail,
                           unit_payload)
from lenet.reading.inference import LoadedModel, read
from lenet.net.model import C3_TABLE, LeNet

ARCHS = ["lenet5", "lenet5-1998", "lenet5-classic", "lenet5-bn", "lenet5-28-avg"]


@pytest.fixture(scope="module")
def shipped(shipped_model) -> LoadedModel:
    return shipped_model


@pytest.fixture(scope="module")
def index(shipped) -> FeatureIndex:
    return FeatureIndex.build(shipped)


def untrained(arch: str) -> LoadedModel:
    torch.manual_seed(0)
    net = LeNet(preset(arch))
    if preset(arch).batch_norm:  # non-trivial BatchNorm statistics, so folding them is really tested
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
    return LoadedModel.from_model(net, {"arch": arch, "dataset": "mnist"})


def digit(split, i: int) -> np.ndarray:
    return split.images[i].numpy().astype(np.float32) / 255


def units(reading, layer, n=12, seed=0):
    rng = np.random.default_rng(seed)
    c, h, w = reading.activations[layer].shape
    return [(int(rng.integers(c)), int(rng.integers(h)), int(rng.integers(w))) for _ in range(n)]


# ---------- one unit's arithmetic ----------

@pytest.mark.parametrize("arch", ARCHS)
def test_unit_detail_recomputes_every_layers_value(arch, mnist_test_split):
    lm = untrained(arch)
    reading = read(lm, digit(mnist_test_split, 4))
    for layer in SPATIAL:
        for m, y, x in units(reading, layer):
            d = unit_detail(lm, reading, layer, m, y, x)
            stored = float(reading.activations[layer][m, y, x])
            assert d["activation"] == pytest.approx(stored, abs=2e-4), (layer, m, y, x)


def test_c1_detail_is_the_input_patch_times_the_kernel(shipped, mnist_test_split):
    reading = read(shipped, digit(mnist_test_split, 0))
    d = unit_detail(shipped, reading, "c1", 2, 11, 9)
    (part,) = d["inputs"]
    np.testing.assert_array_equal(part["patch"], reading.model_input[11:16, 9:14])
    np.testing.assert_array_equal(part["kernel"], shipped.model.c1[0].weight[2, 0].numpy())
    assert d["weighted_sum"] == pytest.approx(float((part["patch"] * part["kernel"]).sum()), abs=1e-5)
    assert d["pre_activation"] == pytest.approx(d["weighted_sum"] + float(shipped.model.c1[0].bias[2]), abs=1e-6)


def test_c3_detail_reads_the_papers_table():
    lm = untrained("lenet5-1998")
    reading = read(lm, np.zeros((28, 28), np.float32))
    assert [p["map"] for p in unit_detail(lm, reading, "c3", 0, 0, 0)["inputs"]] == [0, 1, 2]
    assert [p["map"] for p in unit_detail(lm, reading, "c3", 9, 3, 3)["inputs"]] == [0, 3, 4, 5]
    assert [p["map"] for p in unit_detail(lm, reading, "c3", 15, 1, 2)["inputs"]] == [0, 1, 2, 3, 4, 5]
    assert c3_inputs(lm) == [list(t) for t in C3_TABLE]
    assert c3_inputs(untrained("lenet5")) == [list(range(6))] * 16


def test_unit_detail_refuses_other_layers(shipped, mnist_test_split):
    reading = read(shipped, digit(mnist_test_split, 0))
    with pytest.raises(ValueError, match="c5"):
        unit_detail(shipped, reading, "c5", 0, 0, 0)


def decode(packed: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(packed["data"]), "<f4").reshape(packed["shape"])


@pytest.mark.parametrize("arch", ["lenet5", "lenet5-1998", "lenet5-bn"])
def test_payload_carries_what_the_browser_needs(arch, mnist_test_split):
    lm = untrained(arch)
    reading = read(lm, digit(mnist_test_split, 2))
    p = unit_payload(lm, reading)
    for layer in SPATIAL:
        np.testing.assert_array_equal(decode(p["maps"][layer]), reading.activations[layer])
    np.testing.assert_array_equal(decode(p["maps"]["input"])[0], reading.model_input)
    w3 = decode(p["weights"]["c3"])
    assert w3.shape == (lm.model.config.c3_channels, lm.model.config.c1_channels, 5, 5)
    if arch == "lenet5-1998":  # the sparse C3 arrives dense, with zeros where the table has no link
        linked = np.abs(w3).sum((2, 3)) > 0
        assert linked.sum() == 60 and all(set(np.flatnonzero(linked[j])) == set(t) for j, t in enumerate(C3_TABLE))
        assert p["subsample"]["s2"] is not None and p["pooling"] == "subsample"
    assert (p["batch_norm"]["c1"] is not None) == (arch == "lenet5-bn")


@pytest.mark.parametrize("arch", ["lenet5", "lenet5-28-max"])
def test_receptive_fields_are_what_the_model_reads(arch):
    """Change one input pixel: exactly the units whose field holds it may change."""
    lm = untrained(arch)
    cfg = lm.model.config
    rng = np.random.default_rng(1)
    base = rng.random((28, 28)).astype(np.float32)
    a0 = read(lm, base).activations
    py, px = 13, 9  # a digit pixel; in input coordinates it moves by the padding
    poked = base.copy()
    poked[py, px] += 1.0
    a1 = read(lm, poked).activations
    iy, ix = py + cfg.pad, px + cfg.pad
    for layer in SPATIAL:
        c, h, w = a0[layer].shape
        for y in range(h):
            for x in range(w):
                top, left, size = receptive_field(cfg, layer, y, x)
                inside = top <= iy < top + size and left <= ix < left + size
                if not inside:
                    np.testing.assert_array_equal(a1[layer][:, y, x], a0[layer][:, y, x], err_msg=f"{layer} {y},{x}")
        changed = np.abs(a1[layer] - a0[layer]).max(0) > 0
        assert changed.any(), f"{layer}: the poke should reach some unit"


# ---------- occlusion and saliency ----------

def test_occlusion_of_a_real_digit(shipped, mnist_test_split):
    d = digit(mnist_test_split, 0)
    reading = read(shipped, d)
    occ = occlusion(shipped, reading)
    assert occ.shape == (14, 14) and occ.dtype == np.float32
    assert np.all(occ <= reading.probs[reading.top] + 1e-6)  # a drop can be at most the whole probability
    # With a background-coloured patch, covering empty space changes nothing: exactly zero there.
    bg = occlusion(shipped, reading, fill=0.0)
    for i in range(14):
        for j in range(14):
            lo_y, lo_x = 2 * i - 2, 2 * j - 2
            if not d[max(lo_y, 0):lo_y + 6, max(lo_x, 0):lo_x + 6].any():
                assert bg[i, j] == pytest.approx(0.0, abs=1e-6)


def test_occlusion_finds_the_part_that_matters(shipped, mnist_test_split):
    """Over ten real digits, the largest drop is where the patch covers ink (never in empty space)."""
    for i in range(10):
        d = digit(mnist_test_split, i)
        occ = occlusion(shipped, read(shipped, d), fill=0.0)
        y, x = np.unravel_index(occ.argmax(), occ.shape)
        assert d[max(2 * y - 2, 0):2 * y + 4, max(2 * x - 2, 0):2 * x + 4].max() > 0.3, f"digit {i}"


def test_saliency_is_repeatable_and_scaled(shipped, mnist_test_split):
    reading = read(shipped, digit(mnist_test_split, 1))
    s1, s2 = saliency(shipped, reading), saliency(shipped, reading)
    assert s1.shape == (32, 32) and s1.max() == pytest.approx(1.0) and s1.min() >= 0
    np.testing.assert_array_equal(s1, s2)
    params_before = [p.clone() for p in shipped.model.parameters()]
    saliency(shipped, reading, target=3)
    assert all(torch.equal(a, b) for a, b in zip(params_before, shipped.model.parameters()))


# ---------- F6 neighbours and the map ----------

def test_a_training_image_is_its_own_nearest_neighbour(shipped, index):
    for i in (0, 17, 1234):
        reading = read(shipped, index.train.images[i].numpy().astype(np.float32) / 255)
        near = index.neighbours(reading.activations["f6"], k=5)
        assert near[0]["index"] == i and near[0]["distance"] == pytest.approx(0.0, abs=1e-2)
        assert near[0]["label"] == str(int(index.train.labels[i]))
        assert [n["distance"] for n in near] == sorted(n["distance"] for n in near)


def test_neighbours_of_test_digits_share_their_class(shipped, index, mnist_test_split):
    agree = 0
    for i in range(20):
        reading = read(shipped, digit(mnist_test_split, i))
        near = index.neighbours(reading.activations["f6"])
        assert len(near) == 8
        labels = [n["label"] for n in near]
        agree += max(set(labels), key=labels.count) == str(int(mnist_test_split.labels[i]))
        for n in near:  # each distance is the real Euclidean distance to that training image's F6
            ref = np.linalg.norm(index.train_f6[n["index"]].numpy() - reading.activations["f6"])
            assert n["distance"] == pytest.approx(ref, rel=1e-3, abs=1e-3)
    assert agree >= 19


def test_index_picks_by_class_and_misreading(index):
    labels = index.test.labels.numpy()
    sevens = index.indices_of(7)
    assert len(sevens) > 0 and np.all(labels[sevens] == 7)
    wrong = index.indices_of(misread=True)
    assert np.all(index.test_pred[wrong] != labels[wrong])
    assert 0 < len(wrong) < 0.05 * len(labels)  # a 99% model misreads a few of the 1,000
    assert len(index.indices_of()) == len(labels)


def test_pca_map_projects_onto_orthonormal_axes(index):
    axes = index.pca_axes
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-4)
    f6 = index.pca_mean + 2 * axes[0] - 3 * axes[1]
    np.testing.assert_allclose(index.project(f6), [2, -3], atol=1e-4)
    assert index.test_xy.shape == (len(index.test), 2)
    # The first axis carries more of the spread than the second.
    assert index.test_xy[:, 0].var() >= index.test_xy[:, 1].var()
