"""Random shapes people draw, as pen strokes: scribbles, smileys, stars, houses, spirals, hearts, clouds,
flowers, stick figures, doodles of random parts, and letters written in single-stroke Hershey fonts.

Each is a list of (N, 2) polylines (x right, y down) roughly in [-1, 1]; `lenet.sources.negatives` rasterises and frames
them as drawings of things that are not digits.
"""
from __future__ import annotations

import functools
import math

import numpy as np

# Glyphs kept out of the negatives because a person drawing them may mean a digit.
DIGIT_LOOKALIKES = set("OoQDIlij|!SsZzBbGgqT/\\()[]{}<>1ǀ§$")
LETTERS = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in DIGIT_LOOKALIKES]
SYMBOLS = [c for c in "#%&*+=?@^~×÷±∞≠≈πΣΩλμαβδθψφ€£¥¶♥♦♣♠★☺☹✓✗→←↑↓" if c not in DIGIT_LOOKALIKES]
# Letters written with a pen, not typed: single-stroke Hershey fonts (the Hershey-Fonts package). A typed glyph
# has thick and thin parts and serifs; a written letter is one even line, and the reader took many of those for
# digits. bench/reader/non_digits.py writes its letters in the other Hershey faces.
TRAIN_HERSHEY = ("futural", "scriptc", "timesi")
WRITTEN_CHARS = "".join(LETTERS) + "#&?@+="


def _circle(cx, cy, r, n=24, start=0.0, end=2 * math.pi, ry=None):
    t = np.linspace(start, end, n)
    return np.stack([cx + r * np.cos(t), cy + (ry if ry is not None else r) * np.sin(t)], 1)


def _rotation(a: float) -> np.ndarray:
    """The 2x2 matrix turning points by `a` radians (as column vectors; `points @ m.T` turns rows of points)."""
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def _jitter(rng, strokes, amount):
    return [s + rng.normal(0, amount, s.shape) for s in strokes]


def _scribble(rng):
    out = []
    for _ in range(rng.integers(1, 4)):  # messy: many sharp turns (a smooth curve could be a digit)
        n = rng.integers(25, 60)
        heading = rng.uniform(0, 2 * math.pi)
        turn = rng.normal(0, rng.uniform(0.6, 1.5), n).cumsum()
        step = rng.uniform(0.1, 0.3)
        pts = np.stack([np.cos(heading + turn), np.sin(heading + turn)], 1).cumsum(0) * step
        out.append(pts)
    return out


def _lines(rng):
    out = []
    n = rng.integers(3, 7)  # two strokes could be a 7 (or a 1 with its foot)
    for _ in range(n):
        a = rng.uniform(-1, 1, 2)
        ang = rng.uniform(0, math.pi)
        length = rng.uniform(0.5, 2.0)
        out.append(np.stack([a, a + length * np.array([math.cos(ang), math.sin(ang)])]))
    return out


def _grid(rng):
    nh, nv = rng.integers(2, 5), rng.integers(2, 5)
    tilt = rng.normal(0, 0.15)
    out = [np.array([[-1, y], [1, y + tilt]]) for y in np.linspace(-0.6, 0.6, nh)]
    out += [np.array([[x, -1], [x + tilt, 1]]) for x in np.linspace(-0.6, 0.6, nv)]
    return _jitter(rng, out, 0.04)


def _cross(rng):
    kind = rng.integers(0, 4)
    if kind == 0:  # +
        out = [np.array([[-1, 0], [1, 0]]), np.array([[0, -1], [0, 1]])]
    elif kind == 1:  # x
        out = [np.array([[-1, -1], [1, 1]]), np.array([[-1, 1], [1, -1]])]
    elif kind == 2:  # asterisk
        out = [np.array([[-math.cos(a), -math.sin(a)], [math.cos(a), math.sin(a)]])
               for a in np.linspace(0, math.pi, rng.integers(3, 5), endpoint=False)]
    else:  # = or a few parallel bars
        out = [np.array([[-1, y], [1, y]]) for y in np.linspace(-0.4, 0.4, rng.integers(2, 4))]
    return _jitter(rng, out, 0.05)


def _star(rng):
    k = rng.integers(5, 8)
    rot = rng.uniform(0, 2 * math.pi)
    if rng.random() < 0.5:  # pentagram-style: one line through every second point
        t = rot + np.arange(k + 1) * 2 * math.pi * 2 / k
        pts = np.stack([np.cos(t), np.sin(t)], 1)
    else:  # outline with inner points
        t = rot + np.arange(2 * k + 1) * math.pi / k
        r = np.where(np.arange(2 * k + 1) % 2 == 0, 1.0, rng.uniform(0.3, 0.55))
        pts = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    return _jitter(rng, [pts], 0.03)


