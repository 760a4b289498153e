"""Real hands: real people's pen digits and sketches, drawn on the Draw pad, read as /read reads them.

Digits: UNIPEN's benchmark sites (ced, ibm, tos: 3,483 digits by 121 writers no training or calibration ever
sees; lenet.sources.real_hands), each drawn on the 280-px pad at 40-70% of its height with an 18-22 px pen, anywhere it
fits, rasterised by lenet.reading.strokes and read through canvas_to_digit, the model and the checkpoint's verdict.
"Right" = the verdict is "digit" and the digit is the label. Per site, per writer (writers with >= 20 digits),
the worst writer, the most common misreads; the expected calibration error (ECE, 15 equal-width bins) of the
top digit probability among the ten against being right, over every digit.

Sketches: the 20 TU-Berlin kinds no training or calibration sees (80 each), drawn on the pad with the same pen
at 45-85% of it; "refused" = the verdict is "not a digit" ("unsure" is counted apart: it is not a digit read).

Another corpus (the benchmark part only): UJI Pen Characters' digits (60 writers, 1,200 digits; nothing learns or
calibrates on them) drawn and read as above, and the letters of UJI's 5 writers the lookalike head never learns
(lenet.sources.real_hands.letters_for): those written like a digit (lenet.reading.lookalikes.CHARS) read as a digit at
>= 95%, and the other letters refused.

    .venv/bin/python -m bench.reader.real_hands [--checkpoint checkpoints/lenet5-mnist.safetensors] [--copies 1]
        [--seed 0] [--json out.json] [--part bench|calibration] [--points 12] [--keep-every 6]

Everything is seeded; --copies N draws each digit N times (other sizes, pens, places); --points N draws each one fast,
N points in all joined by straight lines (a quick hand on a 60 Hz pad: lenet.sources.real_hands.fast); --keep-every K
keeps one of each stroke's samples in K (and its ends): a slower tablet (lenet.sources.real_hands.slow).
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lenet.sources import real_hands as rh  # noqa: E402
from lenet.reading.inference import LoadedModel  # noqa: E402

MIN_WRITER = 20


def ece(p: np.ndarray, right: np.ndarray, bins: int = 15) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs(p[m].mean() - right[m].mean())
    return float(total)


def digits_report(lm, part: str, copies: int, seed: int, points: int | None = None,
                  keep_every: int | None = None) -> dict:
    ds = rh.digits_for(part)
    if points:  # drawn fast: a quick hand on a 60 Hz pad keeps few points (lenet.sources.real_hands.fast)
        ds = [rh.fast(d, points) for d in ds]
    if keep_every:  # a slow tablet: one sample in `keep_every` (lenet.sources.real_hands.slow)
        rng = np.random.default_rng([seed, 7])
        ds = [rh.slow(d, keep_every, rng) for d in ds]
    canvases, labels, writers = [], [], []
    for c in range(copies):
        rng = np.random.default_rng([seed, c])
        for d in ds:
            canvases.append(rh.pad_canvas(d, rng))
            labels.append(d.label)
            writers.append(d.writer)
    reads = rh.read_canvases(lm, canvases)
    labels = np.array(labels)
    verdict = np.array([r.verdict for r in reads])
    best = np.array([int(r.best) if r.best else -1 for r in reads])
    prob = np.array([r.probability for r in reads])
    among_ten = prob / np.maximum(1 - np.array([r.letter for r in reads]), 1e-9)
    right = (verdict == "digit") & (best == labels)
    site = np.array([w.split("/")[0] for w in writers])
    writers = np.array(writers)

    def rates(m):
        n = int(m.sum())
        return {"n": n, "right": float(right[m].mean()), "misread": float(((verdict == "digit") & ~right)[m].mean()),
                "unsure": float((verdict == "unsure")[m].mean()),
                "not_digit": float((verdict == "not a digit")[m].mean())}

    per_site = {s: rates(site == s) for s in sorted(set(site))}
    per_writer = {w: rates(writers == w) for w in sorted(set(writers)) if (writers == w).sum() >= MIN_WRITER * copies}
    worst = sorted(per_writer.items(), key=lambda kv: kv[1]["right"])
    misreads = collections.Counter(f"{l} -> {b}" for l, b, v in zip(labels, best, verdict) if v == "digit" and l != b)
    refused = collections.Counter(int(l) for l, v in zip(labels, verdict) if v == "not a digit")
    per_digit = {int(k): float(right[labels == k].mean()) for k in range(10)}
    return {"part": part, "copies": copies, "seed": seed, "overall": rates(np.ones(len(labels), bool)),
            "ece": ece(prob, (best == labels).astype(float)),
            "ece_among_ten": ece(among_ten, (best == labels).astype(float)),
            "mean_letter": float(np.mean([r.letter for r in reads])), "per_site": per_site, "per_digit": per_digit,
            "writers": len(set(writers)), "writers_measured": len(per_writer),
            "writers_below_95": sum(v["right"] < 0.95 for v in per_writer.values()),
            "worst_writers": worst[:10], "misreads": misreads.most_common(10),
            "not_digit_by_label": dict(sorted(refused.items()))}


def sketches_report(lm, part: str, seed: int) -> dict:
    ink, names = rh.sketches_for(part)
    rng = np.random.default_rng([seed, 99])
    reads = rh.read_canvases(lm, [rh.sketch_canvas(x, rng) for x in ink])
    per_kind = {}
    for k in sorted(set(names)):
        rs = [r for r, n in zip(reads, names) if n == k]
        per_kind[k] = {"n": len(rs), "refused": sum(r.verdict == "not a digit" for r in rs) / len(rs),
                       "unsure": sum(r.verdict == "unsure" for r in rs) / len(rs),
                       "read_as": collections.Counter(r.digit for r in rs if r.verdict == "digit").most_common(2)}
    overall = sum(r.verdict == "not a digit" for r in reads) / len(reads)
    digit = sum(r.verdict == "digit" for r in reads) / len(reads)
    return {"part": part, "n": len(reads), "refused": overall, "read_as_digit": digit, "per_kind": per_kind,
            "worst_kind": min(per_kind.items(), key=lambda kv: kv[1]["refused"])}


def letters_report(lm, seed: int) -> dict:
    """UJI's letters of the 5 writers nothing learns (2 of each a-z, A-Z a writer), drawn as the digits are. Those
    most hands write like a digit (lenet.reading.lookalikes.CHARS) must never be read as a digit at >= 95%; the
    others should be refused."""
    from lenet.reading.lookalikes import CHARS

    letters = rh.letters_for("bench")
    rng = np.random.default_rng([seed, 5])
    reads = rh.read_canvases(lm, [rh.pad_canvas(d, rng) for d in letters])
    alike = np.array([d.char in CHARS for d in letters])
    verdict = np.array([r.verdict for r in reads])
    stated = np.array([r.probability if r.verdict == "digit" else 0.0 for r in reads])
    sure = collections.Counter(f"{d.char}->{r.digit}" for d, r, p, a in zip(letters, reads, stated, alike)
                               if a and p >= 0.95)
    other = collections.Counter(d.char for d, v, a in zip(letters, verdict, alike) if not a and v != "not a digit")
    return {"n": len(letters), "lookalikes": int(alike.sum()), "lookalikes_at_95": int((stated[alike] >= 0.95).sum()),
            "highest": float(stated[alike].max()), "at_95": sure.most_common(),
            "lookalikes_read_as_digit": float((verdict[alike] == "digit").mean()),
            "others": int((~alike).sum()), "others_at_95": int((stated[~alike] >= 0.95).sum()),
            "others_refused": float((verdict[~alike] == "not a digit").mean()), "others_not_refused": other.most_common(8)}


def print_digits(title: str, d: dict) -> None:
    o = d["overall"]
    print(f"{title} {o['n']} by {d['writers']} writers: right and accepted {o['right']:.2%}, misread {o['misread']:.2%}, "
          f"unsure {o['unsure']:.2%}, not a digit {o['not_digit']:.2%};  ECE {d['ece']:.2%} as stated, "
          f"{d['ece_among_ten']:.2%} among the ten (mean P(letter) {d['mean_letter']:.2%})")
    print("  per site: " + ", ".join(f"{k} {v['right']:.2%} (n {v['n']})" for k, v in d["per_site"].items()))
    print("  per digit: " + ", ".join(f"{k} {v:.1%}" for k, v in d["per_digit"].items()))
    print(f"  writers with >= {MIN_WRITER} digits: {d['writers_measured']}, below 95%: {d['writers_below_95']}; worst:")
    for w, v in d["worst_writers"][:6]:
        print(f"    {w}: {v['right']:.1%} of {v['n']} (misread {v['misread']:.1%}, unsure {v['unsure']:.1%}, "
              f"not a digit {v['not_digit']:.1%})")
    print("  misreads: " + ", ".join(f"{k} ({n})" for k, n in d["misreads"]))
    print(f"  told 'not a digit', by label: {d['not_digit_by_label']}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(rh.UNIPEN_FILE.parents[1].parent / "checkpoints/lenet5-mnist.safetensors"))
    p.add_argument("--part", default="bench", choices=("bench", "calibration"))
    p.add_argument("--copies", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--points", type=int, help="draw each digit fast: this many points in all, joined by straight lines")
    p.add_argument("--keep-every", type=int, help="a slow tablet: keep one sample in this many of each stroke's")
    p.add_argument("--json")
    args = p.parse_args(argv)
    lm = LoadedModel.from_file(args.checkpoint)
    t0 = time.time()
    d = digits_report(lm, args.part, args.copies, args.seed, args.points, args.keep_every)
    s = sketches_report(lm, args.part, args.seed)
    # the other corpus (UJI) is only measured, so only the benchmark part reads it
    u = digits_report(lm, "uji", args.copies, args.seed, args.points, args.keep_every) if args.part == "bench" else None
    letters = letters_report(lm, args.seed) if args.part == "bench" else None
    drawn = (f", digits drawn with {args.points} points" if args.points else "") + \
        (f", one sample in {args.keep_every} kept" if args.keep_every else "")
    print(f"{args.checkpoint}  ({args.part}{drawn}, {time.time() - t0:.0f} s)")
    print_digits("DIGITS (UNIPEN)", d)
    print(f"SKETCHES {s['n']} of {len(s['per_kind'])} kinds: refused {s['refused']:.2%}, read as a digit "
          f"{s['read_as_digit']:.2%}; worst kind {s['worst_kind'][0]} {s['worst_kind'][1]['refused']:.1%}")
    print("  per kind: " + ", ".join(f"{k} {v['refused']:.0%}" for k, v in
                                       sorted(s["per_kind"].items(), key=lambda kv: kv[1]["refused"])))
    if u:
        print_digits("DIGITS (UJI, another corpus)", u)
        L = letters
        print(f"LETTERS (UJI, {L['n']} by 5 writers): {L['lookalikes']} written like a digit, {L['lookalikes_at_95']} of "
              f"them read as a digit at >= 95% (highest {L['highest']:.2%}; "
              + ", ".join(f"{k} {n}" for k, n in L["at_95"][:8]) + f"); the other {L['others']}: {L['others_at_95']} at "
              f">= 95%, refused {L['others_refused']:.1%} (not refused: "
              + ", ".join(f"{k} {n}" for k, n in L["others_not_refused"]) + ")")
    if args.json:
        Path(args.json).write_text(json.dumps({"checkpoint": args.checkpoint, "digits": d, "sketches": s,
                                               "uji_digits": u, "uji_letters": letters}, indent=1))


if __name__ == "__main__":
    main()
