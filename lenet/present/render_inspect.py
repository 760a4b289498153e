"""The Inspect tab's HTML: the paper's Fig. 2 as a map of the network, the reading with probability (and RBF
distance) bars, saliency and occlusion, the unit panel, nearest training digits, the F6 map and the model
comparison. Plain strings; the styles are in lenet/static/inspect.css, the pointing in inspect.js.
"""
from __future__ import annotations

import html
import json

import numpy as np

from lenet.present.render import SIGNED, UNSIGNED, gray, network_view, percent, png_data_url, upscale

# Ten distinguishable class colours (Tableau 10), for the F6 map.
# Ten colours a class map can tell apart (saturated, no two greys or grey-blues), dark enough for white labels'
# halo on a white plot.
CLASS_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#0099b4", "#f032e6", "#808000",
                 "#9a6324", "#000075")


def esc(text) -> str:
    return html.escape(str(text))


# ---------- the way in: LeCun et al. 1998, Fig. 2 ----------

def figure2_html(cfg, shapes: dict[str, tuple]) -> str:
    """A compact LeNet-5 diagram; each block opens its section below (inspect.js), or scrolls there without JS.

    `shapes` holds each layer's activation shape for this model, so the numbers are the model's own."""
    s = cfg.input_size
    blocks = [("input", "INPUT", f"{s}×{s}", 1, s)]
    for name, title in (("c1", "C1 convolutions"), ("s2", "S2 subsampling"), ("c3", "C3 convolutions"),
                        ("s4", "S4 subsampling")):
        n, h, w = shapes[name]
        blocks.append((name, f"{name.upper()}", f"{n}@{h}×{w}", n, h))
    for name, target in (("c5", "c5"), ("f6", "f6"), ("output", "output")):
        blocks.append((target, name.upper(), f"{shapes[name][0]}", 0, shapes[name][0]))
    links = {"input": "sec-input", "c5": "sec-fc", "f6": "sec-neighbours", "output": "sec-compare"}
    parts = []
    for i, (name, title, dims, n, size) in enumerate(blocks):
        if n:  # a stack of maps, drawn to scale (up to 3 sheets)
            px = max(10, round(size * 1.5))
            sheets = "".join(f'<span style="width:{px}px;height:{px}px;left:{k * 4}px;top:{k * 4}px"></span>'
                             for k in range(min(n, 3)))
            shape = f'<span class="fig2-stack" style="width:{px + 8}px;height:{px + 8}px">{sheets}</span>'
        else:  # a column of units
            shape = f'<span class="fig2-col" style="height:{min(60, 12 + size // 3)}px"></span>'
        parts.append(f'<a class="fig2-block" href="#{links.get(name, f"sec-{name}")}" data-open="'
                     f'{links.get(name, f"sec-{name}")}">{shape}<b>{title}</b><small>{dims}</small></a>')
        if i < len(blocks) - 1:
            parts.append('<span class="fig2-arrow">→</span>')
    return ('<nav class="fig2" aria-label="LeNet-5 layers (LeCun et al. 1998, Fig. 2)">' + "".join(parts)
            + '</nav><p class="fmap-note">LeNet-5 as drawn in the 1998 paper (Fig. 2): click a block to open its '
              'maps. Point at any unit of C1–S4 below to see what it sees; click it for its arithmetic (or Tab to a '
              'map, move with the arrow keys, press Enter).</p>')


# ---------- the reading ----------

def distance_bars_html(distances: np.ndarray, classes: list[str], top: int) -> str:
    """The RBF output's distances on their own axis, which starts just below the nearest prototype's distance
    (all ten are large, so from 0 the bars would look equal); the shortest bar wins."""
    hi, near = float(distances.max()), float(distances.min())
    lo = max(0.0, near - 0.25 * (hi - near))
    span = (hi - lo) or 1.0
    rows = "".join(
        f'<div class="pbar-row dist{" hi" if i == top else ""}"><span class="pbar-lab">{esc(c)}</span>'
        f'<span class="pbar"><span style="width:{100 * (d - lo) / span:.1f}%"></span></span>'
        f'<span class="pbar-val">{d:.1f}</span></div>'
        for i, (c, d) in enumerate(zip(classes, distances)))
    return (f'<div class="pbars" aria-label="RBF distance to each class prototype">{rows}</div>'
            f'<p class="fmap-note">RBF output: squared distance from F6\'s 84 values to each digit\'s 7×12 '
            f'prototype, on its own axis from {lo:.0f} to {hi:.0f}. The shortest wins.</p>')