def _smiley(rng):
    out = [_circle(0, 0, 1, 32, ry=rng.uniform(0.85, 1.15))]
    eye = rng.uniform(0.05, 0.15)
    for x in (-0.35, 0.35):
        out.append(_circle(x, -0.3, eye, 8) if rng.random() < 0.6 else np.array([[x, -0.4], [x, -0.2]]))
    if rng.random() < 0.75:  # smile or frown (y grows downwards)
        frown = rng.random() < 0.3
        mid = math.pi / 2 if not frown else -math.pi / 2
        out.append(_circle(0, 0.1 if not frown else 0.65, 0.5, 12, mid - 1.0, mid + 1.0))
    else:
        out.append(np.array([[-0.4, 0.45], [0.4, 0.45]]))
    return _jitter(rng, out, 0.03)


def _house(rng):
    w, h = rng.uniform(0.6, 1.0), rng.uniform(0.5, 0.9)
    body = np.array([[-w, 0], [-w, h], [w, h], [w, 0], [-w, 0]])
    roof = np.array([[-w - 0.1, 0], [0, -rng.uniform(0.5, 1.0)], [w + 0.1, 0]])
    out = [body, roof]
    if rng.random() < 0.6:
        d = rng.uniform(0.15, 0.3)
        out.append(np.array([[-d, h], [-d, h * 0.4], [d, h * 0.4], [d, h]]))
    if rng.random() < 0.4:
        out.append(np.array([[0.4 * w, 0.2], [0.8 * w, 0.2], [0.8 * w, 0.45], [0.4 * w, 0.45], [0.4 * w, 0.2]]))
    return _jitter(rng, out, 0.02)


def _spiral(rng):
    turns = rng.uniform(1.6, 4.0)
    t = np.linspace(0, turns * 2 * math.pi, int(24 * turns))
    r = t / t[-1]
    sign = rng.choice([-1, 1])
    return _jitter(rng, [np.stack([r * np.cos(sign * t), r * np.sin(sign * t)], 1)], 0.02)


