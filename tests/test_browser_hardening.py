"""In Chromium, under the strict Content-Security-Policy: the pages keep their behaviour
and their look, and the browser reports no blocked script or style."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support import ROOT_PASSWORD

pytestmark = pytest.mark.browser
INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.ran = true";
  document.head.append(script);
  return window.ran === true;
}"""
PAGES = (
    "/status",
    "/doors",
    "/access/schedules",
    "/mqtt/client",
    "/users",
    "/network",
    "/simulator",
    "/help",
)


@pytest.fixture
def admin(served, page):
    """root logged in; the page collects what the browser says about the policy."""
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", body, auth=None)
    week = [{"days": ["mon", "tue"], "start": "06:00", "end": "18:00"}]
    served.call("POST", "/api/v1/schedules", {"name": "Office", "intervals": week})
    page.blocked = []
    page.on(
        "console", lambda m: "Content Security Policy" in m.text and page.blocked.append(m.text)
    )
    page.goto(served.url + "/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", ROOT_PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(served.url + "/status")
    return page


def test_no_page_breaks_the_policy(served, admin):
    admin.click("#theme-toggle")
    for path in (*PAGES, "/help/api"):
        admin.goto(served.url + path)
        admin.wait_for_load_state("networkidle")
    assert admin.blocked == []
    admin.goto(served.url + "/status")
    assert admin.evaluate(INJECT) is False
    assert admin.blocked  # the policy is in force: an injected inline script is refused


def test_pages_keep_their_style(served, admin):
    admin.goto(served.url + "/users")
    button = admin.locator("#session-settings button[type=submit]")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") != "rgba(0, 0, 0, 0)"
    menu = admin.locator("#menu")
    assert menu.evaluate("m => getComputedStyle(m).display") == "block"


def test_the_schedule_week_is_drawn(served, admin):
    admin.goto(served.url + "/access/schedules")
    block = admin.locator(".week .block").first
    expect(block).to_be_visible()
    assert block.evaluate("b => b.style.left") == "25%"  # 06:00
    assert block.evaluate("b => b.style.width") == "50%"  # 12 hours


def test_the_mqtt_protocol_brings_its_port(served, admin):
    admin.goto(served.url + "/mqtt/client")
    port = admin.locator("input[name=port]")
    expect(admin.locator("#mqtt-alpn")).to_be_hidden()
    expect(admin.locator("select[name=ca_certificate]")).to_be_hidden()
    admin.select_option("#mqtt-protocol", "ssl")
    expect(port).to_have_value("8883")
    expect(admin.locator("#mqtt-alpn")).to_be_visible()
    expect(admin.locator("select[name=client_certificate]")).to_be_visible()
    admin.select_option("#mqtt-protocol", "ws")
    expect(port).to_have_value("80")
    expect(admin.locator("#mqtt-alpn")).to_be_hidden()
    port.fill("9001")
    admin.select_option("#mqtt-protocol", "tcp")
    expect(port).to_have_value("9001")  # a port typed by hand stays
