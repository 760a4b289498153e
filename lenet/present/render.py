"""Pictures of what the network computes: colour-mapped tiles and HTML fragments (no UI framework).

Feature maps are sent as tiny PNGs and enlarged by the browser with `image-rendering: pixelated`,
so every pixel stays crisp at any size. One colour scale per layer: signed layers get a diverging
blue-white-red map symmetric around zero, non-negative ones a sequential map from zero.
"""
from __future__ import annotations

import base64
import html
import io

import numpy as np
from PIL import Image


def _lut(stops: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """A 257-entry RGB lookup table between colour stops: odd, so 0.5 (zero, for signed maps) is exact."""
    pos = np.array([s[0] for s in stops])
    cols = np.array([s[1] for s in stops], dtype=np.float32)
    t = np.linspace(0, 1, 257)
    return np.rint(np.stack([np.interp(t, pos, cols[:, c]) for c in range(3)], 1)).astype(np.uint8)


# ColorBrewer RdBu (reversed) and a dark-to-bright sequential map (like "inferno").
SIGNED = _lut([(0, (33, 102, 172)), (0.25, (103, 169, 207)), (0.5, (247, 247, 247)), (0.75, (239, 138, 98)),
               (1, (178, 24, 43))])
UNSIGNED = _lut([(0, (0, 0, 4)), (0.25, (87, 16, 110)), (0.5, (188, 55, 84)), (0.75, (249, 142, 9)),
                 (1, (252, 255, 164))])


def layer_scale(values: np.ndarray) -> tuple[bool, float]:
    """(signed, limit): signed layers map [-limit, limit], others [0, limit]."""
    signed = bool(values.min() < -1e-6)
    limit = float(np.abs(values).max()) or 1.0
    return signed, limit


def colorize(a: np.ndarray, signed: bool, limit: float) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 on the layer's scale."""
    t = (a / limit + 1) / 2 if signed else a / limit
    return (SIGNED if signed else UNSIGNED)[np.rint(np.clip(t, 0, 1) * 256).astype(np.int64)]


def png_data_url(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement for components that smooth small images."""
    return np.repeat(np.repeat(img, factor, 0), factor, 1)


def gray(img01: np.ndarray) -> np.ndarray:
    g = (np.clip(img01, 0, 1) * 255).astype(np.uint8)
    return np.stack([g] * 3, -1)


def network_view(input01: np.ndarray, pad: int) -> np.ndarray:
    """The model's input (pixels in [0, 1], ink bright) as RGB, one pixel per input pixel (CSS enlarges it
    crisply), padding tinted so it reads as padding."""
    x = np.clip(input01, 0, 1)
    rgb = gray(x).astype(np.float32)
    if pad:
        border = np.ones(x.shape, bool)
        border[pad:-pad, pad:-pad] = False
        # a blue that shows on a light page and on a dark one (the network itself sees background there)
        rgb[border] = rgb[border] * 0.3 + np.array([45, 85, 200]) * 0.7
    return rgb.astype(np.uint8)


def _legend(signed: bool, limit: float) -> str:
    lut = SIGNED if signed else UNSIGNED
    stops = ", ".join(f"rgb{tuple(int(c) for c in lut[i])}" for i in range(0, 257, 32))
    lo = f"{-limit:.2g}" if signed else "0"
    mid = '<span>0</span>' if signed else ""
    return (f'<div class="fmap-legend"><div class="fmap-bar" style="background:linear-gradient(to right, {stops})">'
            f'</div><div class="fmap-ticks"><span>{lo}</span>{mid}<span>{limit:.2g}</span></div></div>')


def maps_html(name: str, maps: np.ndarray, caption: str, tile_px: int = 84, units: bool = False,
              open_: bool = True) -> str:
    """One layer's maps (N, H, W) as a labelled grid of crisp tiles with the layer's legend, in a section that
    folds. `units`: each pixel is a unit one can point at (lenet/static/inspect.js shows its arithmetic)."""
    signed, limit = layer_scale(maps)
    h, w = maps.shape[1:]
    hook = (lambda i: f' class="unit-map" data-map="{i}" data-h="{h}" data-w="{w}" tabindex="0" '  # keyboard: inspect.js
                      f'aria-label="{name.upper()}·{i}, {h}×{w} units: arrow keys move between them, Enter explains '
                      f'one"') if units else (lambda i: "")
    tiles = "".join(
        f'<figure class="fmap-tile" data-layer="{name}"><img src="{png_data_url(colorize(m, signed, limit))}" '
        f'width="{tile_px}" height="{tile_px}" alt="{name.upper()}·{i}"{hook(i)}><span class="unit-cursor"></span>'
        f'<span class="src-box"></span>'
        f'<figcaption>{name.upper()}·{i}</figcaption></figure>'
        for i, m in enumerate(maps))
    return (f'<details class="fmap-layer" id="sec-{name}" data-layer="{name}"{" open" if open_ else ""}>'
            f'<summary><h4>{html.escape(caption)}</h4></summary>'
            f'<div class="fmap-grid n{len(maps)}">{tiles}</div>{_legend(signed, limit)}</details>')


def connection_table_html(table: np.ndarray | None) -> str:
    """The S2 -> C3 connection table (16 C3 maps x 6 S2 maps), drawn as a grid: rows S2, columns C3."""
    if table is None:
        return ('<p class="fmap-note">This model uses <b>full</b> connectivity: every C3 map reads all 6 S2 maps. '
                'Pick the LeNet-5 (1998) model to see the paper\'s sparse table.</p>')
    head = "".join(f"<th>{j}</th>" for j in range(table.shape[0]))
    rows = "".join(
        f"<tr><th>S2·{i}</th>" + "".join(f'<td class="{"on" if table[j, i] else "off"}" data-c3="{j}"></td>'
                                         for j in range(table.shape[0])) + "</tr>"
        for i in range(table.shape[1]))
    return (f'<table class="c3-table"><thead><tr><th>C3 →</th>{head}</tr></thead><tbody>{rows}</tbody></table>'
            f'<p class="fmap-note">{int(table.sum())} of {table.size} links: maps 0–5 read 3 neighbouring S2 maps, '
            '6–14 read 4, map 15 reads all 6. Breaking symmetry this way makes the maps learn different features '
            'and saves parameters (1,516 instead of 2,416).</p>')


def bars_html(values: np.ndarray, labels: list[str] | None = None, highlight: int | None = None,
              caption: str = "") -> str:
    """Signed vertical bars (e.g. F6's 84 units, or 10 outputs) drawn around a zero line."""
    limit = float(np.abs(values).max()) or 1.0
    signed = bool(values.min() < 0)
    half = 50 if signed else 100  # non-negative layers (ReLU) grow from the bottom, signed ones from a zero line
    bars = []
    for i, v in enumerate(values):
        h = abs(v) / limit * half
        style = f"height:{h:.1f}%;{'bottom' if v >= 0 else 'top'}:{100 - half if signed else 0}%"
        cls = "pos" if v >= 0 else "neg"
        cls += " hi" if i == highlight else ""
        lab = f'<span class="bar-label">{html.escape(labels[i])}</span>' if labels else ""
        bars.append(f'<div class="bar-slot" title="{i}: {v:.3f}"><div class="bar {cls}" style="{style}"></div>{lab}</div>')
    zero = '<div class="bar-zero"></div>' if signed else ""
    return (f'<div class="bars{" labelled" if labels else ""}">{zero}{"".join(bars)}</div>'
            f'<p class="fmap-note">{html.escape(caption)}</p>')


def prob_bars_html(probs: np.ndarray, classes: list[str], top: int | None = None) -> str:
    """Probabilities as horizontal bars on a fixed 0-100% scale (comparable over time and between models), with
    the value written: small differences stay readable. Inspect's reading and Train's watch panel."""
    rows = "".join(
        f'<div class="pbar-row{" hi" if i == top else ""}" role="listitem">'
        f'<span class="pbar-lab" title="{html.escape(c)}">{html.escape(c)}</span>'
        f'<span class="pbar"><span style="width:{100 * float(p):.1f}%"></span></span>'
        f'<span class="pbar-val">{percent(float(p))}</span></div>'
        for i, (c, p) in enumerate(zip(classes, probs)))
    return f'<div class="pbars" role="list" aria-label="probability of each class">{rows}</div>'


def percent(p: float) -> str:
    """A probability as text with enough digits to tell 99.97% from 99.999%; never "100%" (no model is certain)."""
    if p >= 0.99995:
        return ">99.99%"
    if p < 0.00005:
        return "<0.01%"
    return f"{p:.2%}" if p >= 0.999 or p < 0.001 else f"{p:.1%}"


def confusion_html(confusion: np.ndarray, classes: list[str], caption: str, clickable: bool = True,
                   selected: tuple[int, int] | None = None) -> str:
    """The confusion matrix as a real table (rows: true class, columns: class read): readable by screen readers,
    tinted with translucent colours that work on light and dark pages, each cell a button when `clickable`.

    Right readings are tinted blue by their share of the row; mistakes red on their own scale (the largest
    mistake is the strongest red), since they are a hundred times rarer and would otherwise be invisible."""
    confusion = np.asarray(confusion)
    k = len(classes)
    rows_total = np.maximum(confusion.sum(1), 1)
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    worst = max(int(off.max()), 1)
    short = [html.escape(c[:7]) for c in classes]
    head = "".join(f'<th scope="col" title="{html.escape(c)}">{s}</th>' for c, s in zip(classes, short))
    body = []
    for i in range(k):
        cells = []
        for j in range(k):
            n = int(confusion[i, j])
            if i == j:
                alpha, tone = 0.15 + 0.7 * n / rows_total[i], "right"
            else:
                alpha, tone = (0.12 + 0.73 * n / worst if n else 0.0), "wrong"
            what = (f"{n} of {rows_total[i]} {classes[i]} read right" if i == j
                    else f"{n} {classes[i]} read as {classes[j]}")
            attrs = (f' data-cell="{i},{j}" tabindex="0" role="button" aria-label="{html.escape(what, quote=True)}"'
                     if clickable and n else f' aria-label="{html.escape(what, quote=True)}"')
            sel = " selected" if selected == (i, j) else ""
            strong = " strong" if alpha > 0.6 else ""
            cells.append(f'<td class="{tone}{strong}{sel}" style="--a:{alpha:.2f}" title="{html.escape(what)}"{attrs}>'
                         f'{n if n else ""}</td>')
        body.append(f'<tr><th scope="row" title="{html.escape(classes[i])}">{short[i]}</th>{"".join(cells)}</tr>')
    hint = " Click a cell to list its images." if clickable else ""
    return (f'<table class="confusion"><caption>{html.escape(caption)}.<br><span class="fmap-note">Rows: true class; '
            f'columns: what the model read.{hint}</span></caption>'
            f'<thead><tr><th scope="col" class="corner">true ↓ read →</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')
