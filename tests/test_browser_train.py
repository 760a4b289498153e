"""The Train tab in headless Chromium: watching it learn, the snapshot slider, the confusion drill-down into
Inspect, Train/Stop states, the queue as a second visitor sees it, and a reload mid-run.

Runs use the bundled MNIST sample (the test server is offline). Screenshots go to artifacts/screenshots/.
"""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from helpers import ONE, SLOW, draw_with_mouse, expect_reading, open_app, wait_for_curve

pytestmark = pytest.mark.browser

RUN_END = 120_000  # ms: a stopped run finishes its step, then its test figures are computed


def open_train(page: Page, url: str, epochs: int | None = None) -> None:
    open_app(page, url)
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-btn")).to_be_visible(timeout=SLOW)
    if epochs is not None:
        # the dataset's suggested epochs can arrive just after the page shows (a change event on a busy machine)
        # and overwrite what was typed: type again until the slider holds it
        box, slider = page.locator('#epochs input[type="number"]'), page.locator('#epochs input[type="range"]')
        for _ in range(3):
            box.fill(str(epochs))
            box.press("Enter")
            page.wait_for_timeout(300)
            if slider.input_value() == str(epochs):
                break
        expect(slider).to_have_value(str(epochs))


def watch_when(page: Page) -> str:
    return page.locator("#watch .watch-when").inner_text()


def stop_and_wait(page: Page) -> None:
    page.locator("#stop-btn").click()
    expect(page.locator("#train-results")).to_contain_text(re.compile(r"Stopped|Finished|failed"), timeout=RUN_END)
    expect(page.locator("#train-btn")).to_be_enabled(timeout=SLOW)


