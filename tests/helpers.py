"""What the tests share: driving the real app in Chromium (open it, draw with a mouse or a finger, wait for a
reading) and checking that a picture is framed as MNIST frames a digit. Fixtures live in conftest.py."""
from __future__ import annotations

import copy
import json
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from playwright.sync_api import Page, expect

SLOW = 60_000  # ms: a prediction or a tab's first render on a busy 2-core machine
PROMPT = re.compile(r"Draw a digit")
READ = re.compile(r"I read|Not sure")
ANY_VERDICT = re.compile(r"I read|Not sure|doesn't look like a digit")

# Strokes as lists of (dx, dy) offsets in CSS pixels from the centre of the drawing stage.
ONE = [[(0, -85), (0, 85)]]
SEVEN = [[(-55, -75), (55, -75), (-10, 85)]]
FOUR = [[(-30, -88), (-50, 25), (55, 25)], [(28, -55), (28, 90)]]


def open_app(page: Page, url: str, query: str = "") -> None:
    page.goto(url + query)
    expect(page.get_by_role("tab", name="Draw")).to_be_visible(timeout=SLOW)
    expect(page.locator("#pad canvas")).to_be_visible(timeout=SLOW)
    expect(page.locator("#verdict")).to_contain_text(PROMPT)


def polyline(points, steps: int = 8):
    """The points of a stroke through `points`, `steps` moves per segment."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        out += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
    return out


def stage_centre(page: Page) -> tuple[float, float]:
    canvas = page.locator("#pad canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200, f"the drawing surface is too small: {box}"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def draw_with_mouse(page: Page, strokes) -> None:
    cx, cy = stage_centre(page)
    for stroke in strokes:
        pts = [(cx + dx, cy + dy) for dx, dy in stroke]
        page.mouse.move(*pts[0])
        page.mouse.down()
        for x, y in polyline(pts)[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


def draw_with_finger(page: Page, strokes) -> None:
    """Real touch input (touchstart / touchmove / touchend, as a phone sends them) through CDP."""
    cx, cy = stage_centre(page)
    cdp = page.context.new_cdp_session(page)
    try:
        for stroke in strokes:
            pts = polyline([(cx + dx, cy + dy) for dx, dy in stroke])
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
            for x, y in pts[1:]:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def clear_button(page: Page):
    return page.get_by_role("button", name=re.compile(r"^Clear"))


def expect_current(page: Page) -> None:
    """The reading on screen is the answer to the drawing as it is now (the surface numbers what it sends;
    the server echoes the number with the reading)."""
    page.wait_for_function("() => { const p = document.querySelector('#pad'), r = document.querySelector('#read-seq "
                           "[data-seq]'); return p && r && p.dataset.seq && r.dataset.seq === p.dataset.seq; }",
                           timeout=SLOW)


PANEL_ROWS = "#probs dt"  # the Probabilities panel's entries, highest first (it has no heading: the verdict is one)
# The panel's most probable digit ("a letter" or "not a digit" may stand above it), or undefined
TOP_DIGIT_JS = (f"() => [...document.querySelectorAll('{PANEL_ROWS}')].map(e => e.innerText.trim())"
                ".find(t => /^\\d$/.test(t))")


def top_digit_row(page: Page) -> str | None:
    return page.evaluate(TOP_DIGIT_JS)


def expect_reading(page: Page, digit: str | None = None) -> None:
    expect(page.locator("#verdict")).to_contain_text(READ, timeout=SLOW)
    expect(page.locator(PANEL_ROWS).first).to_be_visible(timeout=SLOW)
    if digit is not None:
        expect(page.locator("#verdict")).to_contain_text(re.compile(rf"I read:?\s*{digit}\b"))
        page.wait_for_function(f"() => ({TOP_DIGIT_JS})() === '{digit}'", timeout=SLOW)
    expect(page.locator("#seen img")).to_be_visible(timeout=SLOW)


def probabilities(page: Page) -> str:
    """The Label's text: top class and every confidence, as shown."""
    return page.locator("#probs").inner_text()


