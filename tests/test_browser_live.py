"""In Chromium: a live page keeps up without polling, and after the appliance restarts
it reconnects and shows the state as it is now."""

from __future__ import annotations

import pytest
from support import free_port, log_in, start_served, start_set_up

pytestmark = pytest.mark.browser


def test_doors_page_reconnects_after_a_restart(browser, tmp_path):
    from playwright.sync_api import expect

    port = str(free_port())
    server = start_set_up(tmp_path / "data", "--port", port)
    context = browser.new_context()
    page = context.new_page()
    polls = []
    try:
        log_in(page, server.url)
        page.goto(server.url + "/doors")
        page.on("request", lambda request: polls.append(request.url))
        mode = page.locator("#door-1-mode")
        server.call("POST", "/api/v1/doors/1/unlock")
        expect(mode).to_have_attribute("data-value", "unlocked")
        server.stop()
        server = start_served(tmp_path / "data", "--port", port)
        # Changed while no browser listened: the new stream sends the card as it is.
        server.call("POST", "/api/v1/doors/1/lockdown")
        expect(mode).to_have_attribute("data-value", "locked_down", timeout=20_000)
        expect(page.locator("#door-1-action-access")).to_be_disabled()
        assert [url for url in polls if "/live" not in url] == []  # nothing else was asked
    finally:
        context.close()
        server.stop()
