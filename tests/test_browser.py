"""The real app in headless Chromium: what a visitor does with a mouse (desktop) or a finger (phone).

Screenshots go to artifacts/screenshots/. Timeouts are generous: the CI box has 2 cores, Chromium renders
the drawing canvas in software, and other jobs may be training models at the same time.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from helpers import (ANY_VERDICT, FOUR, ONE, PANEL_ROWS, PROMPT, SEVEN, SLOW, clear_button, draw_with_finger, draw_with_mouse,
                     expect_current, expect_reading, no_sideways_scroll, open_app, pick_model, polyline,
                     probabilities, stage_centre, wait_for_curve)

pytestmark = pytest.mark.browser

# ---------- Draw ----------

def test_draw_a_one_then_clear(page, server_url, screenshots):
    open_app(page, server_url)
    expect(clear_button(page)).to_be_disabled()  # nothing to clear yet
    draw_with_mouse(page, ONE)
    expect_reading(page, "1")
    expect_current(page)
    page.screenshot(path=str(screenshots / "draw.png"), full_page=True)

    clear_button(page).click()
    expect(page.locator("#verdict")).to_contain_text(PROMPT, timeout=SLOW)
    expect(page.locator(PANEL_ROWS)).to_have_count(0, timeout=SLOW)
    expect(page.locator("#seen img")).to_have_count(0)
    assert canvas_ink(page) == 0, "Clear empties the canvas"

    draw_with_mouse(page, SEVEN)  # drawing again needs no tool picking
    expect_reading(page, "7")


def test_a_grid_is_not_a_digit_and_the_panel_says_so(page, server_url, screenshots):
    open_app(page, server_url)
    grid = [[(-120, y), (120, y)] for y in (-70, 0, 70)] + [[(x, -120), (x, 120)] for x in (-70, 0, 70)]
    draw_with_mouse(page, grid)
    expect(page.locator("#verdict")).to_contain_text("doesn't look like a digit", timeout=SLOW)
    expect_current(page)
    # the Probabilities panel's top entry is "not a digit", not the closest digit
    expect(page.locator(PANEL_ROWS).first).to_have_text("not a digit", timeout=SLOW)
    page.screenshot(path=str(screenshots / "draw_not_a_digit.png"), full_page=True)


def test_a_digit_drawn_small_keeps_its_loops_and_is_read(page, server_url, screenshots):
    """An 8 about 55 px tall with the default brush: drawn back with the visitor's pen its loops would fill in
    (lenet.reading.strokes.pen_width); the network sees them open and reads it."""
    from bench.common.digit_strokes import DIGITS

    open_app(page, server_url)
    draw_with_mouse(page, [[(0.3 * x, 0.3 * y) for x, y in stroke] for stroke in DIGITS["8"]])
    expect_reading(page, "8")
    page.screenshot(path=str(screenshots / "draw_small.png"), full_page=True)


def test_a_slashed_zero_is_read_as_0_and_a_bicycle_is_not_a_digit(page, server_url, screenshots):
    """The doodle negatives taught the head that an oval and a line are not a digit; the slashed zero among the
    styles keeps it a 0. A bicycle (a kind no generator draws) is still told it is not one."""
    import math

    oval = [(60 * math.cos(t / 20 * 2 * math.pi), 85 * math.sin(t / 20 * 2 * math.pi)) for t in range(21)]
    open_app(page, server_url)
    draw_with_mouse(page, [oval, [(-50, 80), (50, -80)]])
    expect_current(page)
    expect_reading(page, "0")
    page.screenshot(path=str(screenshots / "draw_slashed_zero.png"), full_page=True)
    clear_button(page).click()
    expect(page.locator("#verdict")).to_contain_text(PROMPT, timeout=SLOW)
    wheel = [[(x0 + 40 * math.cos(t / 16 * 2 * math.pi), 40 + 40 * math.sin(t / 16 * 2 * math.pi)) for t in range(17)]
             for x0 in (-75, 75)]
    frame = [[(-75, 40), (-15, -40), (50, -40), (75, 40)], [(-15, -40), (0, 40), (50, -40)]]
    draw_with_mouse(page, wheel + frame)
    expect_current(page)
    expect(page.locator("#verdict")).to_contain_text("doesn't look like a digit", timeout=SLOW)


def test_a_written_y_is_stated_as_maybe_a_letter_and_a_four_is_read(page, server_url, screenshots):
    """A y in a round hand is a 4's shape. The feature head that refused it (it had learned real hands' letters)
    also refused one real writer's digit in twenty, and no longer decides (docs/real-hands.md); the lookalike-letter
    head says what the model knows: a 4 far from certain, and that it may be a letter (the shipped model: 4 at 55.6%,
    a letter 38%). (It does not change the headline: a round 0 is an O to it too.) A 4 is still read."""
    y = [[(-60, -90), (-40, 0), (0, 10), (40, 0), (60, -90)], [(60, -90), (55, 60), (20, 110), (-40, 90)]]
    open_app(page, server_url)
    draw_with_mouse(page, y)
    expect_current(page)
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("it may also be a letter or symbol", timeout=SLOW)
    text = verdict.inner_text()
    stated = float(re.search(r"Probability ([0-9.]+)%", text).group(1))
    letter = float(re.search(r"a letter or symbol \(([0-9.]+)%\)", text).group(1))
    assert stated < 95 and letter >= 20, text  # the rule for letters written like digits; a letter is likely
    page.screenshot(path=str(screenshots / "draw_written_letter.png"), full_page=True)
    clear_button(page).click()
    expect(verdict).to_contain_text(PROMPT, timeout=SLOW)
    draw_with_mouse(page, FOUR)
    expect_current(page)
    expect_reading(page, "4")


def canvas_ink(page: Page) -> int:
    """How many canvas pixels hold ink (any alpha)."""
    return page.locator("#pad canvas").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
        " for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }")


def test_undo_takes_back_the_last_stroke(page, server_url):
    open_app(page, server_url)
    draw_with_mouse(page, FOUR)
    expect_reading(page, "4")
    expect_current(page)
    both = canvas_ink(page)
    seen_both = page.locator("#seen img").get_attribute("src")
    undo = page.get_by_role("button", name=re.compile(r"^Undo"))
    undo.click()  # takes back the 4's second stroke: the canvas and the reading follow
    expect_current(page)
    # What the network sees is the first stroke alone now (whatever a model makes of it: a 4, a 6, not a digit).
    expect(page.locator("#seen img")).not_to_have_attribute("src", seen_both, timeout=SLOW)
    expect(page.locator("#verdict")).to_contain_text(ANY_VERDICT, timeout=SLOW)
    assert 0 < canvas_ink(page) < both
    undo.click()
    expect(page.locator("#verdict")).to_contain_text(PROMPT, timeout=SLOW)
    expect(undo).to_be_disabled()
    assert canvas_ink(page) == 0


def test_the_reading_after_pen_up_is_never_stale(page, server_url):
    """A 4 drawn as two quick strokes: the first stroke alone reads as another digit; once the pen is up
    the verdict ends at 4 and stays there (no older answer lands after the newest)."""
    open_app(page, server_url)
    cx, cy = stage_centre(page)
    for stroke in FOUR:
        pts = polyline([(cx + dx, cy + dy) for dx, dy in stroke], steps=3)  # fast: few moves
        page.mouse.move(*pts[0])
        page.mouse.down()
        for x, y in pts[1:]:
            page.mouse.move(x, y)
        page.mouse.up()
    expect_current(page)
    expect(page.locator("#verdict")).to_contain_text(re.compile(r"I read:?\s*4\b"))
    page.wait_for_timeout(1500)  # anything still on its way would land now
    expect(page.locator("#verdict")).to_contain_text(re.compile(r"I read:?\s*4\b"))
    expect_current(page)
    expect(page.locator("#pad")).not_to_have_class(re.compile(r"pad-pending"))


def test_a_finger_draws_without_scrolling_the_page(phone_context, server_url, screenshots):
    page = phone_context.new_page()
    open_app(page, server_url)
    stage_centre(page)
    before = page.evaluate("() => [window.scrollX, window.scrollY]")
    draw_with_finger(page, SEVEN)  # a downward stroke would scroll the page if the canvas let it
    assert page.evaluate("() => [window.scrollX, window.scrollY]") == before, "drawing scrolled the page"
    expect_reading(page, "7")
    expect_current(page)
    no_sideways_scroll(page, "Draw")
    page.screenshot(path=str(screenshots / "phone_draw.png"), full_page=True)
    clear_button(page).tap()
    expect(page.locator("#verdict")).to_contain_text(PROMPT, timeout=SLOW)
    assert canvas_ink(page) == 0


def test_the_layout_stays_put_when_the_first_reading_arrives(page, server_url):
    open_app(page, server_url)
    boxes = "() => ['#pad', '#verdict', '#probs', '#seen'].map(s => { const b = document.querySelector(s)" \
            ".getBoundingClientRect(); return [Math.round(b.x), Math.round(b.y)]; })"
    before = page.evaluate(boxes)
    draw_with_mouse(page, SEVEN)
    expect_reading(page, "7")
    after = page.evaluate(boxes)
    moved = [(a, b) for a, b in zip(before, after) if abs(a[0] - b[0]) > 2 or abs(a[1] - b[1]) > 2]
    assert not moved, f"parts of the Draw tab moved: {before} -> {after}"
    seen = page.locator("#seen img")
    assert "blue" in seen.get_attribute("alt") and "32×32" in page.locator("#seen").inner_text()
    assert page.locator("#seen img").bounding_box()["y"] < 900, "what the network sees is above the fold"


def test_screen_reader_labels(page, server_url):
    open_app(page, server_url)
    expect(page.locator("#verdict")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("img", name=re.compile(r"^Drawing area"))).to_be_visible()
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-status")).to_have_attribute("aria-live", "polite", timeout=SLOW)


def test_phone_words_are_not_cut_off(phone_context, server_url):
    """Every shipped model's name fits the selector on a phone, and the About table breaks no word."""
    page = phone_context.new_page()
    open_app(page, server_url)
    page.locator("#model-select input").click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible(timeout=SLOW)
    names = [n.strip() for n in options.all_inner_texts()]
    assert len(names) >= 2, names
    # Each name set in the selector's own font, against the room its input has on this phone.
    widths = page.locator("#model-select input").evaluate(
        "(i, names) => { const s = getComputedStyle(i), c = document.createElement('canvas').getContext('2d');"
        " c.font = s.font; const room = i.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);"
        " return names.map(n => [n, c.measureText(n).width, room]); }", names)
    cut = [w for w in widths if w[1] > w[2]]
    assert not cut, f"model names cut off on a phone (name, text px, room px): {cut}"
    page.get_by_role("tab", name="About").tap()
    table = page.locator("#about-text table")
    expect(table).to_be_visible(timeout=SLOW)
    one_line = table.evaluate(  # the text's own box (a Range), not the cell: a row grows with its longest cell
        "t => [...t.querySelectorAll('th, td:first-child')].every(c => { const s = getComputedStyle(c);"
        " const r = document.createRange(); r.selectNodeContents(c);"
        " const line = parseFloat(s.lineHeight) || 1.4 * parseFloat(s.fontSize);"
        " return r.getBoundingClientRect().height < 1.8 * line; })")
    assert one_line, "a header or layer name wraps in the About table"
    no_sideways_scroll(page, "About")


