"""In Chromium, with the real NetworkManager in a namespace behind the appliance: the
switches hide the fields they make unneeded, and bad input shows its errors in sight."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support import log_in, start_set_up
from support_nm import DEVICE, FIRST_ADDRESS, NamespacedNetworkManager

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path, monkeypatch):
    """`doorctl serve` changing the namespace's device through its NetworkManager."""
    with NamespacedNetworkManager(tmp_path) as nm:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", nm.bus_address)
        server = start_set_up(tmp_path / "data", "--network-interface", DEVICE)
        yield server, nm
        server.stop()


def test_the_switches_hide_the_fields_they_make_unneeded(served, page):
    server, _nm = served
    log_in(page, server.url, to="/network")
    address = page.locator("input[name=ip_address]")
    expect(address).to_have_value(FIRST_ADDRESS)  # NetworkManager's own setting
    expect(address).to_be_visible()
    expect(page.locator("input[name=hostname]")).to_be_hidden()
    expect(page.locator("textarea[name=dns_servers]")).to_be_hidden()
    page.locator("label[for=ipv4_automatic]").click()
    expect(address).to_be_hidden()
    page.locator("label[for=dns_automatic]").click()
    expect(page.locator("textarea[name=dns_servers]")).to_be_visible()


def test_bad_input_shows_each_error_next_to_its_field_and_changes_nothing(served, page):
    server, nm = served
    log_in(page, server.url, to="/network")
    page.fill("input[name=ip_address]", "10.9.0.255")
    page.fill("input[name=router]", "10.8.0.1")
    page.locator("label[for=hostname_automatic]").click()
    page.fill("input[name=hostname]", "door_1")
    page.click("#ip-form button[type=submit]")
    expect(page.locator("[data-field=ip_address] .field-error")).to_contain_text(
        "10.9.0.1 - 10.9.0.254"
    )
    expect(page.locator("[data-field=router] .field-error")).to_contain_text("outside the subnet")
    expect(page.locator("[data-field=hostname] .field-error")).to_contain_text(
        "A-Z, a-z, 0-9 and -"
    )
    expect(page.locator("input[name=hostname]")).to_be_visible()
    assert nm.addresses() == [FIRST_ADDRESS]
