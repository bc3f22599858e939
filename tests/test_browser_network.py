"""In Chromium: a change of HTTP and HTTPS moves the page to the new address, where it is
confirmed and kept; unconfirmed, the old address comes back by itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support import ROOT_PASSWORD, free_port, log_in, start_served, start_set_up

pytestmark = pytest.mark.browser
CONFIRM_SECONDS = 6


@pytest.fixture
def quick(tmp_path):
    """An appliance that waits a few seconds for a confirmation."""
    server = start_set_up(tmp_path / "data", "--confirm-seconds", str(CONFIRM_SECONDS))
    yield server
    server.stop()


def change_http_port(page, port: int) -> None:
    page.fill("input[name=http_port]", str(port))
    page.click("#http-https button[type=submit]")


def test_the_page_moves_to_the_new_port_and_the_change_is_confirmed_there(quick, page):
    log_in(page, quick.url, to="/network")
    expect(page.locator("#confirm-note")).to_contain_text(f"within {CONFIRM_SECONDS} seconds")
    port = free_port()
    change_http_port(page, port)
    new = f"http://127.0.0.1:{port}"
    expect(page).to_have_url(new + "/network/confirm")
    page.click("#confirm-change")
    expect(page).to_have_url(new + "/network")
    expect(page.locator(".flash")).to_contain_text("kept")
    expect(page.locator("input[name=http_port]")).to_have_value(str(port))


def test_an_unconfirmed_change_comes_back_by_itself(quick, page):
    log_in(page, quick.url, to="/network")
    change_http_port(page, free_port())
    expect(page.locator("#confirm-change")).to_be_visible()
    expect(page.locator("#pending-change strong")).not_to_have_text(f"{CONFIRM_SECONDS} s")
    page.wait_for_timeout((CONFIRM_SECONDS + 1) * 1000)
    page.goto(quick.url + "/network")
    expect(page.locator("input[name=http_port]")).to_have_value(quick.url.rsplit(":", 1)[1])
    events = quick.call("GET", "/api/v1/events?topic=tns1:Device/Network/HttpHttps/Reverted")
    assert len(events["events"]) == 1


def test_from_https_to_http_only_the_browser_logs_in_at_the_new_address(tmp_path, browser):
    """HTTP and HTTPS keep sessions of their own: the browser logs in again at the new
    HTTP address, and confirms there. (On a LAN address a browser holding the HTTPS
    cookie could not log in over HTTP with one shared cookie name; Chromium treats
    loopback as secure, so that part is not seen here.)"""
    server = start_served(tmp_path / "data", "--confirm-seconds", "12")
    context = browser.new_context(ignore_https_errors=True)
    try:
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        server.call("POST", "/api/v1/setup", body, auth=None)
        page = context.new_page()
        log_in(page, server.https_url, to="/network")
        page.select_option("select[name=protocols]", "http")
        page.click("#http-https button[type=submit]")
        expect(page).to_have_url(server.url + "/login?next=/network/confirm")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", ROOT_PASSWORD)
        page.press("input[name=password]", "Enter")
        page.click("#confirm-change")
        expect(page.locator(".flash")).to_contain_text("kept")
        assert server.call("GET", "/api/v1/network/http-https")["protocols"] == "http"
    finally:
        context.close()
        server.stop()