def test_watch_it_learn_then_scrub_and_drill_down(page, server_url, screenshots):
    open_train(page, server_url, epochs=20)
    # Small batches: an epoch of the sample lasts longer than the first model update (0.25 s) even on a quiet
    # machine, so the first snapshot falls inside epoch 1, before the first test evaluation (checked below).
    page.locator('#batch-size input').fill("32")
    page.locator('#batch-size input').press("Enter")
    train, stop = page.locator("#train-btn"), page.locator("#stop-btn")
    expect(train).to_be_enabled()
    expect(stop).to_be_disabled()  # nothing to stop yet
    train.click()
    expect(train).to_be_disabled(timeout=SLOW)
    expect(stop).to_be_enabled()

    # While it trains: the pinned test digit is read again and the kernels redrawn at each model update ...
    watch = page.locator("#watch")
    expect(watch.locator(".watch-when")).to_contain_text(re.compile(r"epoch \d"), timeout=SLOW)
    expect(watch.locator('.fmap-tile[data-layer="k1"] img')).to_have_count(6)
    expect(watch.locator(".pbar-row")).to_have_count(10)
    first = watch_when(page)
    page.wait_for_function("before => document.querySelector('#watch .watch-when').innerText !== before",
                           arg=first, timeout=SLOW)
    # ... and the confusion matrix appears at the first test evaluation, then changes at the next.
    table = page.locator("#confusion table.confusion")
    expect(table).to_be_visible(timeout=SLOW)
    expect(table.locator("caption")).to_contain_text(re.compile(r"epoch \d+: \d+\.\d+% read right"))
    page.wait_for_function(
        "before => document.querySelector('#confusion caption').innerText !== before",
        arg=table.locator("caption").inner_text(), timeout=SLOW)
    wait_for_curve(page)
    page.screenshot(path=str(screenshots / "train_watch.png"), full_page=True)

    stop_and_wait(page)
    expect(stop).to_be_disabled()
    expect(table.locator("caption")).to_contain_text("final model")

    # After the run: a slider scrubs back through the snapshots, in epochs, marking the moment on the curves.
    slider = page.locator('#snap-slider input[type="range"]')
    expect(slider).to_be_visible()
    last = float(slider.get_attribute("max"))
    assert last >= 1, f"the slider ends at epoch {last} after a run of several epochs"
    expect(watch.locator(".watch-when")).to_have_text("final model")
    slider.focus()
    slider.press("Home")
    expect(watch.locator(".watch-when")).to_contain_text(re.compile(r"^epoch 0\.\d+"), timeout=SLOW)
    for chart in ("#loss-plot", "#error-plot"):
        expect(page.locator(f"{chart} .marker text")).to_contain_text(re.compile(r"epoch 0\.\d+"), timeout=SLOW)
    # the confusion matrix of that moment: none yet, before the first test evaluation
    expect(page.locator("#confusion")).to_contain_text("first test evaluation", timeout=SLOW)
    page.screenshot(path=str(screenshots / "train_scrubbed.png"), full_page=True)
    slider.press("End")
    try:
        expect(watch.locator(".watch-when")).to_have_text("final model", timeout=SLOW)
    except AssertionError as e:  # failed once in ~30 full runs on a loaded machine: say where the slider was
        number = page.locator('#snap-slider input[type="number"]').input_value()
        raise AssertionError(f"{e}\nslider at {slider.input_value()} of {last}, its number box {number}") from None

    # A mistake cell lists exactly its images ...
    cell = table.locator("td.wrong[data-cell]").first
    expect(cell).to_be_visible()
    true, read = cell.get_attribute("data-cell").split(",")
    count = int(cell.inner_text())
    cell.click()
    caption = page.locator("#drill-caption")
    expect(caption).to_contain_text(re.compile(rf"{count} test images? of a {true} read as {read}"), timeout=SLOW)
    items = page.locator("#wrong .thumbnail-item")
    expect(items).to_have_count(min(count, 40), timeout=SLOW)
    expect(table.locator("td.selected")).to_have_attribute("data-cell", f"{true},{read}")
    page.screenshot(path=str(screenshots / "train_drilldown.png"), full_page=True)

    # ... and in dark mode the table is no bright white block: its cells are translucent tints.
    page.evaluate("() => document.body.classList.add('dark')")
    backgrounds = table.locator("td").evaluate_all("tds => tds.map(t => getComputedStyle(t).backgroundColor)")
    assert not any(re.fullmatch(r"rgba?\(2[45]\d, 2[45]\d, 2[45]\d(, 1)?\)", b) for b in backgrounds), backgrounds[:12]
    text = table.evaluate("t => getComputedStyle(t.querySelector('td:not(.strong)')).color")
    assert sum(map(int, re.findall(r"\d+", text)[:3])) > 400, f"dark mode text should be light, got {text}"
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "train_dark_confusion.png"), animations="disabled")  # colours settled
    page.evaluate("() => document.body.classList.remove('dark')")

    # Clicking an image opens it in Inspect, which reads that very image.
    first_index = re.search(r"#(\d+)", items.first.get_attribute("aria-label") or items.first.inner_text())
    items.first.click()
    expect(page.get_by_role("tab", name="Inspect")).to_have_attribute("aria-selected", "true", timeout=SLOW)
    head = page.locator("#inspect-head")
    expect(head).to_contain_text("from your run", timeout=SLOW)
    if first_index:
        expect(head).to_contain_text(f"test image #{first_index.group(1)}")
    page.screenshot(path=str(screenshots / "train_open_in_inspect.png"), full_page=True)


def queue_estimate(page: Page) -> float | None:
    """The waiting page's "N runs ahead · starts in about M s" estimate, in seconds (None: not waiting)."""
    text = page.locator("#train-status").inner_text()
    m = re.search(r"(\d+) runs? ahead · (?:starts in about (?:(\d+) min )?(\d+) s|starts any moment now)", text)
    if not m:
        return None
    return 0.0 if m.group(3) is None else 60 * int(m.group(2) or 0) + int(m.group(3))


