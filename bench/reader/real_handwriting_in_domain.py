"""How far the 8x8 real-handwriting set's pen rendering is from a reader's reach: readers that HAVE seen the set.

bench/reader/real_handwriting.py reads 1,797 digits by 13 writers that no shipped model ever saw (goal >= 97%). This
benchmark asks what that figure could be at best: it splits the set into 13 blocks of consecutive samples
(scikit-learn's file follows the order of the forms, so a block is roughly one writer's share, and writers leak
only across block edges), lets a reader learn from 12 blocks and reads the 13th, for every block in turn:

  svm, 8x8 grid    an RBF SVM on the 64 block counts themselves (the set's own features)
  svm, model input an RBF SVM on the 28x28 digits the canvas path makes of a rendering
  LeNet-5 tuned    the shipped lenet5-mnist fine-tuned on the 12 blocks' rendering (mixed half and half with
                   MNIST training digits, shifts of up to 2 px), for a few epochs

None of these readers is shipped or could be: they learned the benchmark's own writers. The figures bound what
writer-independent reading of this rendering can hope for, and show where the gap lies (the rendering or the
writers). Needs scikit-learn (requirements-dev) and MNIST's training split (--data-dir) for the fine-tuning.

    .venv/bin/python -m bench.reader.real_handwriting_in_domain --data-dir ../shared/data [--renderings pen ink]
"""
from __future__ import annotations

import argparse
import copy

from bench.common import ROOT  # noqa: E402  (common puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from lenet.sources.data import load_split, to_model_input  # noqa: E402
from lenet.reading.inference import LoadedModel  # noqa: E402
from lenet.reading.preprocess import canvas_to_digit  # noqa: E402
from bench.reader.real_handwriting import canvases  # noqa: E402

BLOCKS = 13


def model_inputs(rendering: str):
    cs, labels = canvases(rendering)
    return torch.from_numpy(np.stack([canvas_to_digit(c) for c in cs])), torch.from_numpy(labels).long()


def block_cv(n: int, fit_and_read) -> dict[str, np.ndarray]:
    """For each rendering read: right or wrong for every sample, read by a reader that learned the other blocks.
    fit_and_read(i, train, test) -> {rendering: right or wrong for the test samples}."""
    right = {}
    for i, test in enumerate(np.array_split(np.arange(n), BLOCKS)):
        for read, ok in fit_and_read(i, np.setdiff1d(np.arange(n), test), test).items():
            right.setdefault(read, np.zeros(n, bool))[test] = ok
    return right


def svm(features: np.ndarray, labels: np.ndarray, read: str):
    from sklearn.svm import SVC

    return lambda i, train, test: {read: SVC(C=10, gamma="scale").fit(features[train], labels[train]).predict(
        features[test]) == labels[test]}


def tuned_lenet(base: LoadedModel, mnist, x_learn, reads: dict[str, torch.Tensor], labels, epochs: int,
                batch: int = 32):
    """The network fine-tuned on the learned blocks of one rendering, then reading the test block in each of
    `reads`."""
    cfg = base.model.config

    def fit_and_read(i, train, test):
        gen = torch.Generator().manual_seed(i)
        m = copy.deepcopy(base.model).train().requires_grad_(True)
        opt = torch.optim.Adam(m.parameters(), 3e-4)
        train = torch.from_numpy(train)
        for _ in range(epochs):
            order = train[torch.randperm(len(train), generator=gen)]
            for s in range(0, len(order), batch):
                b = order[s:s + batch]
                dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
                j = torch.randint(0, len(mnist), (len(b),), generator=gen)
                x = torch.cat([torch.roll(x_learn[b], (dy, dx), (-2, -1)), mnist.images[j].float() / 255])
                y = torch.cat([labels[b], mnist.labels[j]])
                loss = F.cross_entropy(m(to_model_input(x, cfg))[:, :10], y)
                opt.zero_grad()
                loss.backward()
                opt.step()
        m.eval()
        with torch.no_grad():
            return {read: (m(to_model_input(x[test], cfg))[:, :10].argmax(1) == labels[test]).numpy()
                    for read, x in reads.items()}
    return fit_and_read


def report(name: str, right: dict[str, np.ndarray]):
    for read, ok in right.items():
        per_block = [ok[b].mean() for b in np.array_split(np.arange(len(ok)), BLOCKS)]
        print(f"  {name + ', read in ' + read:<52} {ok.mean():7.2%}   blocks {min(per_block):.1%}-"
              f"{max(per_block):.1%}, {sum(a >= 0.97 for a in per_block)} of {BLOCKS} at >= 97%", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", required=True, help="where MNIST's raw files are (for the fine-tuning)")
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "lenet5-mnist.safetensors"))
    p.add_argument("--renderings", nargs="+", default=["pen", "ink"])
    p.add_argument("--epochs", type=int, default=6)
    args = p.parse_args()
    torch.set_num_threads(2)
    from sklearn.datasets import load_digits

    base = LoadedModel.from_file(args.checkpoint)
    mnist = load_split("mnist", True, args.data_dir)
    d = load_digits()
    inputs = {r: model_inputs(r) for r in args.renderings}
    reads = {r: x for r, (x, _) in inputs.items()}
    labels = inputs[args.renderings[0]][1]
    n = len(labels)
    print(f"{n} digits by 13 writers, {BLOCKS} blocks of consecutive samples; each block read by a reader that "
          f"learned the other {BLOCKS - 1}")
    report("svm on the 8x8 grids", block_cv(n, svm(d.data / 16, d.target, "the grids")))
    with torch.no_grad():
        report(f"{base.label}, as shipped",
               {read: (base.model(to_model_input(x, base.model.config))[:, :10].argmax(1) == labels).numpy()
                for read, x in reads.items()})
    for read, x in reads.items():
        report("svm on the 28x28 digits", block_cv(n, svm(x.reshape(n, -1).numpy(), labels.numpy(), read)))
    for learn, x in reads.items():
        report(f"LeNet-5 tuned on {learn}, {args.epochs} epochs",
               block_cv(n, tuned_lenet(base, mnist, x, reads, labels, args.epochs)))

if __name__ == "__main__":
    main()
