"""What must be in view without scrolling (issue 31): on a phone and a laptop, the Draw tab's answer (the verdict,
the top probability and what the network sees) right after drawing; at 1280x900, the curves and "Watch it learn"
together while a run streams.

Checked by the elements' boxes against the viewport, with the page's scroll position read before and after.
Screenshots of each go to artifacts/screenshots/.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from helpers import (SEVEN, SLOW, clear_button, draw_with_finger, draw_with_mouse, expect_current, open_app,
                     wait_for_curve)

# Not a digit: its verdict explains why in a few lines, and the answer must still fit.
GRID = [[(-120, y), (120, y)] for y in (-70, 0, 70)] + [[(x, -120), (x, 120)] for x in (-70, 0, 70)]

pytestmark = pytest.mark.browser

# The top probability: the first element inside the probabilities panel whose own text is a percentage (the panel's
# markup may change; its elem_id and its showing percentages do not).
TOP_PROBABILITY_JS = """() => {
  const panel = document.querySelector('#probs');
  if (!panel) return null;
  const walker = document.createTreeWalker(panel, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (/\\d\\s*%/.test(n.textContent) && n.parentElement.offsetParent) {
      const r = n.parentElement.getBoundingClientRect();
      return {x: r.x, y: r.y, width: r.width, height: r.height, text: n.textContent.trim()};
    }
  }
  return null;
}"""


def in_viewport(page: Page, box: dict | None, what: str) -> None:
    size = page.viewport_size
    assert box is not None and box["width"] > 0 and box["height"] > 0, f"{what} is not shown: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 0.5, \
        f"{what} is outside the {size['width']}x{size['height']} viewport vertically: {box}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5, \
        f"{what} is outside the {size['width']}x{size['height']} viewport sideways: {box}"


def scroll(page: Page) -> list:
    return page.evaluate("() => [window.scrollX, window.scrollY]")


def answer_is_in_view(page: Page, url: str, draw, strokes=SEVEN, verdict=re.compile(r"I read:?\s*7\b")) -> None:
    """The page is at the top with the pad in view; after drawing, the answer is in view and nothing scrolled."""
    if url:
        open_app(page, url)
    expect(page.locator("#pad canvas")).to_be_in_viewport()
    before = scroll(page)
    assert before == [0, 0], f"the page is scrolled before drawing: {before}"
    draw(page, strokes)
    expect(page.locator("#verdict")).to_contain_text(verdict, timeout=SLOW)
    expect_current(page)
    expect(page.locator("#seen img")).to_be_visible(timeout=SLOW)
    page.wait_for_timeout(300)  # the panel's bars animate in
    assert scroll(page) == before, f"drawing scrolled the page: {before} -> {scroll(page)}"
    in_viewport(page, page.locator("#verdict").bounding_box(), "the verdict")
    top = page.evaluate(TOP_PROBABILITY_JS)
    assert top and re.search(r"\d\s*%", top["text"]), f"no probability shown: {top}"
    in_viewport(page, top, f"the top probability ({top['text']})")
    in_viewport(page, page.locator("#seen img").bounding_box(), "what the network sees")
    in_viewport(page, page.locator("#pad canvas").bounding_box(), "the drawing")
    clipped = page.evaluate("() => { const e = document.querySelector('#verdict'); return e.scrollHeight - e.clientHeight; }")
    assert clipped <= 1, f"the verdict is cut off by {clipped} px"


def test_phone_the_answer_is_in_view_while_drawing(chromium, server_url, screenshots):
    """390x844, touch: drawing never scrolls, and the verdict, the top probability and the network's view are
    on the first screen with the pad."""
    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                               has_touch=True)
    ctx.set_default_timeout(30_000)
    try:
        page = ctx.new_page()
        answer_is_in_view(page, server_url, draw_with_finger)
        page.screenshot(path=str(screenshots / "phone_draw_in_view.png"))
        clear_button(page).tap()
        expect(page.locator("#verdict")).to_contain_text("Draw a digit", timeout=SLOW)
        answer_is_in_view(page, "", draw_with_finger, GRID, re.compile("doesn't look like a digit"))
        page.screenshot(path=str(screenshots / "phone_draw_not_a_digit_in_view.png"))
    finally:
        ctx.close()


def test_laptop_the_answer_is_in_view_while_drawing(chromium, server_url, screenshots):
    """1280x800 (a small laptop), mouse: the same, beside the pad."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(30_000)
    try:
        page = ctx.new_page()
        answer_is_in_view(page, server_url, draw_with_mouse)
        page.screenshot(path=str(screenshots / "laptop_draw_in_view.png"))
    finally:
        ctx.close()


def test_laptop_watch_it_learn_is_in_view_while_a_run_streams(chromium, server_url, screenshots):
    """1280x900: Train pressed where the page opens, and during the run the two curves and "Watch it learn" (the
    pinned digit's reading and C1's kernels) are in view together, without scrolling."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(30_000)
    try:
        page = ctx.new_page()
        open_app(page, server_url)
        page.get_by_role("tab", name="Train").click()
        train = page.locator("#train-btn")
        expect(train).to_be_in_viewport(timeout=SLOW)  # no scrolling down the settings to start a run
        epochs = page.locator('#epochs input[type="number"]')
        epochs.fill("20")
        epochs.press("Enter")
        train.click()
        expect(page.locator("#stop-btn")).to_be_enabled(timeout=SLOW)
        expect(page.locator("#watch .watch-when")).to_contain_text(re.compile(r"epoch \d"), timeout=SLOW)
        wait_for_curve(page)
        page.screenshot(path=str(screenshots / "laptop_train_watch.png"))
        assert scroll(page) == [0, 0], f"the page scrolled: {scroll(page)}"
        for what, sel in (("the loss curve", "#loss-plot svg"), ("the error curve", "#error-plot svg"),
                          ("Watch it learn", "#watch-title"), ("the pinned digit's reading", "#watch .watch-digit"),
                          ("C1's kernels", "#watch .watch-kernels")):
            in_viewport(page, page.locator(sel).first.bounding_box(), what)
        page.locator("#stop-btn").click()
        expect(page.locator("#train-results")).to_contain_text(re.compile(r"Stopped|Finished|failed"), timeout=120_000)
    finally:
        ctx.close()
