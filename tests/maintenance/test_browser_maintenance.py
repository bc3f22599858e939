"""In Chromium: the Maintenance page restarts the appliance and comes back by itself,
and a factory default asks in the confirmation dialog, then leads to the first-visit
setup."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support import log_in, start_set_up

pytestmark = pytest.mark.browser
BACK = 30_000  # ms: a served start takes a few seconds on a busy machine


def test_restart_and_factory_default_from_the_page(tmp_path, page):
    server = start_set_up(tmp_path / "data")
    blocked: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    try:
        log_in(page, server.url)
        page.goto(server.url + "/maintenance")
        page.click("#restart-button")
        expect(page.locator("#restarting-state")).to_have_text("Restarting…", timeout=BACK)
        expect(page.locator("#maintenance-restart")).to_be_visible(timeout=BACK)
        expect(page).to_have_url(server.url + "/maintenance")

        page.fill("#confirmation", "default")
        page.click("#factory-default-button")
        expect(page.locator("#confirm-dialog")).to_be_visible()
        page.click("#confirm-ok")  # the restarting card shows until the device answers
        expect(page).to_have_url(server.url + "/setup", timeout=BACK)
        expect(page.locator("input[name=password_repeat]")).to_be_visible()
        assert blocked == []
    finally:
        server.stop()
