"""The real app in headless Chromium: what a visitor does with a mouse (desktop) or a finger (phone).

Screenshots go to artifacts/screenshots/. Timeouts are generous: the CI box has 2 cores, Chromium renders
the drawing canvas in software, and other jobs may be training models at the same time.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SLOW = 60_000  # ms: a prediction or a tab's first render on a busy 2-core machine
PROMPT = re.compile(r"Draw a digit")
READ = re.compile(r"I read|Not sure")

# Strokes as lists of (dx, dy) offsets in CSS pixels from the centre of the drawing stage.
ONE = [[(0, -85), (0, 85)]]
SEVEN = [[(-55, -75), (55, -75), (-10, 85)]]


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("tab", name="Draw")).to_be_visible(timeout=SLOW)
    expect(page.locator("#pad canvas").first).to_be_visible(timeout=SLOW)
    expect(page.locator("#verdict")).to_contain_text(PROMPT)


def polyline(points, steps: int = 8):
    """The points of a stroke through `points`, `steps` moves per segment."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        out += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
    return out


def stage_centre(page: Page) -> tuple[float, float]:
    canvas = page.locator("#pad canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200, f"the drawing stage is too small: {box}"
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


def expect_reading(page: Page, digit: str | None = None) -> None:
    expect(page.locator("#verdict")).to_contain_text(READ, timeout=SLOW)
    top = page.locator('#probs [data-testid="label-output-value"]')
    expect(top).to_have_text(re.compile(r"^\s*\d\s*$"), timeout=SLOW)
    if digit is not None:
        expect(page.locator("#verdict")).to_contain_text(re.compile(rf"I read:?\s*{digit}\b"))
        expect(top).to_have_text(re.compile(rf"^\s*{digit}\s*$"))
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
        "() => [...document.querySelectorAll('#loss-plot svg .mark-line path')]"
        ".some(p => ((p.getAttribute('d') || '').match(/L/g) || []).length >= 3)", timeout=SLOW)


# ---------- Draw ----------

def test_draw_a_one_then_clear(page, server_url, screenshots):
    open_app(page, server_url)
    # No click on the Brush here: the app's load JS must have selected it (Gradio 6.31 leaves no tool selected).
    expect(page.locator('#pad button[aria-label="Brush"]')).to_have_class(re.compile(r"\bhighlight\b"), timeout=SLOW)
    draw_with_mouse(page, ONE)
    expect_reading(page, "1")
    page.screenshot(path=str(screenshots / "draw.png"), full_page=True)

    page.locator('#pad button[aria-label="Clear canvas"]').click()
    expect(page.locator("#verdict")).to_contain_text(PROMPT, timeout=SLOW)
    expect(page.locator('#probs [data-testid="label-output-value"]')).to_have_count(0, timeout=SLOW)

    # after Clear the brush is picked again, so the next drawing works without touching the toolbar
    expect(page.locator('#pad button[aria-label="Brush"]')).to_have_class(re.compile(r"\bhighlight\b"), timeout=SLOW)
    draw_with_mouse(page, SEVEN)
    expect_reading(page, "7")


# ---------- Train ----------

def loss_line_points(page: Page) -> int:
    """How many line segments the loss plot has drawn (vega renders SVG paths in `.mark-line`)."""
    return page.locator("#loss-plot").evaluate(
        "e => [...e.querySelectorAll('svg .mark-line path')].reduce((n, p) => n + ((p.getAttribute('d') || '')"
        ".match(/L/g) || []).length, 0)")


def test_train_live_then_stop(page, server_url, screenshots):
    open_app(page, server_url)
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-btn")).to_be_visible(timeout=SLOW)
    expect(page.locator("#dataset input")).to_have_value(re.compile("sample", re.IGNORECASE))  # offline: the bundled sample
    epochs = page.locator('#epochs input[type="number"]')
    epochs.fill("20")
    epochs.press("Enter")
    expect(page.locator('#epochs input[type="range"]')).to_have_value("20")

    page.locator("#train-btn").click()
    status = page.locator("#train-status")
    expect(status).to_contain_text(re.compile(r"epoch \d+/20 · step \d+", re.IGNORECASE), timeout=SLOW)
    wait_for_curve(page)
    assert loss_line_points(page) >= 3
    page.screenshot(path=str(screenshots / "train_running.png"), full_page=True)

    page.locator("#stop-btn").click()
    results = page.locator("#train-results")
    expect(results).to_contain_text(re.compile(r"Stopped|Finished"), timeout=120_000)
    expect(results).to_contain_text(re.compile(r"Test accuracy \d+\.\d+%"))
    expect(status).not_to_contain_text("Error")  # a Stop is not a failure (Gradio's cancel used to show "Error")
    expect(page.locator("#model-select input")).to_have_value(re.compile(r"^your model"), timeout=SLOW)
    expect(page.locator("#download")).to_be_visible(timeout=SLOW)
    expect(page.locator("#confusion img")).to_be_visible(timeout=SLOW)
    page.screenshot(path=str(screenshots / "train_done.png"), full_page=True)

    # Draw reads drawings with the visitor's freshly trained model ...
    page.get_by_role("tab", name="Draw").click()
    draw_with_mouse(page, ONE)
    expect_reading(page)
    expect(page.locator("#model-select input")).to_have_value(re.compile(r"your model"))
    mine = probabilities(page)
    # ... and it is that model doing the reading: the shipped one reads the same drawing differently.
    pick_model(page, re.compile(r"^lenet5 · MNIST"))
    page.wait_for_function("before => document.querySelector('#probs').innerText !== before", arg=mine,
                           timeout=SLOW)
    expect_reading(page, "1")
    assert probabilities(page) != mine


