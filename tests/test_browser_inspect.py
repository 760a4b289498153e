"""Inspect in headless Chromium: pointing at units (mouse and finger), the Fig. 2 map, test images picked by
class. The numbers the browser shows are checked against the core's own arithmetic (lenet/reading/explain.py)."""
from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from helpers import SLOW, no_sideways_scroll, open_app

pytestmark = pytest.mark.browser


def open_inspect(page: Page, url: str, tap: bool = False) -> None:
    open_app(page, url)
    tab = page.get_by_role("tab", name="Inspect")
    tab.tap() if tap else tab.click()
    expect(page.locator("#inspect-layers .unit-panel")).to_be_attached(timeout=SLOW)


def shown_reading(app_module):
    """The default model's reading of the digit Inspect opens on (nothing drawn: the first test 7)."""
    from lenet.reading.inference import read

    from ui.common import DEFAULT_MODEL, SHIPPED, shipped_index
    from ui.inspect import first_test_image

    lm = SHIPPED[DEFAULT_MODEL]
    shown = first_test_image(shipped_index(DEFAULT_MODEL))
    return lm, read(lm, shown["image"])


def shown_activations(app_module) -> dict:
    return shown_reading(app_module)[1].activations


def expected_unit(app_module, layer: str, m: int, y: int, x: int) -> dict:
    """What the core computes for that unit (lenet/reading/explain.py)."""
    from lenet.reading.explain import unit_detail

    return unit_detail(*shown_reading(app_module), layer, m, y, x)


def point_at(page: Page, layer: str, m: int, fx: float, fy: float, click: bool, tap: bool = False) -> tuple:
    """Hover (or click, or tap) a map at a fraction of its size; returns (layer, map, y, x) the page reports."""
    img = page.locator(f'#inspect-layers .fmap-tile[data-layer="{layer}"] img.unit-map[data-map="{m}"]')
    img.scroll_into_view_if_needed()
    border, inner = img.evaluate("i => [i.clientLeft, i.clientWidth]")  # the picture is inside the border
    pos = {"x": border + inner * fx, "y": border + inner * fy}
    if tap:
        img.tap(position=pos)
    elif click:
        img.click(position=pos)
    else:
        img.hover(position=pos)
    panel = page.locator(".unit-panel")
    which = "data-unit" if click or tap else "data-hover"  # the unit whose detail is shown / under the pointer
    expect(panel).to_have_attribute(which, re.compile(rf"^{layer}:{m}:\d+:\d+$"))
    name, mm, y, x = panel.get_attribute(which).split(":")
    return name, int(mm), int(y), int(x)


def shown_number(page: Page, selector: str) -> float:
    return float(page.locator(selector).first.inner_text())