def test_a_second_visitor_is_told_the_runs_ahead_and_when_theirs_starts(chromium, server_url, screenshots):
    """Two visitors: the second presses Train during the first's run. Its page says "1 run ahead" and when its run
    should start; that estimate is within ±50% of the wait that follows, and the page says when the run starts."""
    first = chromium.new_context(viewport={"width": 1280, "height": 900})
    second = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        a, b = first.new_page(), second.new_page()
        # The longest run the tab allows: ~8 s on the bundled sample on a quiet 2-core machine, minutes on a busy one
        open_train(a, server_url, epochs=30)
        open_train(b, server_url, epochs=1)
        a.locator("#train-btn").click()
        # the first run has measured its own pace (an epoch done), and has most of its way to go
        expect(a.locator("#train-status")).to_contain_text(re.compile(r"Training · epoch ([2-9]|1\d)/30"),
                                                           timeout=SLOW)

        b.locator("#train-btn").click()
        status = b.locator("#train-status")
        expect(status).to_contain_text("1 run ahead", timeout=SLOW)
        told_at = time.monotonic()
        estimate = queue_estimate(b)
        assert estimate is not None, status.inner_text()
        expect(b.locator("#train-btn")).to_be_disabled()
        expect(b.locator("#stop-btn")).to_be_enabled()  # leaving the queue is allowed
        b.screenshot(path=str(screenshots / "train_queued.png"), full_page=True)
        # the estimate is updated as the run ahead goes (a new number within a few seconds)
        b.wait_for_function("""before => {
            const t = document.querySelector('#train-status').innerText;
            return !t.includes('run ahead') || !t.includes(before); }""", arg=status.inner_text().splitlines()[0],
                            timeout=10_000)

        started = b.locator("#train-queue")
        expect(started).to_contain_text("Your run has started", timeout=RUN_END + 3_000 * estimate)
        waited = time.monotonic() - told_at
        expect(a.locator("#train-status")).to_contain_text("Done", timeout=SLOW)  # the first run ended first
        print(f"queue estimate: told {estimate:.0f} s, waited {waited:.1f} s")  # shown with pytest -s
        assert abs(estimate - waited) <= 0.5 * waited, f"told {estimate:.0f} s, waited {waited:.1f} s"
        expect(status).to_contain_text("Done", timeout=RUN_END)  # its one epoch ran
        expect(b.locator("#train-btn")).to_be_enabled(timeout=SLOW)
    finally:
        first.close()
        second.close()