def _polygon(rng):
    k = rng.choice([3, 4, 4, 5, 6, 7, 8])
    rot = rng.uniform(0, 2 * math.pi)
    t = rot + np.arange(k + 1) * 2 * math.pi / k
    r = rng.uniform(0.75, 1.0, k + 1) if rng.random() < 0.4 else np.ones(k + 1)  # some drawn unevenly
    r[-1] = r[0]  # closed
    pts = np.stack([r * np.cos(t), rng.uniform(0.6, 1.0) * r * np.sin(t)], 1)
    out = [pts]
    if rng.random() < 0.4:  # with a diagonal or an inner shape
        out.append(pts[[0, k // 2]])
    return _jitter(rng, out, 0.03)


def _wave(rng):
    n = rng.uniform(2.5, 5)
    x = np.linspace(-1, 1, 40)
    if rng.random() < 0.5:
        y = 0.4 * np.sin(x * n * math.pi)
    else:  # zigzag
        y = 0.4 * (2 * np.abs((x * n) % 2 - 1) - 1)
    pts = np.stack([x, y], 1)
    return _jitter(rng, [pts if rng.random() < 0.7 else pts[:, ::-1]], 0.02)


def _sun(rng):
    out = [_circle(0, 0, 0.45, 20)]
    for a in np.linspace(0, 2 * math.pi, rng.integers(6, 11), endpoint=False):
        out.append(np.array([[0.6 * math.cos(a), 0.6 * math.sin(a)], [math.cos(a), math.sin(a)]]))
    return _jitter(rng, out, 0.03)


def _zigzag(rng):
    """Back and forth through random points: the scribble most people make to test a reader."""
    return [rng.uniform(-1, 1, (rng.integers(6, 20), 2))]


def _heart(rng):
    t = np.linspace(0, 2 * math.pi, 48)
    dip = rng.uniform(3, 7)  # how deep the notch between the lobes is
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - dip * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.stack([x, y], 1) / 16
    if rng.random() < 0.3:  # drawn as two strokes, one lobe at a time, meeting at the point
        half = len(pts) // 2
        return _jitter(rng, [pts[:half + 1], pts[half:]], 0.03)
    return _jitter(rng, [pts], 0.03)


def _arrow(rng):
    length = rng.uniform(1.2, 2.0)
    bend = rng.normal(0, 0.25) if rng.random() < 0.4 else 0.0  # some shafts curve
    x = np.linspace(-length / 2, length / 2, 12)
    shaft = np.stack([x, bend * (1 - (2 * x / length) ** 2)], 1)
    head = rng.uniform(0.25, 0.5)
    spread = rng.uniform(0.4, 0.9)
    tip = shaft[-1]
    out = [shaft, np.array([tip + head * np.array([-1, -spread]), tip, tip + head * np.array([-1, spread])])]
    if rng.random() < 0.2:  # double-headed
        tail = shaft[0]
        out.append(np.array([tail + head * np.array([1, -spread]), tail, tail + head * np.array([1, spread])]))
    a = rng.uniform(0, 2 * math.pi)  # any direction
    m = _rotation(a)
    return _jitter(rng, [s @ m.T for s in out], 0.02)


def _cloud(rng):
    """A closed outline of bumps (clouds, bushes, flowers' outlines): each bump an outward arc."""
    bumps = rng.integers(5, 10)
    t = np.linspace(0, 2 * math.pi, bumps * 10 + 1)
    # scallops meeting in inward cusps, deep enough that the outline is never an oval (a 0)
    r = 1 + rng.uniform(0.3, 0.5) * np.abs(np.sin(t * bumps / 2))
    pts = np.stack([r * np.cos(t), rng.uniform(0.5, 0.9) * r * np.sin(t)], 1)
    out = [pts]
    if rng.random() < 0.3:  # rain, or a flower's stem
        out += [np.array([[x, 0.8], [x - 0.1, 1.2]]) for x in rng.uniform(-0.6, 0.6, rng.integers(1, 4))]
    return _jitter(rng, out, 0.02)


def _flower(rng):
    petals = rng.integers(4, 9)
    out = [_circle(0, 0, 0.25, 12)]
    for a in np.linspace(0, 2 * math.pi, petals, endpoint=False) + rng.uniform(0, 1):
        loop = _circle(0, 0, 0.4, 14, ry=0.18)
        c, s = math.cos(a), math.sin(a)
        out.append((loop + [0.65, 0]) @ np.array([[c, s], [-s, c]]))
    return _jitter(rng, out, 0.02)


def _stick_figure(rng):
    out = [_circle(0, -0.7, 0.25, 16), np.array([[0, -0.45], [0, 0.35]])]
    arm = rng.uniform(-0.3, 0.3)
    out.append(np.array([[-0.5, -0.1 + arm], [0, -0.2], [0.5, -0.1 - arm]]))
    out.append(np.array([[-0.4, 1.0], [0, 0.35], [0.4, 1.0]]))
    return _jitter(rng, out, 0.03)


@functools.lru_cache(maxsize=8)
def hershey_font(name: str):
    from HersheyFonts import HersheyFonts

    font = HersheyFonts()
    font.load_default_font(name)
    return font


def hershey_strokes(font_name: str, char: str) -> list[np.ndarray]:
    """A character of a Hershey font as pen strokes ((N, 2) polylines, y down): its line segments joined
    where one ends and the next begins."""
    strokes: list[list] = []
    for a, b in hershey_font(font_name).lines_for_text(char):
        if strokes and strokes[-1][-1] == a:
            strokes[-1].append(b)
        else:
            strokes.append([a, b])
    return [np.array(s, np.float64) for s in strokes]


def _written(rng):
    font = TRAIN_HERSHEY[rng.integers(len(TRAIN_HERSHEY))]
    strokes = hershey_strokes(font, WRITTEN_CHARS[rng.integers(len(WRITTEN_CHARS))])
    span = max(np.ptp(np.concatenate(strokes), 0).max(), 1.0)
    return _jitter(rng, [s / span * 2 for s in strokes], 0.02)  # about [-1, 1], a little shaky


def _part(rng) -> np.ndarray:
    """One piece of a doodle: a line, an arc, an oval, a zigzag, a polygon, a filled blob or a wave."""
    c, s = rng.uniform(-0.7, 0.7, 2), rng.uniform(0.3, 0.8)
    a = rng.uniform(0, 2 * math.pi)
    kind = rng.integers(7)
    if kind == 0:
        return c + s * np.outer([-1, 1], [math.cos(a), math.sin(a)])
    if kind == 1:
        return _circle(*c, s, 16, a, a + rng.uniform(1.0, 5.0), ry=s * rng.uniform(0.4, 1.0))
    if kind == 2:
        return _circle(*c, s, 20, a, a + 2 * math.pi, ry=s * rng.uniform(0.3, 1.0))
    if kind == 3:
        return c + s * rng.uniform(-1, 1, (rng.integers(3, 7), 2))
    if kind == 4:
        pts = c + s * rng.uniform(-1, 1, (rng.integers(3, 6), 2))
        return np.concatenate([pts, pts[:1]])
    if kind == 5:  # a filled blob: a tight spiral the pen fills in
        t = np.linspace(0, 6 * math.pi, 40)
        return c + 0.3 * s * (t / t[-1])[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
    x = np.linspace(-s, s, 20)
    return c + np.stack([x, 0.3 * s * np.sin(x / s * rng.uniform(2, 4) * math.pi)], 1)


def _doodle(rng):
    """Anything else people draw: 3-6 random parts (lines, arcs, ovals, zigzags, polygons, blobs, waves), some
    mirrored like a face or a tree, some in one stroke without lifting the pen. No list of named shapes holds
    all a visitor may draw, and a reader that has seen only such a list reads the next new shape as a digit
    (bench/common/new_kinds.py counts how often)."""
    parts = [_part(rng) for _ in range(rng.integers(3, 7))]  # two parts are too often a 6, a 9 or a 7
    if rng.random() < 0.3:  # symmetric, like most drawn things
        parts += [p * [-1, 1] for p in parts]
    if rng.random() < 0.3:  # in one stroke
        parts = [np.concatenate(parts)]
    return _jitter(rng, parts, 0.02)


def _speckle(rng):
    n = rng.integers(4, 40)
    return [p[None] for p in rng.uniform(-1, 1, (n, 2))]  # single points: dots of pen width


# ---------- everyday objects as people doodle them (issue 29: real doodles read as 0, 8, 9 and 7) ----------

def _blob_on_stem(rng):
    """A closed blob with a stem (an apple, a pear, a balloon, a light bulb, a glass): alone, the blob is a 0 and
    the blob with its stem a 9 or a 6, so it comes with what makes it a thing (a leaf, a string, a base)."""
    w, h = rng.uniform(0.6, 1.0), rng.uniform(0.7, 1.0)
    dent = rng.uniform(0.0, 0.25)  # an apple's top dips in where its stem grows
    t = np.linspace(-math.pi / 2, 3 * math.pi / 2, 41)  # from the top, round, back to the top (y down)
    r = 1 - dent * (np.exp(-(t + math.pi / 2) ** 2 / 0.15) + np.exp(-(t - 3 * math.pi / 2) ** 2 / 0.15))
    blob = np.stack([w * r * np.cos(t), h * r * np.sin(t)], 1)
    top = np.array([0.0, -h * (1 - dent)])
    kind = rng.integers(3)
    if kind == 0:  # fruit: a short stem up from the top, a leaf beside it
        stem = np.array([top, top + [rng.uniform(-0.1, 0.15), -0.35]])
        a = rng.uniform(0.3, 1.2)
        leaf = _circle(0, 0, 0.25, 12, ry=0.1) @ _rotation(a)
        out = [blob, stem, leaf + stem[1] + [0.25, 0.05]]
    elif kind == 1:  # a balloon: a wavy string down from its knot
        y = np.linspace(h, h + 1.1, 12)
        out = [blob, np.stack([0.08 * np.sin(y * 9), y], 1), np.array([[-0.1, h + 0.05], [0.1, h + 0.05]])]
    else:  # a bulb or a glass: a neck and a base of a few lines
        nw = rng.uniform(0.2, 0.35)
        neck = [np.array([[-nw, h * 0.9], [-nw, h + 0.45]]), np.array([[nw, h * 0.9], [nw, h + 0.45]])]
        base = [np.array([[-nw, h + 0.45 + d], [nw, h + 0.45 + d]]) for d in np.linspace(0, 0.2, rng.integers(1, 4))]
        out = [blob, *neck, *base]
    return _jitter(rng, out, 0.02)


def _crescent(rng):
    """A moon: two arcs meeting at sharp horns (an open C reads as a C, a closed ring as a 0; the horns do not),
    sometimes with a small star beside it."""
    a = rng.uniform(0.45, 0.75)  # how far round the outer arc goes (1: a whole circle)
    outer = _circle(0, 0, 1.0, 30, math.pi * (1 - a), math.pi * (1 + a))  # round the left, horns on the right
    (ex, ey), (fx, fy) = outer[0], outer[-1]
    c = ex + rng.uniform(0.3, 0.7)  # the inner arc's centre, right of the horns: a thick or a thin moon
    inner = _circle(c, 0, math.hypot(ex - c, ey), 24, math.atan2(ey, ex - c), math.atan2(fy, fx - c) + 2 * math.pi)
    out = [np.concatenate([outer, inner[::-1]])] if rng.random() < 0.6 else [outer, inner]
    if rng.random() < 0.3:
        at, r = np.array([rng.uniform(0.5, 0.9), rng.uniform(-0.8, 0.8)]), rng.uniform(0.1, 0.18)
        out += [np.array([at - [r, 0], at + [r, 0]]), np.array([at - [0, r], at + [0, r]])]
    return _jitter(rng, out, 0.02)


def _key(rng):
    """A key: a ring, a shaft and teeth (a ring and a shaft alone are a 9, two rings an 8)."""
    r = rng.uniform(0.3, 0.45)
    ring = _circle(0, 0, r, 20)
    length = rng.uniform(1.0, 1.5)
    shaft = np.array([[r, 0.0], [r + length, 0.0]])
    teeth = []
    for x in np.sort(rng.uniform(r + 0.4 * length, r + length, rng.integers(2, 4))):
        d = rng.uniform(0.15, 0.3)
        teeth.append(np.array([[x, 0.0], [x, d], [x - 0.12, d]]) if rng.random() < 0.5 else np.array([[x, 0], [x, d]]))
    out = [ring, shaft, *teeth]
    if rng.random() < 0.4:  # the ring's hole
        out.append(_circle(0, 0, r * 0.35, 12))
    m = _rotation(rng.uniform(0, 2 * math.pi))  # any direction
    return _jitter(rng, [(p - [r + length / 2, 0]) @ m.T for p in out], 0.02)


def _lightning(rng):
    """A lightning bolt drawn as its outline (one zigzag line is a Z, a 2 or a 7: that is left to the digits)."""
    k = rng.uniform(-0.2, 0.2)  # where the bolt breaks
    w = rng.uniform(0.3, 0.45)
    pts = np.array([[0.45 - w, -1.0], [-0.5 + k, 0.1], [-0.05 + k, 0.1], [-0.3, 1.0], [0.5 + k, -0.15],
                    [0.05 + k, -0.15], [0.45, -1.0], [0.45 - w, -1.0]])
    return _jitter(rng, [pts], 0.025)


def _nested(rng):
    """A shape inside a shape (a target, an eye, a box in a circle, a window): a ring inside a ring is also a
    0 drawn twice, so the two are of different kinds or far apart in size."""
    def shape(kind, r):
        if kind == 0:
            return _circle(0, 0, r, 24, ry=r * rng.uniform(0.8, 1.0))
        k = 3 + kind  # a triangle, a square or a pentagon
        t = rng.uniform(0, 2 * math.pi) + np.arange(k + 1) * 2 * math.pi / k
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    outer_kind = rng.integers(3)
    inner_kind = (outer_kind + rng.integers(1, 3)) % 3 if rng.random() < 0.7 else outer_kind
    inner_r = rng.uniform(0.2, 0.45) if inner_kind == outer_kind else rng.uniform(0.25, 0.6)
    out = [shape(outer_kind, 1.0), shape(inner_kind, inner_r) + rng.uniform(-0.15, 0.15, 2)]
    if rng.random() < 0.4:  # a dot or a cross in the middle
        out.append(np.zeros((1, 2)) if rng.random() < 0.5 else np.array([[-0.1, 0], [0.1, 0]]))
    return _jitter(rng, out, 0.02)


# Opt-in kinds (lenet.sources.mix "objects"): not in lenet.sources.negatives.KINDS, so the shipped recipes replay
OBJECT_SHAPES = {"blob on a stem": _blob_on_stem, "crescent": _crescent, "key": _key, "lightning": _lightning,
                 "nested shapes": _nested}


SHAPES = {"scribble": _scribble, "lines": _lines, "grid": _grid, "cross": _cross, "star": _star,
          "smiley": _smiley, "house": _house, "spiral": _spiral, "polygon": _polygon, "wave": _wave, "sun": _sun,
          "speckle": _speckle, "zigzag": _zigzag, "heart": _heart, "arrow": _arrow, "cloud": _cloud,
          "flower": _flower, "stick figure": _stick_figure, "written": _written, "doodle": _doodle,
          **OBJECT_SHAPES}


def random_strokes(rng: np.random.Generator, kind: str) -> list[np.ndarray]:
    """One random shape of `kind` as a list of (N, 2) polylines (x right, y down), roughly in [-1, 1]."""
    strokes = SHAPES[kind](rng)
    if kind not in ("speckle",):  # a random rotation, aspect and slant: nobody draws them upright
        a = rng.uniform(-0.5, 0.5)
        m = _rotation(a) @ np.diag(rng.uniform(0.7, 1.3, 2))
        strokes = [s @ m.T for s in strokes]
    return strokes