def test_inspect_opens_on_a_test_digit_and_explains_any_unit(page, server_url, app_module, screenshots):
    open_inspect(page, server_url)
    head = page.locator("#inspect-head")
    expect(head).to_contain_text(re.compile(r"nothing drawn yet.*test image #\d+"), timeout=SLOW)
    expect(head).to_contain_text(re.compile(r"I read:\s*7"))
    # hover a C1 unit: its 5x5 field is outlined on the input, its value shown
    layer, m, y, x = point_at(page, "c1", 3, 0.5, 0.4, click=False)
    box = page.locator("#inspect-head .rf-box")
    expect(box).to_be_visible()
    assert abs(float(box.evaluate("b => parseFloat(b.style.left)")) - 100 * x / 32) < 1e-6
    assert abs(float(box.evaluate("b => parseFloat(b.style.top)")) - 100 * y / 32) < 1e-6
    assert abs(float(box.evaluate("b => parseFloat(b.style.width)")) - 100 * 5 / 32) < 1e-6
    expect(page.locator(".unit-readout")).to_contain_text(f"C1·3 at row {y}, column {x}")
    # click a C3 unit: the S2 maps it reads, their patches and kernels, the weighted sum and activation
    c3 = shown_activations(app_module)["c3"][5]
    ty, tx = np.unravel_index(c3.argmax(), c3.shape)  # its most active unit: a non-zero example
    layer, m, y, x = point_at(page, "c3", 5, (tx + 0.5) / 10, (ty + 0.5) / 10, click=True)
    assert (y, x) == (ty, tx), "the unit under the pointer is the one reported"
    ref = expected_unit(app_module, layer, m, y, x)
    assert ref["activation"] > 0
    detail = page.locator(".unit-detail")
    expect(detail).to_contain_text("weighted sum")
    expect(detail).to_contain_text("Reads S2 maps 0, 1, 2, 3, 4, 5")
    expect(page.locator("#inspect-layers .src-box.on")).to_have_count(0)  # S2 is folded: nothing to light there
    assert detail.locator(".mac").count() == 6
    assert shown_number(page, ".unit-detail .sum b") == pytest.approx(ref["weighted_sum"], abs=2e-3)
    assert shown_number(page, ".unit-detail .act") == pytest.approx(ref["activation"], abs=2e-3)
    assert float(page.locator(".unit-panel").get_attribute("data-ms")) < 100, "computed in the browser"
    # S2 is folded; its block in the Fig. 2 map opens it, and its units explain their pooling
    s2 = page.locator("#sec-s2")
    assert s2.evaluate("d => d.open") is False
    page.locator('.fig2-block[data-open="sec-s2"]').click()
    expect(s2).to_have_attribute("open", "")
    layer, m, y, x = point_at(page, "s2", 1, 0.3, 0.6, click=True)
    ref = expected_unit(app_module, layer, m, y, x)
    expect(page.locator(".unit-detail")).to_contain_text("max-pooling")
    lit = page.locator('#inspect-layers .fmap-tile[data-layer="c1"] .src-box.on')  # its 2x2 window in C1·1
    expect(lit).to_have_count(1)
    tile = page.locator('#inspect-layers .fmap-tile[data-layer="c1"] img.unit-map[data-map="1"]')
    img_box, lit_box = tile.bounding_box(), lit.bounding_box()
    unit = (img_box["width"] - 2) / 28
    assert lit_box["width"] == pytest.approx(2 * unit, abs=1)
    assert lit_box["x"] == pytest.approx(img_box["x"] + 1 + 2 * x * unit, abs=1)
    assert shown_number(page, ".unit-detail .act") == pytest.approx(ref["activation"], abs=2e-3)
    # with S2 open, the C3 unit lights its 5x5 patch in each of the six S2 maps it reads
    point_at(page, "c3", 5, (tx + 0.5) / 10, (ty + 0.5) / 10, click=True)
    expect(page.locator('#inspect-layers .fmap-tile[data-layer="s2"] .src-box.on')).to_have_count(6)
    page.locator("#sec-s2").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "inspect_unit.png"))


def test_inspect_shows_a_test_image_of_the_class_asked_for(page, server_url, screenshots):
    open_inspect(page, server_url)
    head = page.locator("#inspect-head")
    page.locator("#inspect-pick").get_by_text("3", exact=True).click()
    expect(head).to_contain_text(re.compile(r"true label\s*3"), timeout=SLOW)
    expect(page.locator("#inspect-source input[value='a test image']")).to_be_checked()
    first = re.search(r"test image #(\d+)", head.inner_text()).group(1)
    page.locator("#another").click()
    expect(head).not_to_contain_text(f"test image #{first} ", timeout=SLOW)
    expect(head).to_contain_text(re.compile(r"true label\s*3"))
    page.locator("#inspect-pick").get_by_text("one it misreads").click()
    expect(head).to_contain_text(re.compile(r"read as \d"), timeout=SLOW)
    label = re.search(r"true label\s*(\d)", head.inner_text()).group(1)
    read = head.locator(".inspect-verdict").get_attribute("data-best")  # what it read, whatever the verdict
    assert label != read, "a misread test image is read as another class"
    more = page.locator("#inspect-more")
    expect(more.locator(".nb")).to_have_count(8)
    expect(more.locator("table.compare tbody tr")).to_have_count(3)  # every shipped model
    more.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "inspect_misread.png"), full_page=True)


