"""Make the small bundled subsets (lenet/samples/*.npz) from the full raw datasets.

    python -m lenet.make_samples --data-dir ../shared/data

MNIST by Yann LeCun and Corinna Cortes (CC BY-SA 3.0); Fashion-MNIST by Zalando Research (MIT).
"""
import argparse

import numpy as np
import torch

from lenet.sources.data import SAMPLES_DIR, load_split

SIZES = {"mnist": (4000, 1000), "fashion-mnist": (2000, 500)}  # (train, test): a few hundred KB each


def balanced_indices(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n indices, the same number from every class, in a seeded random order."""
    g = torch.Generator().manual_seed(seed)
    per_class = n // 10
    picks = [torch.nonzero(labels == c).flatten()[torch.randperm(int((labels == c).sum()), generator=g)[:per_class]]
             for c in range(10)]
    idx = torch.cat(picks)
    return idx[torch.randperm(len(idx), generator=g)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True)
    args = p.parse_args()
    SAMPLES_DIR.mkdir(exist_ok=True)
    for name, (n_train, n_test) in SIZES.items():
        arrays = {}
        for part, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
            split = load_split(name, part == "train", args.data_dir, download=False)
            idx = balanced_indices(split.labels, n, seed)
            arrays[f"{part}_images"] = split.images[idx].numpy()
            arrays[f"{part}_labels"] = split.labels[idx].numpy().astype(np.uint8)
            arrays[f"{part}_source_index"] = idx.numpy().astype(np.int32)  # index into the original split
        out = SAMPLES_DIR / f"{name}-sample.npz"
        np.savez_compressed(out, **arrays)
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