def pick_model(page: Page, name) -> None:
    page.locator("#model-select input").click()
    page.get_by_role("option", name=name).first.click()
    expect(page.locator("#model-select input")).to_have_value(name, timeout=SLOW)


def no_sideways_scroll(page: Page, where: str) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"the page scrolls sideways on a phone ({where}): {width}"


def wait_for_curve(page: Page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('#loss-plot svg path.line')]"
        ".some(p => ((p.getAttribute('d') || '').match(/L/g) || []).length >= 3)", timeout=SLOW)


# ---------- pictures ----------

def bbox_side(img: np.ndarray, ink: float = 0.1) -> int:
    rows, cols = np.nonzero(img > ink)
    return max(np.ptp(rows), np.ptp(cols)) + 1


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    return (img * ys).sum() / img.sum(), (img * xs).sum() / img.sum()


def assert_framed_like_a_drawing(img: np.ndarray):
    """Peak ink 1, bounding box filling 20x20 and centre of mass at the centre: what canvas_to_digit makes."""
    assert img.max() == pytest.approx(1.0, abs=0.01)
    assert 18 <= bbox_side(img) <= 22
    cy, cx = centre_of_mass(img)
    assert abs(cy - 14) < 1.0 and abs(cx - 14) < 1.0


# ---------- models ----------

def calibrated(lm, drawings: list[dict], temperature: float = 1.7, seed: int = 0, letter_scale: float = 2.5,
               letter_bias: float = -1.5, unsure_top: float = 0.6, unsure_margin: float = 0.3):
    """A copy of a model whose checkpoint says what `python -m lenet.calibrate --real-hands` writes: a temperature,
    a lookalike head (here random weights standardised on these drawings' own S4, C5, F6, so its P(letter) is
    spread from a few per cent to most), its Platt scaling and the wider "unsure" (the network is the same)."""
    from lenet.reading.inference import LoadedModel, read
    from lenet.reading.verdict import FeatureHead

    acts = [read(lm, json.dumps(d)) for d in drawings]
    feats = FeatureHead.features({k: np.stack([r.activations[k] for r in acts if r is not None])
                                  for k in ("s4", "c5", "f6")})
    torch.manual_seed(seed)
    head = FeatureHead(feats.shape[1], 16)
    # a real head standardises on thousands of drawings; on these 40 some units never move (std ~1e-6 would
    # magnify the page's ~1e-6 float32 differences a million times), so a floor
    head.mean, head.std = feats.mean(0), feats.std(0).clamp_min(1e-2)
    th = replace(lm.thresholds, temperature=temperature, lookalike=head.to_dict(), letter_scale=letter_scale,
                 letter_bias=letter_bias, unsure_top=unsure_top, unsure_margin=unsure_margin)
    return LoadedModel(model=copy.deepcopy(lm.model), meta={**lm.meta, "verdict": th.to_dict()}, source="uploaded")


def clothes_model(bias: list[float], thresholds=None, **config):
    """A Fashion-MNIST model whose output ignores its input: the class probabilities are softmax(bias). With
    rbf_reject: the paper's RBF output, every prototype far from any F6 code, so "none of these" takes it all."""
    from lenet.net.config import preset
    from lenet.net.model import LeNet
    from lenet.reading.inference import LoadedModel

    net = LeNet(preset("lenet5-1998" if "rbf_reject" in config else "lenet5", **config))
    with torch.no_grad():
        if "rbf_reject" in config:
            net.output.prototypes.fill_(40.0)
        else:
            net.output.weight.zero_()
            net.output.bias.copy_(torch.tensor(bias))
    meta = {"arch": "lenet5", "dataset": "fashion-mnist"}
    return LoadedModel.from_model(net, meta | ({"verdict": thresholds.to_dict()} if thresholds else {}))


TWO_CLOSE = [2.0, 1.8] + [0.0] * 8  # T-shirt/top 34%, Trouser 28%: two classes compete
