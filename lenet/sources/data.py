"""Datasets as whole uint8 tensors: full MNIST / Fashion-MNIST via torchvision, or the bundled samples.

Where the full data comes from, in order: an explicit `data_dir` (or the LENET_DATA_DIR environment
variable) holding torchvision's layout (`MNIST/raw/*-ubyte`), read without network; otherwise
torchvision's download into a cache folder (LENET_CACHE_DIR, default ~/.cache/lenet5-studio).
Nothing is downloaded at import time.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lenet.net.config import LeNetConfig

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"

DIGITS = tuple(str(i) for i in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    classes: tuple[str, ...]
    torchvision_class: str  # the full dataset's class in torchvision.datasets
    sample: bool  # True: the small subset bundled with this package (works offline)
    short: str  # in a model's name, short enough for a phone's selector
    choice: str  # in the Train tab's dataset list


DATASETS = {
    "mnist": DatasetInfo("mnist", "MNIST", DIGITS, "MNIST", False, "MNIST", "MNIST digits · 60,000"),
    "fashion-mnist": DatasetInfo("fashion-mnist", "Fashion-MNIST", FASHION, "FashionMNIST", False, "Fashion-MNIST",
                                 "Fashion-MNIST clothes · 60,000"),
    "mnist-sample": DatasetInfo("mnist-sample", "MNIST sample (bundled)", DIGITS, "MNIST", True, "MNIST sample",
                                "MNIST sample · 4,000, offline"),
    "fashion-mnist-sample": DatasetInfo("fashion-mnist-sample", "Fashion-MNIST sample (bundled)", FASHION,
                                        "FashionMNIST", True, "Fashion sample", "Fashion-MNIST sample · 2,000, offline"),
}


class DatasetUnavailable(RuntimeError):
    """The dataset cannot be had here; the message says what to do."""


@dataclass
class Split:
    images: torch.Tensor  # (N, 28, 28) uint8, ink bright on a dark background
    labels: torch.Tensor  # (N,) int64

    def __len__(self):
        return len(self.labels)

    def to(self, device) -> "Split":
        return Split(self.images.to(device), self.labels.to(device))

    def plus(self, images, labels) -> "Split":
        """This split with more digits appended ((N, 28, 28) uint8 and (N,) labels, arrays or tensors), on its
        own device."""
        return Split(torch.cat([self.images, torch.as_tensor(images).to(self.images)]),
                     torch.cat([self.labels, torch.as_tensor(labels).to(self.labels)]))


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def default_data_dir() -> str | None:
    return os.environ.get("LENET_DATA_DIR") or None


def cache_dir() -> Path:
    return Path(os.environ.get("LENET_CACHE_DIR", Path.home() / ".cache" / "lenet5-studio"))


def offline() -> bool:
    """LENET_OFFLINE=1 (or true/yes) forbids downloads; unset, empty or 0 allows them."""
    return os.environ.get("LENET_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def load_split(name: str, train: bool, data_dir: str | os.PathLike | None = None,
               download: bool = True) -> Split:
    """One split of a dataset. Raises DatasetUnavailable with instructions when it cannot be had."""
    info = dataset_info(name)
    if info.sample:
        with np.load(SAMPLES_DIR / f"{name}.npz") as f:
            part = "train" if train else "test"
            return Split(torch.from_numpy(f[f"{part}_images"]), torch.from_numpy(f[f"{part}_labels"]).long())
    return _load_torchvision(info, train, data_dir if data_dir is not None else default_data_dir(), download)


def _load_torchvision(info: DatasetInfo, train: bool, data_dir, download: bool) -> Split:
    import torchvision.datasets as tvd  # imported here: the app starts without paying for it

    cls = getattr(tvd, info.torchvision_class)
    advice = (f"Set LENET_DATA_DIR (or --data-dir) to a folder holding {info.torchvision_class}/raw/*-ubyte "
              f"(torchvision's layout), or pick the bundled '{info.name}-sample', which works offline.")
    if data_dir is not None:  # a folder the user named: read it, never download into it
        try:
            ds = cls(str(data_dir), train=train, download=False)
        except (RuntimeError, OSError, ValueError) as e:
            raise DatasetUnavailable(f"{info.title} was not found in {data_dir} ({e}). {advice}") from None
    else:
        root = cache_dir() / "data"
        try:
            ds = cls(str(root), train=train, download=False)
        except (RuntimeError, OSError, ValueError):
            if not download or offline():
                raise DatasetUnavailable(f"{info.title} is not downloaded yet and downloading is off. {advice}") from None
            try:
                ds = cls(str(root), train=train, download=True)
            except Exception as e:  # network errors come in many types; all mean the same to the user
                raise DatasetUnavailable(f"Could not download {info.title} ({type(e).__name__}: {e}). "
                                         f"No internet here? {advice}") from None
    return Split(ds.data.clone(), ds.targets.clone().long())


RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def is_available_offline(name: str, data_dir=None) -> bool:
    """True when the dataset's files are on disk (checked without importing torchvision: app start-up)."""
    info = dataset_info(name)
    if info.sample:
        return True
    root = Path(data_dir or default_data_dir() or cache_dir() / "data")
    return all((root / info.torchvision_class / "raw" / f).is_file() for f in RAW_FILES)


def to_model_input(images: torch.Tensor, cfg: LeNetConfig) -> torch.Tensor:
    """(B, 28, 28) uint8 or float in [0, 1] -> (B, 1, S, S) normalised, padded with background to S."""
    return normalise(to_input01(images, cfg), cfg)


def to_input01(images: torch.Tensor, cfg: LeNetConfig) -> torch.Tensor:
    """(B, 28, 28) uint8 or float in [0, 1] -> (B, 1, S, S) in [0, 1], padded with background (0) to S."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.shape[-1] != 28:
        raise ValueError(f"expected 28x28 digits, got {tuple(x.shape[-2:])}")
    return torch.nn.functional.pad(x, (cfg.pad,) * 4) if cfg.pad else x


def normalise(x01: torch.Tensor, cfg: LeNetConfig) -> torch.Tensor:
    """Pixels in [0, 1] -> the model's input scale (the one place it is done)."""
    return (x01 - cfg.mean) / cfg.std


@functools.lru_cache(maxsize=2)
def cached_test_split(dataset: str, data_dir: str | None = None) -> Split:
    """A dataset's test split, kept for the Train tab's drill-down (read-only; full MNIST's is 7.8 MB)."""
    return load_split(dataset, train=False, data_dir=data_dir)
