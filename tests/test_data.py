"""Datasets (bundled samples, a local torchvision-layout folder, clear errors offline), model input, augmentation."""
from __future__ import annotations

import socket
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from lenet.sources.augment import random_affine
from lenet.net.config import PRESETS, preset
from lenet.sources.data import (DatasetUnavailable, Split, dataset_info, is_available_offline, load_split,
                        to_model_input)
from lenet.make_samples import SIZES


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# ---------- the bundled samples ----------

@pytest.mark.parametrize("name, train, n", [
    ("mnist-sample", True, 4000), ("mnist-sample", False, 1000),
    ("fashion-mnist-sample", True, SIZES["fashion-mnist"][0]),
    ("fashion-mnist-sample", False, SIZES["fashion-mnist"][1]),
])
def test_sample_splits_shapes_dtypes_and_balanced_labels(name, train, n):
    s = load_split(name, train=train)
    assert len(s) == n
    assert s.images.shape == (n, 28, 28) and s.images.dtype == torch.uint8
    assert s.labels.shape == (n,) and s.labels.dtype == torch.int64
    assert int(s.labels.min()) == 0 and int(s.labels.max()) == 9
    assert torch.bincount(s.labels, minlength=10).tolist() == [n // 10] * 10
    # Ink bright on a dark background, like MNIST: borders are dark, the middle holds ink.
    border = torch.cat([s.images[:, 0], s.images[:, -1], s.images[:, :, 0], s.images[:, :, -1]], 1).float()
    middle = s.images[:, 10:18, 10:18].float()
    assert middle.mean() > 40
    assert border.mean() < middle.mean() / 4
    assert dataset_info(name).sample


def test_sample_is_real_varied_data(mnist_train_split, mnist_test_split):
    # Not one image repeated: distinct images, and train and test do not share images.
    train_set = {bytes(im.numpy()) for im in mnist_train_split.images}
    test_set = {bytes(im.numpy()) for im in mnist_test_split.images}
    assert len(train_set) == len(mnist_train_split)
    assert len(test_set) == len(mnist_test_split)
    assert len(train_set & test_set) == 0


def test_unknown_dataset_is_a_value_error():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_split("cifar10", train=True)
    with pytest.raises(ValueError):
        dataset_info("emnist")


def test_split_to_device_keeps_data(mnist_test_split):
    moved = mnist_test_split.to("cpu")
    assert torch.equal(moved.images, mnist_test_split.images) and torch.equal(moved.labels, mnist_test_split.labels)


# ---------- model input ----------

def test_to_model_input_pads_28_to_32_with_background_and_normalises():
    cfg = PRESETS["lenet5"]
    assert cfg.input_size == 32
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    images[0, 5, 7] = 255
    images[1, 27, 0] = 51  # 0.2
    x = to_model_input(images, cfg)
    assert x.shape == (2, 1, 32, 32) and x.dtype == torch.float32
    background = (0 - 0.1307) / 0.3081
    assert x[0, 0, 0, 0].item() == pytest.approx(background, abs=1e-5)  # padding is background
    assert x[0, 0, 31, 31].item() == pytest.approx(background, abs=1e-5)
    assert x[0, 0, 5 + 2, 7 + 2].item() == pytest.approx((1.0 - 0.1307) / 0.3081, abs=1e-5)  # moved by the pad
    assert x[1, 0, 27 + 2, 0 + 2].item() == pytest.approx((0.2 - 0.1307) / 0.3081, abs=1e-5)
    n_ink = int((x > background + 1e-3).sum())
    assert n_ink == 2


def test_to_model_input_uses_the_configs_normalisation():
    cfg = PRESETS["lenet5-1998"]
    images = torch.zeros(1, 28, 28, dtype=torch.uint8)
    images[0, 14, 14] = 255
    x = to_model_input(images, cfg)
    # The paper: background -0.1, ink 1.175.
    assert x[0, 0, 0, 0].item() == pytest.approx(-0.1, abs=1e-5)
    assert x[0, 0, 16, 16].item() == pytest.approx(1.175, abs=1e-5)
    custom = preset("lenet5", mean=0.5, std=0.25)
    assert to_model_input(images, custom)[0, 0, 16, 16].item() == pytest.approx(2.0, abs=1e-5)


@pytest.mark.parametrize("name", [n for n, c in PRESETS.items() if c.input_size == 28])
def test_28_input_presets_are_not_padded(name, mnist_test_split):
    cfg = PRESETS[name]
    images = mnist_test_split.images[:4]
    x = to_model_input(images, cfg)
    assert x.shape == (4, 1, 28, 28)
    expected = (images.float() / 255 - cfg.mean) / cfg.std
    torch.testing.assert_close(x[:, 0], expected)


def test_to_model_input_accepts_floats_in_0_1_and_1_channel_batches(mnist_test_split):
    cfg = PRESETS["lenet5"]
    images = mnist_test_split.images[:3]
    a = to_model_input(images, cfg)
    b = to_model_input(images.float() / 255, cfg)
    c = to_model_input((images.float() / 255).unsqueeze(1), cfg)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


# ---------- full datasets: errors and a local folder ----------

def test_missing_data_dir_raises_dataset_unavailable_with_advice(tmp_path, no_network):
    with pytest.raises(DatasetUnavailable) as e:
        load_split("mnist", train=True, data_dir=tmp_path)
    msg = str(e.value)
    assert "LENET_DATA_DIR" in msg
    assert "mnist-sample" in msg
    assert not any(tmp_path.iterdir())  # nothing was downloaded into the user's folder


def test_offline_without_data_dir_raises_without_network(tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("LENET_DATA_DIR", raising=False)
    monkeypatch.setenv("LENET_OFFLINE", "1")
    monkeypatch.setenv("LENET_CACHE_DIR", str(tmp_path))
    for name in ("mnist", "fashion-mnist"):
        with pytest.raises(DatasetUnavailable) as e:
            load_split(name, train=False)
        assert "LENET_DATA_DIR" in str(e.value)
        assert f"{name}-sample" in str(e.value)
        assert not is_available_offline(name)
    assert is_available_offline("mnist-sample")


def test_download_false_raises_without_network(tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("LENET_DATA_DIR", raising=False)
    monkeypatch.delenv("LENET_OFFLINE", raising=False)
    monkeypatch.setenv("LENET_CACHE_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailable):
        load_split("mnist", train=True, download=False)


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    """An uncompressed IDX file: big-endian magic, big-endian dims, raw uint8 data."""
    with open(path, "wb") as f:
        f.write(struct.pack(">i", magic))
        for d in array.shape:
            f.write(struct.pack(">i", d))
        f.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _torchvision_layout(root: Path, folder: str, train: Split, test: Split) -> Path:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for prefix, split in (("train", train), ("t10k", test)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", split.images.numpy(), 2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", split.labels.numpy().astype(np.uint8), 2049)
    return root


def test_local_folder_in_torchvision_layout_loads(tmp_path, mnist_train_split, mnist_test_split, no_network):
    small_train = Split(mnist_train_split.images[:300], mnist_train_split.labels[:300])
    small_test = Split(mnist_test_split.images[:100], mnist_test_split.labels[:100])
    root = _torchvision_layout(tmp_path, "MNIST", small_train, small_test)
    for train, ref in ((True, small_train), (False, small_test)):
        s = load_split("mnist", train=train, data_dir=root)
        assert s.images.dtype == torch.uint8 and s.labels.dtype == torch.int64
        assert torch.equal(s.images, ref.images)
        assert torch.equal(s.labels, ref.labels)
    assert is_available_offline("mnist", data_dir=root)


def test_local_folder_from_the_environment_variable(tmp_path, monkeypatch, mnist_train_split, mnist_test_split, no_network):
    fashion_train = load_split("fashion-mnist-sample", train=True)
    fashion_test = load_split("fashion-mnist-sample", train=False)
    root = _torchvision_layout(tmp_path, "FashionMNIST", Split(fashion_train.images[:200], fashion_train.labels[:200]),
                               Split(fashion_test.images[:50], fashion_test.labels[:50]))
    monkeypatch.setenv("LENET_DATA_DIR", str(root))
    monkeypatch.setenv("LENET_OFFLINE", "1")
    s = load_split("fashion-mnist", train=False)
    assert torch.equal(s.images, fashion_test.images[:50])
    assert torch.equal(s.labels, fashion_test.labels[:50])
    with pytest.raises(DatasetUnavailable):  # the folder has no MNIST
        load_split("mnist", train=False)


# ---------- augmentation ----------

def test_random_affine_preserves_shape_and_range(mnist_test_split):
    x = mnist_test_split.images[:64].float().div(255).unsqueeze(1)
    g = torch.Generator().manual_seed(0)
    y = random_affine(x, g)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= -1e-6 and y.max() <= 1 + 1e-6
    assert not torch.allclose(y, x, atol=1e-3)  # it really moved the digits
    # Ink is kept (digits are not pushed out of the field) and not created.
    ratio = y.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert ratio.min() > 0.6 and ratio.max() < 1.5


def test_random_affine_keeps_the_background_dark(mnist_test_split):
    x = mnist_test_split.images[:64].float().div(255).unsqueeze(1)
    y = random_affine(x, torch.Generator().manual_seed(1))
    corners = torch.cat([y[..., :3, :3], y[..., :3, -3:], y[..., -3:, :3], y[..., -3:, -3:]], -1)
    assert corners.abs().max() < 0.05
    assert random_affine(torch.zeros(8, 1, 28, 28), torch.Generator().manual_seed(2)).abs().max() == 0


def test_random_affine_with_zero_ranges_is_the_identity(mnist_test_split):
    x = mnist_test_split.images[:16].float().div(255).unsqueeze(1)
    y = random_affine(x, torch.Generator().manual_seed(0), rotation=0, translate=0, scale=0, squeeze=0, shear=0)
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)


def test_random_affine_is_deterministic_with_a_seeded_generator(mnist_test_split):
    x = mnist_test_split.images[:16].float().div(255).unsqueeze(1)
    a = random_affine(x, torch.Generator().manual_seed(42))
    b = random_affine(x, torch.Generator().manual_seed(42))
    c = random_affine(x, torch.Generator().manual_seed(43))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_random_affine_draws_one_transform_per_sample(mnist_test_split):
    one = mnist_test_split.images[:1].float().div(255).unsqueeze(1)
    y = random_affine(one.repeat(8, 1, 1, 1), torch.Generator().manual_seed(3))
    diffs = [(y[0] - y[i]).abs().max().item() for i in range(1, 8)]
    assert min(diffs) > 1e-3