def test_a_clothes_model_says_so_on_the_draw_tab(page, server_url):
    open_app(page, server_url)
    expect(page.locator("#draw-notice")).not_to_contain_text("clothes")
    pick_model(page, re.compile(r"Fashion"))
    expect(page.locator("#draw-notice")).to_contain_text("clothes, not digits", timeout=SLOW)


# ---------- Train ----------

def loss_line_points(page: Page) -> int:
    """How many line segments the loss chart has drawn (lenet/present/charts.py: one SVG path per series)."""
    return page.locator("#loss-plot").evaluate(
        "e => [...e.querySelectorAll('svg path.line')].reduce((n, p) => n + ((p.getAttribute('d') || '')"
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
    expect(page.locator("#confusion table.confusion")).to_be_visible(timeout=SLOW)
    page.screenshot(path=str(screenshots / "train_done.png"), full_page=True)

    # Draw reads drawings with the visitor's freshly trained model ...
    page.get_by_role("tab", name="Draw").click()
    draw_with_mouse(page, ONE)
    expect_reading(page)
    expect(page.locator("#model-select input")).to_have_value(re.compile(r"your model"))
    mine = probabilities(page)
    # ... and it is that model doing the reading: the shipped one reads the same drawing differently.
    pick_model(page, re.compile(r"^LeNet-5 · MNIST"))
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
        "e => [...e.querySelectorAll('svg path.line')].map(p => getComputedStyle(p).stroke)")
    page.locator("#stop-btn").click()
    expect(page.locator("#train-results")).to_contain_text(re.compile(r"Stopped|Finished"), timeout=120_000)
    assert strokes and all(s not in ("none", "", "transparent") for s in strokes), f"loss line strokes: {strokes}"


