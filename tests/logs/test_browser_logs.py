"""The Logs pages in Debian's Chromium on an appliance with a history: the Access log
filtered by a name picked from the suggestions, an event's raw data opened, and both
pages holding together at phone and desktop widths with a few hundred events."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from log_seed import seed
from playwright.sync_api import expect
from support import log_in, start_set_up

pytestmark = pytest.mark.browser

LAYOUT_PROBLEMS = (Path(__file__).parents[1] / "browser_layout.js").read_text()
SIZES = ((360, 740), (1280, 800))


@pytest.fixture(scope="module")
def appliance(tmp_path_factory, browser):
    """A served appliance with cardholders and events, seeded once: the tests only read
    its logs."""
    server = start_set_up(tmp_path_factory.mktemp("history") / "data")
    try:
        context = browser.new_context()
        try:
            seeding = context.new_page()
            log_in(seeding, server.url)
            seed(seeding, server.url, cardholders=20, swipes=60)
        finally:
            context.close()
        yield server
    finally:
        server.stop()


@pytest.fixture
def history(appliance, page):
    """The seeded appliance, and a browser logged in to it."""
    log_in(page, appliance.url)
    return appliance


def test_filter_by_a_suggested_name_and_open_an_events_details(history, page):
    url = history.url
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("#menu a:text('Access log')")
    expect(page).to_have_url(url + "/logs/access")
    page.locator("#cardholder").press_sequentially("ann", delay=30)
    suggestions = page.locator("#cardholder-names option")
    expect(suggestions.first).to_be_attached()
    names = suggestions.evaluate_all("options => options.map((o) => o.value)")
    assert names and all(name.lower().startswith("ann") for name in names)
    picked = names[0]
    page.fill("#cardholder", picked)  # what choosing a suggestion does
    page.click("#access-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"cardholder=Ann"))
    holders = page.locator("#access-rows td[data-label=Cardholder]")
    expect(holders.first).to_have_text(picked)
    assert set(holders.all_inner_texts()) == {picked}
    expect(page.locator(".field-error")).to_have_count(0)
    expect(page.locator("#access-rows .chip").first).to_contain_text("Granted")

    page.click("#menu a:text('Event log')")
    expect(page).to_have_url(url + "/logs/events")
    first = page.locator("#event-rows tr").first
    raw = first.locator("pre.raw-event")
    expect(raw).to_have_count(1)
    expect(raw).to_be_hidden()
    first.locator("summary").click()
    expect(raw).to_be_visible()
    expect(raw).to_contain_text('topic: "tns1:')

    page.fill("#since", "2026-01-01T08:00")
    page.select_option("#kind", "doors")
    page.click("#event-filters button[type=submit]")
    expect(page.locator("#event-rows tr").first).to_contain_text("Doors")


@pytest.mark.parametrize("path", ["/logs/events", "/logs/access"])
def test_the_logs_pages_fit_a_phone_and_a_desktop(history, page, path):
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(history.url + path)
        expect(page.locator("tbody tr").first).to_be_visible()
        page.locator("tbody tr summary").first.click()
        page.evaluate("window.scrollTo(0, 0)")  # the bar stays on top of what scrolls under it
        for theme in ("light", "dark"):
            page.evaluate("theme => { document.documentElement.dataset.theme = theme; }", theme)
            problems = page.evaluate(LAYOUT_PROBLEMS)
            assert problems == [], f"{path} at {width} px, {theme}: {problems}"
