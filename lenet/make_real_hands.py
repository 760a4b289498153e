"""Make the bundled real-hands files (lenet/samples/unipen-digits.npz, tuberlin-sketches.npz, uji-pen.npz) from
exports of the public sets (none is on CI or a user's machine; the bundles are what the project ships).

    python -m lenet.make_real_hands --unipen /tmp/unipen --tuberlin /tmp/tub --uji-digits D.json --uji-letters DIR

UNIPEN (train_r01_v07, category 1a: isolated digits written with a pen on a tablet): I. Guyon, L. Schomaker,
R. Plamondon, M. Liberman, S. Janet, "UNIPEN project of on-line data exchange and recognizer benchmarks", ICPR
1994; the release doi:10.5281/zenodo.1195803 is CC BY 4.0 (the 1999 CD-ROM's own notice said research use).
Exported from a copy of that release (GitHub GreenCappuccino/train_r01_v07):

    git --git-dir=MIRROR archive HEAD data/1a include/{aga,apa,...} | tar -x -C /tmp/unipen

Format: data/1a/<site>/.../*.dat lists `.SEGMENT CHARACTER <components> <quality> "<digit>"` and `.INCLUDE`s the
ink under include/: `.PEN_DOWN` / `.PEN_UP` blocks of "x y ..." lines, each block with points one numbered
component (pen-up blocks are hover: never drawn); `.WRITER_ID` names the writer of what follows. Tablets record y
growing upwards: the bundle stores y growing downwards, as a screen. Several sites' writer ids are people's
names: the bundle keeps only "<site>/<8 hex digits of a SHA-1>" of each (syn's ids "bek-dig2" are one writer,
"bek", writing a second page).

TU-Berlin sketches (M. Eitz, J. Hays, M. Alexa, "How do humans sketch objects?", ACM TOG (SIGGRAPH) 2012; CC BY
4.0): a 40-category subset, 80 sketches each (150x150 greyscale PNG, from GitHub HPrinz/sketch-recognition's
img/ and test/ folders only), kept as 75x75 bits (2x2 min-pooled, ink where darker than 220).

UJI Pen Characters (D. Llorens, F. Prat, A. Marzal, J. M. Vilar, M. J. Castro, J. C. Amengual, S. Barrachina, A.
Castellanos, S. España, J. A. Gómez, J. Gorbe, A. Gordo, V. Palazón, G. Peris, R. Ramos-Garijo, F. Zamora, "The
UJIpenchars Database: a Pen-Based Database of Isolated Handwritten Characters", LREC 2008; UCI Machine Learning
Repository, doi:10.24432/C5FG8S, CC BY 4.0): characters written with a stylus
on a tablet PC's screen, two of each per writer. Its 60 writers' digits, from the v2 set as converted to JSON by
GitHub bridger/NumberPad (Data/ujipenchars2.json: {"rawData": {digit: [sample: [stroke: [[x, y], ...]]]}}, the
samples in the set's writer order, two a writer), and its first 11 writers' letters (a-z, A-Z), from the v1 files
(UJIpenchars-w01..w11, UNIPEN-like, as copied in GitHub rtewierik/seqclupv and PyPI seqclupv 1.0.3). The two
agree: v1's w01-w11 are v2's first 11 writers, point for point. Screen coordinates: y already grows downwards.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import re
from pathlib import Path

import numpy as np
from PIL import Image

from lenet.sources.data import SAMPLES_DIR

UNIPEN_FILE = SAMPLES_DIR / "unipen-digits.npz"
TUBERLIN_FILE = SAMPLES_DIR / "tuberlin-sketches.npz"
UJI_FILE = SAMPLES_DIR / "uji-pen.npz"
SKETCH_SIZE = 75
_SEG = re.compile(r'^\.SEGMENT\s+(\S+)\s+(\S+)\s+(\S+)\s+"(.*)"')


def _read_ink(root: Path, rel: str, comps: list, writer: list[str]) -> None:
    path = root / "include" / rel
    if not path.exists():
        return
    down, pts = None, []

    def flush():
        if down is not None and pts:
            comps.append((down, np.asarray(pts, np.float64), writer[0]))

    for line in path.read_text("latin1").splitlines():
        if line.startswith("."):
            word = line.split(None, 1)
            key = word[0]
            if key in (".DT", ".COMMENT"):
                continue
            flush()
            down, pts = None, []
            if key in (".PEN_DOWN", ".PEN_UP"):
                down = key == ".PEN_DOWN"
            elif key == ".WRITER_ID":
                writer[0] = word[1].strip() if len(word) > 1 else "?"
            elif key == ".INCLUDE":
                _read_ink(root, word[1].strip(), comps, writer)
        elif down is not None:
            nums = line.split()
            if len(nums) >= 2:
                try:
                    pts.append((float(nums[0]), float(nums[1])))
                except ValueError:
                    pass
    flush()


def _component_ids(spec: str) -> list[int]:
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        a, b = a.split(":")[0], (b.split(":")[0] if b else "")
        if a.isdigit() and (not b or b.isdigit()):
            out.extend(range(int(a), int(b or a) + 1))
    return out


def unipen_digits(root: Path):
    """Yields (site, raw writer id, digit, [strokes as (n, 2) float arrays, y as recorded])."""
    for dat in sorted((root / "data" / "1a").rglob("*.dat")):
        site = dat.relative_to(root / "data" / "1a").parts[0]
        comps, writer = [], ["?"]
        for line in dat.read_text("latin1").splitlines():
            if line.startswith(".INCLUDE"):
                rel = line.split(None, 1)[1].strip()
                if not rel.endswith((".doc", ".lex")):
                    _read_ink(root, rel, comps, writer)
            m = _SEG.match(line)
            if m and len(m.group(4)) == 1 and m.group(4) in "0123456789":
                ids = [i for i in _component_ids(m.group(2)) if i < len(comps)]
                strokes = [comps[i][1] for i in ids if comps[i][0]]
                if strokes:
                    yield site, comps[ids[0]][2], m.group(4), strokes


def writer_key(site: str, raw: str) -> str:
    """"<site>/<hash>": never a person's name. syn's "<id>-dig<N>" pages are one writer."""
    if site == "syn":
        raw = raw.split("-dig")[0]
    return f"{site}/{hashlib.sha1(f'{site}/{raw}'.encode()).hexdigest()[:8]}"


def bundle_unipen(root: Path, out: Path = UNIPEN_FILE) -> dict:
    points, stroke_len, digit_strokes, labels, writer_idx = [], [], [], [], []
    writers: dict[str, int] = {}
    for site, raw, digit, strokes in unipen_digits(root):
        allp = np.concatenate(strokes)
        lo, hi = allp.min(0), allp.max(0)
        if (hi - lo).max() > 32000:
            continue
        kept = _packed([s * (1, -1) for s in strokes])  # y down, as on a screen
        key = writer_key(site, raw)
        points.extend(kept)
        stroke_len.extend(len(s) for s in kept)
        digit_strokes.append(len(kept))
        labels.append(int(digit))
        writer_idx.append(writers.setdefault(key, len(writers)))
    np.savez_compressed(out, points=np.concatenate(points), stroke_len=np.array(stroke_len, np.int32),
                        digit_strokes=np.array(digit_strokes, np.int16), labels=np.array(labels, np.uint8),
                        writer=np.array(writer_idx, np.int16), writers=np.array(list(writers)))
    return {"digits": len(labels), "writers": len(writers), "bytes": out.stat().st_size}


def _packed(strokes) -> list[np.ndarray]:
    """Strokes as int16 points from the drawing's top-left corner, repeated points dropped (they carry nothing)."""
    lo = np.concatenate(strokes).min(0)
    out = []
    for st in strokes:
        st = np.round(np.asarray(st, np.float64) - lo)
        keep = np.ones(len(st), bool)
        keep[1:] = (np.diff(st, axis=0) != 0).any(1)
        out.append(st[keep].astype(np.int16))
    return out


