"""Every letter, the digit-shaped ones too: which does the reader refuse, and what does it read the others as?

bench/reader/non_digits.py draws only the letters lenet.sources.shapes.LETTERS: it leaves out those that are digit shapes in
most hands (lenet.sources.shapes.DIGIT_LOOKALIKES: O o I l S s Z z B b G g q Q D T i j ...), as training does, since a
person who draws an O may well mean 0. A check elsewhere may draw all 52, so this reads each letter typed in the
fonts training never uses and written with the pen in the Hershey faces training never uses (the same drawing
code as bench/reader/non_digits.py), and reports the two groups apart. No goal: it says what a visitor who draws an S
will see.

    .venv/bin/python -m bench.reader.all_letters [--checkpoint C ...] [--per-letter 6]
"""
from __future__ import annotations

import argparse
import string

from bench.common import ROOT  # noqa: E402  (common puts the repository on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lenet.reading.inference import LoadedModel  # noqa: E402
from lenet.sources.shapes import DIGIT_LOOKALIKES  # noqa: E402
from bench.reader.non_digits import judge_all, letter, written_letter  # noqa: E402


def refusals(lm: LoadedModel, per_letter: int, seed: int) -> dict[str, tuple[float, float, str]]:
    """letter -> (typed refused, written refused, the digits it was read as)."""
    out = {}
    for c in string.ascii_letters:
        rngs = [np.random.default_rng([seed, ord(c), k]) for k in range(per_letter)]
        typed = judge_all(lm, [letter(r, [c]) for r in rngs])
        written = judge_all(lm, [written_letter(r, [c]) for r in rngs])
        out[c] = (np.mean([k != "digit" for k, _ in typed]), np.mean([k != "digit" for k, _ in written]),
                  "".join(str(b) for k, b in typed + written if k == "digit"))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", nargs="+", default=[str(ROOT / "checkpoints" / "lenet5-mnist.safetensors"),
                                                       str(ROOT / "checkpoints" / "lenet5-1998-mnist.safetensors")])
    p.add_argument("--per-letter", type=int, default=6, help="drawings of each letter, typed and written each")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(1)
    for path in args.checkpoint:
        lm = LoadedModel.from_file(path)
        res = refusals(lm, args.per_letter, args.seed)
        print(f"\n{lm.label}: share refused (\"not a digit\" or \"unsure\"), {args.per_letter} typed and "
              f"{args.per_letter} written drawings of each letter")
        for c, (typed, written, reads) in res.items():
            mark = " (digit shape)" if c in DIGIT_LOOKALIKES else ""
            print(f"  {c}{mark:<14} typed {typed:4.0%}  written {written:4.0%}  read as {reads or '-'}")
        for name, group in (("letters the benchmark draws", [c for c in res if c not in DIGIT_LOOKALIKES]),
                            ("digit-shaped letters", [c for c in res if c in DIGIT_LOOKALIKES]),
                            ("all 52", list(res))):
            print(f"  {name} ({len(group)}): typed {np.mean([res[c][0] for c in group]):.1%}, "
                  f"written {np.mean([res[c][1] for c in group]):.1%}")


if __name__ == "__main__":
    main()
