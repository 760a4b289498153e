"""Training curves as inline SVG (no UI framework): log axes, reference lines, a fixed legend.

Why not Gradio's LinePlot: it has no log axis (a 98-99.4% accuracy curve is a sliver on 0-100%), it
re-sends and re-lays-out the whole Vega spec on each update, and its legend is rebuilt from the data.
Here every series is named up front (the legend never changes mid-run), both charts share one x range,
and colours come from CSS classes (lenet/static/train.css) so the charts follow light and dark mode.
Building one chart of 500 points takes well under a millisecond and sends ~10-20 KB.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

MAX_POINTS = 400  # per series: more is invisible at this size and only costs bytes
# A narrow viewBox so the text stays legible where the chart is drawn small: 13-unit ticks (train.css) are ~10 px
# on a 326 px phone column and ~12.5 px in a 400 px half of a laptop's Train column (were ~5 px on a phone).
WIDTH, HEIGHT = 420, 185
LEFT, RIGHT, TOP, BOTTOM = 50, 10, 8, 34  # plot margins inside the viewBox


@dataclass(frozen=True)
class Series:
    name: str  # legend text
    kind: str  # css class: train | val | test | ref  (colour)
    points: list = field(default_factory=list)  # [(x, y)]
    dashed: bool = False  # the previous run's curves
    faint: bool = False  # raw values under their smoothed line
    label_at_end: str = ""  # reference lines: text drawn at their right end


def thin(points: list, limit: int = MAX_POINTS) -> list:
    """At most `limit` points, evenly strided, always keeping the last one."""
    if len(points) <= limit:
        return list(points)
    stride = math.ceil(len(points) / limit)
    out = points[::stride]
    return out if out[-1] == points[-1] else out + [points[-1]]


def log_range(values: list[float], floor: float, ceiling: float | None = None,
              empty: tuple[float, float] = (1.0, 10.0)) -> tuple[float, float]:
    """Whole decades around the values (so the axis moves only when a curve crosses a decade); `empty`
    before there is any data."""
    good = [v for v in values if v > 0 and math.isfinite(v)]
    if not good:
        return empty
    lo = max(min(good), floor)
    hi = ceiling if ceiling is not None else max(good)
    lo_d, hi_d = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if hi_d <= lo_d:
        hi_d = lo_d + 1
    return 10.0 ** lo_d, 10.0 ** hi_d


def _fmt(v: float) -> str:
    return f"{v:g}"


def line_chart(title: str, y_title: str, series: list[Series], x_max: float, y_range: tuple[float, float],
               unit: str = "", chart_id: str = "", marker: tuple[float, str] | None = None, note: str = "") -> str:
    """One chart: an HTML legend (every series, always) above an SVG plot with a log y axis. `marker`: (x, text),
    a vertical line at that epoch (the snapshot shown); `note`: a line under the plot."""
    lo, hi = y_range
    lo_l, hi_l = math.log10(lo), math.log10(hi)
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    x_max = max(float(x_max), 1e-9)

    def px(x):
        return LEFT + pw * min(max(x / x_max, 0.0), 1.0)

    def py(y):
        y = min(max(y, lo), hi)
        return TOP + ph * (1 - (math.log10(y) - lo_l) / (hi_l - lo_l))

    grid = []
    for d in range(round(lo_l), round(hi_l) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** d
            if not lo <= v <= hi * 1.0001:
                continue
            y = py(v)
            grid.append(f'<line class="{"grid major" if m == 1 else "grid"}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                        f'y1="{y:.1f}" y2="{y:.1f}"/>')
            if m == 1 or hi_l - lo_l <= 2.01:  # over more than two decades, 2 and 5 would crowd: lines only
                grid.append(f'<text class="tick" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}{unit}</text>')
    step = max(1, math.ceil(x_max / 10))
    for e in range(0, math.floor(x_max) + 1, step):
        x = px(e)
        grid.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + ph}"/>')
        grid.append(f'<text class="tick" x="{x:.1f}" y="{TOP + ph + 15}" text-anchor="middle">{e}</text>')
    grid.append(f'<text class="axis-title" x="{LEFT + pw / 2}" y="{HEIGHT - 3}" text-anchor="middle">epoch</text>')

    lines = []
    for s in series:
        pts = [(x, y) for x, y in thin(s.points) if y is not None and math.isfinite(y) and math.isfinite(x)]
        if not pts:
            continue
        cls = f"line {s.kind}" + (" dashed" if s.dashed else "") + (" faint" if s.faint else "")
        name = html.escape(s.name, quote=True)
        if len(pts) == 1 and s.kind != "ref":  # a lone evaluation: a dot, so it is visible
            x, y = pts[0]
            lines.append(f'<circle class="dot {s.kind}" data-series="{name}" cx="{px(x):.1f}" cy="{py(y):.1f}" r="3"/>')
            continue
        d = "M" + "L".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        lines.append(f'<path class="{cls}" data-series="{name}" data-points="{len(pts)}" d="{d}"/>')
        if s.kind in ("val", "test") and not s.dashed and not s.faint:  # evaluations are few: mark each one
            lines += [f'<circle class="dot {s.kind}" cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5"/>' for x, y in pts]
        if s.label_at_end:
            x, y = pts[-1]
            lines.append(f'<text class="ref-label" x="{px(x) - 4:.1f}" y="{py(y) - 4:.1f}" '
                         f'text-anchor="end">{html.escape(s.label_at_end)}</text>')

    if marker is not None:
        x = px(marker[0])
        lines.append(f'<g class="marker"><line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + ph}"/>'
                     f'<text x="{x + (4 if x < LEFT + pw * 0.7 else -4):.1f}" y="{TOP + 12}" '
                     f'text-anchor="{"start" if x < LEFT + pw * 0.7 else "end"}">{html.escape(marker[1])}</text></g>')
    legend = "".join(
        f'<span class="key {s.kind}{" dashed" if s.dashed else ""}{" faint" if s.faint else ""}"><i></i>'
        f'{html.escape(s.name)}</span>' for s in series)
    latest = "; ".join(f"{s.name} {s.points[-1][1]:.3g}{unit}" for s in series
                       if s.points and s.kind != "ref" and not s.dashed and not s.faint
                       and s.points[-1][1] is not None)
    alt = f"{title} ({y_title}, log scale) against epoch" + (f"; latest: {latest}" if latest else "; no data yet")
    return (f'<figure class="chart"{f" id={chart_id!r}" if chart_id else ""}><figcaption><b>{html.escape(title)}</b>'
            f'<span class="legend">{legend}</span></figcaption>'
            f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(alt, quote=True)}" '
            f'preserveAspectRatio="xMidYMid meet">'
            f'<text class="axis-title" transform="translate(11 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
            f'{html.escape(y_title)}</text>{"".join(grid)}'
            f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/>{"".join(lines)}</svg>'
            + (f'<p class="chart-note">{html.escape(note)}</p>' if note else "") + '</figure>')