def uji_characters(digits_json: Path, letters_dir: Path):
    """Yields (writer "uji/NN", character, strokes): the 60 writers' digits, then the first 11 writers' letters."""
    import json

    raw = json.loads(digits_json.read_text())["rawData"]
    for digit in "0123456789":
        for i, sample in enumerate(raw[digit]):  # two a writer, in the set's writer order
            strokes = [st for st in sample if st]
            if strokes:
                yield f"uji/{i // 2 + 1:02d}", digit, strokes
    seg = re.compile(r'^\.SEGMENT CHARACTER \S+ \S+\s+"(.)"')
    for n in range(1, 12):
        char, stroke, strokes = None, None, []
        for line in (letters_dir / f"UJIpenchars-w{n:02d}").read_text("latin1").splitlines():
            line = line.strip()
            m = seg.match(line)
            if m or line.startswith(".PEN_DOWN") or line.startswith(".PEN_UP"):
                if stroke:
                    strokes.append(stroke)
                stroke = [] if line.startswith(".PEN_DOWN") else None
            if m:
                if char and char.isalpha() and strokes:
                    yield f"uji/{n:02d}", char, strokes
                char, strokes = m.group(1), []
            elif stroke is not None and line and not line.startswith("."):
                stroke.append([float(v) for v in line.split()[:2]])
        if char and char.isalpha() and strokes:
            yield f"uji/{n:02d}", char, strokes