def test_stop_and_closing_the_page_leave_the_queue(chromium, server_url):
    """A visitor who stops while queued, or closes the page, gives the place up: the one behind moves up."""
    from ui.train import QUEUE

    contexts = [chromium.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    try:
        a, b, c = (ctx.new_page() for ctx in contexts)
        for p in (a, b, c):
            open_train(p, server_url, epochs=30)
        a.locator("#train-btn").click()
        expect(a.locator("#train-status")).to_contain_text(re.compile(r"Training · epoch"), timeout=SLOW)
        b.locator("#train-btn").click()
        expect(b.locator("#train-status")).to_contain_text("1 run ahead", timeout=SLOW)
        c.locator("#train-btn").click()
        expect(c.locator("#train-status")).to_contain_text("2 runs ahead", timeout=SLOW)
        assert QUEUE.counts() == (1, 2)

        b.locator("#stop-btn").click()
        expect(b.locator("#train-status")).to_contain_text("Stopped before it started", timeout=SLOW)
        expect(b.locator("#train-btn")).to_be_enabled(timeout=SLOW)
        expect(c.locator("#train-status")).to_contain_text("1 run ahead", timeout=SLOW)

        c.close()  # the page goes away while queued
        deadline = time.monotonic() + 30
        while QUEUE.counts() != (1, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert QUEUE.counts() == (1, 0), "a closed page kept its place in the queue"
        stop_and_wait(a)
    finally:
        for ctx in contexts:
            ctx.close()


def test_a_reload_mid_run_says_the_run_stopped(page, server_url):
    open_train(page, server_url, epochs=30)
    note = page.locator("#reload-note")
    expect(note).to_have_text("")
    page.locator("#train-btn").click()
    expect(page.locator("#train-status")).to_contain_text(re.compile(r"Training · epoch"), timeout=SLOW)
    page.reload()
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#reload-note")).to_contain_text("stopped when the page was reloaded", timeout=SLOW)
    # The reloaded page is a new visitor with the training slot free: the old run really ended.
    page.locator("#train-btn").click()
    expect(page.locator("#train-status")).to_contain_text(re.compile(r"Training · epoch"), timeout=RUN_END)
    expect(page.locator("#reload-note")).to_have_text("")  # said once, not forever
    stop_and_wait(page)


def test_bad_settings_are_said_once_in_words_and_leave_buttons_ready(page, server_url):
    """A learning rate of 1e9: the reason in the status line, in the number as typed, once (no toast repeating it),
    and no "Error" badge left on any panel."""
    open_train(page, server_url)
    lr = page.locator("#lr input")
    lr.fill("1e9")
    lr.press("Enter")
    page.locator("#train-btn").click()
    status = page.locator("#train-status")
    expect(status).to_contain_text("did not complete", timeout=SLOW)
    expect(status).to_contain_text("learning rate must be above 0 and at most 10 (you entered 1e+09)")
    expect(status).not_to_contain_text("1000000000")
    expect(page.locator("#train-btn")).to_be_enabled()
    expect(page.locator("#stop-btn")).to_be_disabled()
    page.wait_for_timeout(1500)  # a toast would be up by now
    expect(page.locator(".toast-body")).to_have_count(0)
    # Gradio draws an "Error" badge in a component's status tracker: none is left
    for where in ("#train-status", "#train-queue", "#loss-plot", "#error-plot", "#watch", "#confusion"):
        expect(page.locator(f'{where} [data-testid="status-tracker"]')).not_to_contain_text("Error")
    expect(status).not_to_contain_text(re.compile(r"^\s*Error"))
    # an emptied batch size is "empty", not "got None"
    batch = page.locator("#batch-size input")
    batch.fill("")
    lr.fill("0.01")
    lr.press("Enter")
    page.locator("#train-btn").click()
    expect(status).to_contain_text("batch size is empty", timeout=SLOW)
    expect(status).not_to_contain_text("None")


def test_watching_the_visitors_own_drawing(page, server_url):
    open_app(page, server_url)
    draw_with_mouse(page, ONE)
    expect_reading(page, "1")
    page.get_by_role("tab", name="Train").click()
    page.locator("#watch-what").get_by_text("my drawing").click()
    page.locator("#train-btn").click()
    watch = page.locator("#watch")
    expect(watch.locator(".watch-digit figcaption")).to_contain_text("your drawing", timeout=SLOW)
    expect(watch.locator(".pbar-row")).to_have_count(10)
    stop_and_wait(page)
    expect(watch.locator(".watch-digit figcaption")).to_contain_text(re.compile(r"reads\s*\d"))


def test_picking_the_1998_network_sets_its_own_learning_rate(page, server_url):
    open_train(page, server_url)
    lr = page.locator("#lr input")
    expect(lr).to_have_value("0.01")
    page.locator("#arch input").click()
    page.get_by_role("option", name="LeNet-5 (1998)", exact=True).click()
    expect(lr).to_have_value("0.002", timeout=SLOW)  # recipes/default.toml [arch.lenet5-1998]
    page.locator("#arch input").click()
    page.get_by_role("option", name="LeNet-5", exact=True).click()
    expect(lr).to_have_value("0.01", timeout=SLOW)


def test_the_not_a_digit_and_continental_1_boxes_reach_the_downloaded_model(page, server_url):
    """Tick "Also learn what is not a digit" and, under More settings, "Also learn the continental 1"; train;
    the model the visitor downloads was trained with both and has its "not a digit" output."""
    from lenet.net.checkpoint import load_checkpoint
    from lenet.sources.mix import SOURCES

    open_train(page, server_url, epochs=1)
    page.get_by_label("Also learn what is not a digit").check()
    page.get_by_text("More settings").click()
    page.get_by_label("Also learn the continental 1").check()
    page.locator("#train-btn").click()
    expect(page.locator("#train-results")).to_contain_text("Finished", timeout=RUN_END)
    with page.expect_download() as download:
        page.locator("#download").click()
    model, meta = load_checkpoint(download.value.path())
    assert dict(meta["settings"]["mix"]) == {name: SOURCES[name].default for name in ("styles", "negatives")}
    assert model.config.reject_class and model.config.num_classes == 10