def test_train_curves_are_visible(page, server_url):
    open_app(page, server_url)
    page.get_by_role("tab", name="Train").click()
    # what a visitor sees: the (empty) plot is on screen before they press Train
    expect(page.locator("#loss-plot svg").first).to_be_attached(timeout=SLOW)
    page.locator("#train-btn").click()
    wait_for_curve(page)
    strokes = page.locator("#loss-plot").evaluate(
        "e => [...e.querySelectorAll('svg .mark-line path')].map(p => getComputedStyle(p).stroke)")
    page.locator("#stop-btn").click()
    expect(page.locator("#train-results")).to_contain_text(re.compile(r"Stopped|Finished"), timeout=120_000)
    assert strokes and all(s not in ("none", "", "transparent") for s in strokes), f"loss line strokes: {strokes}"


# ---------- Inspect ----------

def test_inspect_shows_feature_maps_of_the_drawing(page, server_url, screenshots):
    open_app(page, server_url)
    draw_with_mouse(page, SEVEN)
    expect_reading(page)
    page.get_by_role("tab", name="Inspect").click()
    expect(page.locator("#inspect-head")).to_contain_text("your drawing", timeout=SLOW)
    layers = page.locator("#inspect-layers")
    expect(layers.locator('.fmap-tile[data-layer="c1"]')).to_have_count(6, timeout=SLOW)
    expect(layers.locator('.fmap-tile[data-layer="c3"]')).to_have_count(16, timeout=SLOW)
    expect(page.locator("#inspect-head")).to_contain_text(re.compile(r"Reads\s*\d"))
    for img in layers.locator('.fmap-tile[data-layer="c1"] img').all():
        assert img.evaluate("i => i.complete && i.naturalWidth") > 0, "every C1 map image decodes"
    page.screenshot(path=str(screenshots / "inspect.png"), full_page=True)


# ---------- Phone ----------

def test_phone_journey_with_a_finger(phone_context, server_url, screenshots):
    """The whole visit on a phone, every input a tap or a touch stroke: draw, clear, train, stop, read
    with your model, inspect."""
    page = phone_context.new_page()
    open_app(page, server_url)
    no_sideways_scroll(page, "Draw")
    draw_with_finger(page, SEVEN)
    expect_reading(page, "7")
    page.locator("#verdict").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "phone_draw.png"), full_page=True)
    page.locator('#pad button[aria-label="Clear canvas"]').tap()
    expect(page.locator("#verdict")).to_contain_text(PROMPT, timeout=SLOW)

    page.get_by_role("tab", name="Train").tap()
    expect(page.locator("#train-btn")).to_be_visible(timeout=SLOW)
    no_sideways_scroll(page, "Train")
    page.locator("#train-btn").tap()
    wait_for_curve(page)
    page.locator("#loss-plot").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "phone_train_running.png"), full_page=True)
    page.locator("#stop-btn").tap()
    expect(page.locator("#train-results")).to_contain_text(re.compile(r"Stopped|Finished"), timeout=120_000)
    expect(page.locator("#model-select input")).to_have_value(re.compile(r"^your model"), timeout=SLOW)
    no_sideways_scroll(page, "Train results")
    page.screenshot(path=str(screenshots / "phone_train_done.png"), full_page=True)

    page.get_by_role("tab", name="Draw").tap()
    draw_with_finger(page, ONE)
    expect_reading(page)
    expect(page.locator("#model-select input")).to_have_value(re.compile(r"your model"))

    page.get_by_role("tab", name="Inspect").tap()
    expect(page.locator("#inspect-head")).to_contain_text("your drawing", timeout=SLOW)
    layers = page.locator("#inspect-layers")
    expect(layers.locator('.fmap-tile[data-layer="c1"]')).to_have_count(6, timeout=SLOW)
    expect(layers.locator('.fmap-tile[data-layer="c3"]')).to_have_count(16, timeout=SLOW)
    no_sideways_scroll(page, "Inspect")
    page.screenshot(path=str(screenshots / "phone_inspect.png"), full_page=True)


def test_phone_header_is_readable(phone_context, server_url):
    page = phone_context.new_page()
    open_app(page, server_url)
    title = page.locator("#intro h1")
    box = title.bounding_box()
    line = float(title.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 1.2 * parseFloat(getComputedStyle(e).fontSize)"))
    assert box["width"] >= 200, f"the title is squeezed into {box['width']:.0f} px"
    assert box["height"] <= 2.2 * line, f"the title wraps onto {box['height'] / line:.1f} lines"