def test_phone_tap_a_unit_shows_its_arithmetic(phone_context, server_url, app_module, screenshots):
    page = phone_context.new_page()
    open_inspect(page, server_url, tap=True)
    expect(page.locator("#inspect-head .inspect-verdict")).to_be_visible(timeout=SLOW)
    panel = page.locator(".unit-panel")
    expect(panel).to_be_hidden()  # on a phone the panel is a sheet that a tap opens
    c1 = shown_activations(app_module)["c1"][0]
    ty, tx = np.unravel_index(c1.argmax(), c1.shape)  # C1·0's most active unit
    layer, m, y, x = point_at(page, "c1", 0, (tx + 0.5) / 28, (ty + 0.5) / 28, click=False, tap=True)
    assert (y, x) == (ty, tx), "the unit under the finger is the one reported"
    expect(panel).to_be_visible()
    ref = expected_unit(app_module, layer, m, y, x)
    assert shown_number(page, ".unit-detail .act") == pytest.approx(ref["activation"], abs=2e-3)
    expect(page.locator(".unit-panel .rf-box")).to_be_visible()
    no_sideways_scroll(page, "Inspect, unit sheet open")
    page.screenshot(path=str(screenshots / "phone_inspect_unit.png"))
    page.locator(".unit-close").tap()
    expect(panel).to_be_hidden()
    page.locator("#inspect-pick").get_by_text("8", exact=True).tap()
    expect(page.locator("#inspect-head")).to_contain_text(re.compile(r"true label\s*8"), timeout=SLOW)
    no_sideways_scroll(page, "Inspect")


def test_the_keyboard_reaches_and_explains_any_unit(page, server_url, app_module, screenshots):
    """Tab to a map, arrow keys to a unit, Enter for its arithmetic, Escape to close it: no mouse needed."""
    open_inspect(page, server_url)
    tile = page.locator('#inspect-layers .fmap-tile[data-layer="c1"] img.unit-map[data-map="2"]')
    expect(tile).to_have_attribute("tabindex", "0")
    expect(tile).to_have_attribute("aria-label", re.compile("arrow keys"))
    page.locator('#inspect-layers .fmap-tile[data-layer="c1"] img.unit-map[data-map="1"]').focus()
    page.keyboard.press("Tab")  # from the map before: Tab lands on this one
    expect(tile).to_be_focused()
    panel = page.locator(".unit-panel")
    expect(panel).to_have_attribute("data-hover", "c1:2:0:0")
    for key in ["Shift+ArrowRight", "Shift+ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown", "Shift+ArrowDown",
                "ArrowLeft"]:
        page.keyboard.press(key)
    expect(panel).to_have_attribute("data-hover", "c1:2:6:8")
    page.keyboard.press("Enter")
    expect(panel).to_have_attribute("data-unit", "c1:2:6:8")
    expect(panel).to_have_class(re.compile("pinned"))
    ref = expected_unit(app_module, "c1", 2, 6, 8)
    assert shown_number(page, ".unit-detail .act") == pytest.approx(ref["activation"], abs=2e-3)
    page.screenshot(path=str(screenshots / "inspect_keyboard.png"), full_page=True)
    page.keyboard.press("ArrowUp")  # the explanation follows the keys once open
    expect(panel).to_have_attribute("data-unit", "c1:2:5:8")
    for _ in range(8):
        page.keyboard.press("Shift+ArrowUp")  # stops at the edge
    expect(panel).to_have_attribute("data-unit", "c1:2:0:8")
    page.keyboard.press("Escape")
    expect(panel).not_to_have_class(re.compile("pinned"))