def overlay(base01: np.ndarray, heat: np.ndarray, signed: bool, limit: float) -> np.ndarray:
    """A grey image with a colour map on top where |heat| is large."""
    t = np.clip(heat / limit, -1, 1)
    lut = SIGNED if signed else UNSIGNED
    col = lut[np.rint(((t + 1) / 2 if signed else t) * 256).astype(np.int64)].astype(np.float32)
    alpha = np.clip(np.abs(t) * 1.5, 0, 0.9)[..., None]
    base = gray(base01).astype(np.float32) * 0.6
    return (base * (1 - alpha) + col * alpha).astype(np.uint8)


def why_html(input01: np.ndarray, pad: int, sal: np.ndarray, occ: np.ndarray, read: str, patch: int,
             noun: str = "digit") -> str:
    """Saliency and occlusion side by side (both over the model's input), each with one sentence on how to
    read it."""
    occ_px = np.pad(upscale(occ, 28 // occ.shape[0]), pad)  # one value per block of the 28x28 digit
    drop = float(occ.max())
    limit = max(float(np.abs(occ).max()), 0.05)
    sal_img = overlay(input01, sal, False, 1.0)
    occ_img = overlay(input01, occ_px, True, limit)
    biggest = f"at most {drop:.0%}" if drop >= 0.005 else "by less than 1%: no single place decides it"
    return (
        '<div class="why">'
        f'<figure><img class="px" src="{png_data_url(sal_img)}" width="168" height="168" alt="saliency map">'
        f'<figcaption><b>Saliency</b> · bright pixels are where a small change would move the score of '
        f'“{esc(read)}” most (the gradient, averaged over 16 noisy copies): sensitivity, not necessarily ink.'
        f'</figcaption></figure>'
        f'<figure><img class="px" src="{png_data_url(occ_img)}" width="168" height="168" alt="occlusion map">'
        f'<figcaption><b>Occlusion</b> · red is where covering the {noun} with a grey {patch}×{patch} patch lowers '
        f'the probability of “{esc(read)}” ({biggest}); blue is where covering raises it.</figcaption></figure>'
        '</div>')


def input_figure(input01: np.ndarray, pad: int, caption: str, size: int = 168, extra: str = "") -> str:
    """The model's input, with the box inspect.js moves over the region a unit sees."""
    return (f'<figure class="rf-figure{extra}"><span class="rf-target"><img class="px" '
            f'src="{png_data_url(network_view(input01, pad))}" width="{size}" height="{size}" alt="network input">'
            f'<span class="rf-box"></span></span><figcaption>{caption}</figcaption></figure>')


# ---------- the unit panel ----------

def unit_panel_html(payload: dict, input01: np.ndarray, pad: int) -> str:
    """The panel beside the maps: a copy of the input with the unit's region, its value, then its detail.
    The payload (inspect.js reads it) rides along as a data attribute: nothing to fetch on hover."""
    data = html.escape(json.dumps(payload, separators=(",", ":")), quote=True)
    return (f'<aside class="unit-panel" aria-live="polite"><div class="insp-data" hidden data-payload="{data}"></div>'
            '<button class="unit-close" type="button" aria-label="close">×</button>'
            + input_figure(input01, pad, "The region it sees", 112, " mini")
            + '<div class="unit-readout">Point at (or tap) any unit of C1, S2, C3 or S4.</div>'
            '<div class="unit-detail"></div></aside>')


# ---------- nearest training digits and the F6 map ----------

def neighbours_html(items: list[dict], images: list[np.ndarray], sample_title: str, n_train: int) -> str:
    cells = "".join(
        f'<figure class="nb"><img class="px" src="{png_data_url(gray(img))}" width="56" height="56" '
        f'alt="training digit {it["index"]}"><figcaption><b>{esc(it["label"])}</b> · {it["distance"]:.2f}'
        f'</figcaption></figure>'
        for it, img in zip(items, images))
    return (f'<div class="nbs">{cells}</div><p class="fmap-note">The {len(items)} training images, of the '
            f'{n_train:,} in the {esc(sample_title)}, whose F6 features — the 84 numbers the output reads — are '
            'closest to this input’s, with their labels and distances. The network sees these as alike: when it '
            'misreads, they show what it thought it saw.</p>')


def f6_map_svg(xy: np.ndarray, labels: np.ndarray, classes: list[str], star: np.ndarray, size: int = 300) -> str:
    """Test digits on the first two principal axes of their F6 features, coloured by class; the input as a ★."""
    pts = np.vstack([xy, star[None]])
    lo, hi = pts.min(0), pts.max(0)
    span = np.where(hi - lo > 0, hi - lo, 1)
    m = 12
    sx = lambda p: m + (p[..., 0] - lo[0]) / span[0] * (size - 2 * m)  # noqa: E731
    sy = lambda p: size - m - (p[..., 1] - lo[1]) / span[1] * (size - 2 * m)  # noqa: E731
    xs, ys = sx(xy), sy(xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{CLASS_COLOURS[int(c) % 10]}"/>'
                   for x, y, c in zip(xs, ys, labels))
    # each class's name at the middle (median) of its points: the clusters read without the legend
    names = []
    for k, c in enumerate(classes[:10]):
        mine = labels == k
        if mine.any():
            names.append(f'<text class="f6-cluster" x="{np.median(xs[mine]):.1f}" y="{np.median(ys[mine]) + 5:.1f}" '
                         f'fill="{CLASS_COLOURS[k]}" text-anchor="middle">{esc(c)}</text>')
    cx, cy = float(sx(star)), float(sy(star))
    star_pts = " ".join(f"{cx + r * np.sin(a):.1f},{cy - r * np.cos(a):.1f}"
                        for k in range(10) for a, r in [(k * np.pi / 5, 11 if k % 2 == 0 else 4.5)])
    legend = "".join(f'<span><i style="background:{CLASS_COLOURS[i % 10]}"></i>{esc(c)}</span>'
                     for i, c in enumerate(classes))
    return (f'<figure class="f6map"><svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" '
            f'aria-label="F6 map of test digits with this input as a star"><rect width="{size}" height="{size}" '
            f'fill="white"/><g opacity="0.75">{dots}</g><g class="f6-clusters">{"".join(names)}</g><polygon class="star" points="{star_pts}" fill="#111" '
            f'stroke="white" stroke-width="1.5"><title>this input</title></polygon></svg>'
            f'<div class="f6-legend">{legend}<span>★ this input</span></div></figure>')


# ---------- compare models ----------

def compare_html(rows: list[dict]) -> str:
    """One input read by several models: each row {"name", "read", "prob", "probs", "classes", "note"}."""
    body = []
    for r in rows:
        order = np.argsort(r["probs"])[::-1][:3]
        top3 = " ".join(f'<span class="chip">{esc(r["classes"][i])} {percent(float(r["probs"][i]))}</span>'
                        for i in order)
        body.append(f'<tr><td>{esc(r["name"])}</td><td class="big">{esc(r["read"])}</td>'
                    f'<td><span class="pbar"><span style="width:{100 * r["prob"]:.1f}%"></span></span> '
                    f'{percent(r["prob"])}</td><td>{top3}</td><td class="fmap-note">{esc(r.get("note", ""))}</td></tr>')
    return ('<table class="compare"><thead><tr><th>model</th><th>reads</th><th>probability</th><th>top three</th><th></th>'
            '</tr></thead><tbody>' + "".join(body) + "</tbody></table>")
