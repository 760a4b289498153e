"""Which canvas-like distortion helps? Each addition measured on the same short run.

Trains `lenet5` on a fixed subset of MNIST's training set for a few epochs per variant (same seed, same
schedule), then measures: MNIST test accuracy, drawn MNIST test digits (bench/reader/non_digits.py's canvases),
and real handwriting outside MNIST (bench/reader/real_handwriting.py: scikit-learn's load_digits, 13 writers).
Short runs rank the additions; the shipped model trains longer (README).

    .venv/bin/python -m bench.training.augment_ablation --data-dir /work/shared/data [--n 20000 --epochs 3]
"""
from __future__ import annotations

import argparse
import os
import time

from bench.common import ROOT  # noqa: E402  (common puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.reader.non_digits import drawn_digits  # noqa: E402
from bench.reader.real_handwriting import canvases  # noqa: E402
from lenet.sources.data import Split, load_split  # noqa: E402
from lenet.reading.inference import LoadedModel, read  # noqa: E402
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer  # noqa: E402

VARIANTS = {
    "none": {},
    "affine (--augment)": {"augment": True},
    "stroke": {"mix": {"stroke": True}},  # True: the source's default share (lenet.sources.mix)
    "elastic": {"mix": {"elastic": True}},
    "slant": {"mix": {"slant": True}},
    "broken": {"mix": {"broken": True}},
    "all four": {"mix": {"canvas": True}},
    "all four + negatives": {"mix": {"canvas": True, "negatives": True}},
}


def read_accuracy(lm, cs, labels) -> float:
    return float(np.mean([(r := read(lm, c)) is not None and r.top == y for c, y in zip(cs, labels)]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("LENET_DATA_DIR"))
    p.add_argument("--n", type=int, default=20000, help="training digits (a fixed random subset)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--drawn", type=int, default=1000)
    p.add_argument("--only", nargs="*", help="variant names to run")
    args = p.parse_args()
    torch.set_num_threads(1)
    train = load_split("mnist", True, args.data_dir)
    test = load_split("mnist", False, args.data_dir)
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(1))[:args.n]
    sub = Split(train.images[idx], train.labels[idx])
    drawn = drawn_digits(test, args.drawn, seed=0)
    real, real_y = canvases()
    print(f"lenet5, {args.n:,} training digits, {args.epochs} epochs, bs 128, Adam onecycle lr 3e-3, seed 0")
    print(f"{'variant':<24}{'MNIST test':>11}{'drawn':>8}{'real (13 writers)':>19}{'time':>7}")
    for name, extra in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        cfg = TrainConfig(arch="lenet5", dataset="mnist", epochs=args.epochs, batch_size=128, lr=3e-3, **extra)
        t0 = time.perf_counter()
        trainer = Trainer(cfg, train=sub, test=test)
        for ev in trainer.run():
            pass
        lm = LoadedModel.from_model(trainer.model.cpu(), trainer.meta())
        mnist = trainer.final["accuracy"]
        d = read_accuracy(lm, [c for _, _, c in drawn], [y for y, _, _ in drawn])
        r = read_accuracy(lm, real, real_y)
        print(f"{name:<24}{mnist:>11.2%}{d:>8.2%}{r:>19.2%}{time.perf_counter() - t0:>6.0f}s", flush=True)


if __name__ == "__main__":
    main()
