"""Letters and symbols that look like digits (S B Z O I l ? + g q ...), written with a pen on the Draw pad.

The "not a digit" output and head leave these alone on purpose (lenet.sources.shapes.DIGIT_LOOKALIKES): a person who
draws an O may well mean 0, and refusing it would refuse zeros. But a reader that says "0, probability 100%" for
an O claims a certainty it does not have. So a second small head (lenet.reading.verdict.FeatureHead, on the frozen
model's S4/C5/F6 activations) learns these letters against digits (real writers' and MNIST's), half and half: its
output is a likelihood ratio, "how much more like one of these letters than like a digit this shape is". The
verdict turns it into P(a letter | the shape), scaled on held-out real digits and letters as if one in ten
digit-like drawings were a letter rather than a digit, and states each digit's probability as (1 - P(letter)) x
its probability among the ten. An O drawn like a 0 then reads "0, probability ~90%": it is a 0 or an O. Whether
the verdict is a digit, unsure or not a digit does not change.

Written with single-stroke Hershey fonts (`TRAIN_FACES`; tests draw with the others) and, in the calibration,
the same characters of half the handwriting fonts (lenet.sources.hand_fonts.CALIBRATION_HANDS).
"""
from __future__ import annotations

import functools

import numpy as np

from lenet.sources.shapes import hershey_strokes
from lenet.reading.preprocess import canvas_to_digit_u8
from lenet.reading.strokes import SIZE, Drawing, rasterise

CHARS = "SsBZzOoIl?+gqGbT"  # letters and symbols most hands write like a digit
TRAIN_FACES = ("futural", "scriptc", "timesi", "gothiceng", "rowmand", "italicc")
TEST_FACES = ("futuram", "scripts", "timesr", "rowmans", "cursive")


def pad_canvas(strokes: list[np.ndarray], rng: np.random.Generator, height=(0.35, 0.8), pen=(14.0, 26.0),
               slant: float = 0.25, jitter: float = 0.02) -> np.ndarray:
    """A glyph's strokes ((n, 2), y down) written on the 280-px pad: a random size, pen, slant and place, a
    little shaky."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    span = max(float((hi - lo).max()), 1e-6)
    shear = rng.uniform(-slant, slant)
    out = []
    for s in strokes:
        s = (s - lo) / span
        s = s + rng.normal(0, jitter, s.shape)
        s[:, 0] = s[:, 0] - shear * (s[:, 1] - 0.5)
        out.append(s)
    allp = np.concatenate(out)
    lo, hi = allp.min(0), allp.max(0)
    h = max(float(hi[1] - lo[1]), 1e-6)
    scale = min(rng.uniform(*height) * SIZE / h, 0.85 * SIZE / max(float(hi[0] - lo[0]), 1e-6))
    width = float(rng.uniform(*pen))
    m = width / 2 + 2
    off = np.array([rng.uniform(m, max(m, SIZE - m - e)) for e in (hi - lo) * scale])
    return rasterise(Drawing([(s - lo) * scale + off for s in out], SIZE, width))


def glyph_strokes(faces=TRAIN_FACES, chars: str = CHARS) -> list[tuple[str, str, list[np.ndarray]]]:
    out = []
    for face in faces:
        for c in chars:
            try:
                strokes = hershey_strokes(face, c)
            except Exception:  # a face without the glyph
                continue
            if strokes:
                out.append((face, c, strokes))
    return out


def images(n: int, seed: int, faces=TRAIN_FACES, chars: str = CHARS) -> np.ndarray:
    """(N <= n, 28, 28) uint8: n lookalike glyphs written on the pad and framed as the app frames a drawing."""
    return _images(n, seed, tuple(faces), chars).copy()


@functools.lru_cache(maxsize=4)
def _images(n: int, seed: int, faces: tuple, chars: str) -> np.ndarray:
    """Kept once drawn: a calibration draws 3,000 of them (9 ms each), and tests calibrate more than once."""
    rng = np.random.default_rng([seed, 41])
    glyphs = glyph_strokes(faces, chars)
    out = []
    for i in rng.integers(len(glyphs), size=n):
        d = canvas_to_digit_u8(pad_canvas(glyphs[i][2], rng))
        if d is not None:
            out.append(d)
    return np.stack(out)