def bundle_uji(digits_json: Path, letters_dir: Path, out: Path = UJI_FILE) -> dict:
    points, stroke_len, char_strokes, labels, writer_idx = [], [], [], [], []
    writers: dict[str, int] = {}
    for writer, char, strokes in uji_characters(digits_json, letters_dir):
        kept = _packed(strokes)
        points.extend(kept)
        stroke_len.extend(len(s) for s in kept)
        char_strokes.append(len(kept))
        labels.append(char)
        writer_idx.append(writers.setdefault(writer, len(writers)))
    np.savez_compressed(out, points=np.concatenate(points), stroke_len=np.array(stroke_len, np.int32),
                        char_strokes=np.array(char_strokes, np.int16), labels=np.array(labels),
                        writer=np.array(writer_idx, np.int16), writers=np.array(list(writers)))
    return {"characters": len(labels), "digits": sum(c.isdigit() for c in labels), "writers": len(writers),
            "bytes": out.stat().st_size}


def bundle_tuberlin(root: Path, out: Path = TUBERLIN_FILE) -> dict:
    bits, cats, ids = [], [], []
    for split in ("img", "test"):
        for p in sorted((root / split).glob("*/*.png")):
            a = np.asarray(Image.open(p).convert("L"), np.uint8)
            a = a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2]
            small = a.reshape(a.shape[0] // 2, 2, a.shape[1] // 2, 2).min((1, 3))
            if small.shape != (SKETCH_SIZE, SKETCH_SIZE):
                small = np.asarray(Image.fromarray(small).resize((SKETCH_SIZE, SKETCH_SIZE), Image.BOX))
            bits.append(np.packbits(small < 220))
            cats.append(p.parent.name)
            ids.append(int(p.stem))
    names = sorted(set(cats))
    np.savez_compressed(out, bits=np.stack(bits), category=np.array([names.index(c) for c in cats], np.uint8),
                        categories=np.array(names), source_id=np.array(ids, np.int32))
    return {"sketches": len(bits), "categories": len(names), "bytes": out.stat().st_size,
            "per_category": dict(collections.Counter(cats))}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--unipen", type=Path)
    p.add_argument("--tuberlin", type=Path)
    p.add_argument("--uji-digits", type=Path, help="UJI Pen Characters v2's digits as JSON (bridger/NumberPad)")
    p.add_argument("--uji-letters", type=Path, help="the folder of UJI Pen Characters v1's UJIpenchars-wNN files")
    args = p.parse_args()
    if args.unipen:
        print("unipen", bundle_unipen(args.unipen))
    if args.tuberlin:
        print("tu-berlin", bundle_tuberlin(args.tuberlin))
    if args.uji_digits and args.uji_letters:
        print("uji", bundle_uji(args.uji_digits, args.uji_letters))


if __name__ == "__main__":
    main()