# ---------- Inspect ----------

def test_inspect_shows_feature_maps_of_the_drawing(page, server_url, screenshots):
    open_app(page, server_url)
    draw_with_mouse(page, SEVEN)
    expect_reading(page)
    drawn = page.locator("#verdict h3").inner_text().strip()  # Draw's verdict, read in the page
    page.get_by_role("tab", name="Inspect").click()
    expect(page.locator("#inspect-head")).to_contain_text("your drawing", timeout=SLOW)
    layers = page.locator("#inspect-layers")
    expect(layers.locator('.fmap-tile[data-layer="c1"]')).to_have_count(6, timeout=SLOW)
    expect(layers.locator('.fmap-tile[data-layer="c3"]')).to_have_count(16, timeout=SLOW)
    expect(page.locator("#inspect-head .inspect-verdict")).to_have_text(drawn)  # the same verdict, the same words
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
    clear_button(page).tap()
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


# ---------- Contrast ----------

CONTRAST_JS = """
(selectors) => {
  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const over = (top, under) => { const a = top.length > 3 ? top[3] : 1;
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)); };
  const background = (el) => {  // the colour behind el: its ancestors' backgrounds, composited
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length && (c.length < 4 || c[3] > 0)) { layers.push(c); if (c.length < 4 || c[3] >= 1) break; }
    }
    const last = layers[layers.length - 1];
    const opaque = last && (last.length < 4 || last[3] >= 1);
    let base = opaque ? last.slice(0, 3) : [255, 255, 255];  // the page's own white if nothing is opaque
    for (let i = layers.length - (opaque ? 2 : 1); i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const out = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.offsetParent || !el.innerText.trim()) continue;
      const style = getComputedStyle(el);
      const bg = background(el);
      const fg = over(rgba(style.color), bg);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      let opacity = 1;
      for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
      out.push({sel, text: el.innerText.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05), opacity,
                fg: style.color, bg: bg.map(Math.round).join(",")});
    }
  }
  return out;
}
"""
# Helper text: descriptions, `info=` hints, captions, placeholders, notes.
HELPER_TEXT = [".info-text", "#intro p", "#pad .pad-hint", "#seen figcaption", "#seen .seen-empty", ".draw-notice",
               "#verdict p", ".fmap-note", ".fmap-tile figcaption", ".inspect-head figcaption", "#train-status p",
               '[data-testid="block-info"]']


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_helper_text_contrast_is_at_least_4_5(page, server_url, scheme):
    """WCAG AA for the app's helper text, computed from the colours the browser renders."""
    open_app(page, server_url, "?__theme=dark" if scheme == "dark" else "?__theme=light")
    found = page.evaluate(CONTRAST_JS, HELPER_TEXT)  # before drawing: the hint and the empty frames
    draw_with_mouse(page, SEVEN)
    expect_reading(page, "7")
    expect_current(page)
    found += page.evaluate(CONTRAST_JS, HELPER_TEXT)
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-btn")).to_be_visible(timeout=SLOW)
    found += page.evaluate(CONTRAST_JS, HELPER_TEXT)
    page.get_by_role("tab", name="Inspect").click()  # the drawing's feature maps
    expect(page.locator('#inspect-layers .fmap-tile[data-layer="c1"]')).to_have_count(6, timeout=SLOW)
    found += page.evaluate(CONTRAST_JS, HELPER_TEXT)
    kinds = {f["sel"] for f in found}
    assert {".info-text", "#pad .pad-hint", "#seen figcaption", ".fmap-note", "#verdict p"} <= kinds, kinds
    low = [f for f in found if f["ratio"] < 4.5 or f["opacity"] < 1]
    assert not low, f"{scheme}: helper text below 4.5:1 (or faded): {low}"
