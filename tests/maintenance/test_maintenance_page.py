"""The Maintenance page: its three cards, what it says a restore keeps, its refusals."""

from __future__ import annotations

import re

import pytest
from mqtt_helpers import wait_until
from support import basic, csrf_token, make_user

from doorctl.core.maintenance.leds import FIRMWARE_TOPIC


def test_the_page_has_its_three_cards_and_says_what_a_restore_keeps(logged_in):
    page = logged_in.get("/maintenance").get_data(as_text=True)
    for card in ("maintenance-restart", "maintenance-restore", "maintenance-factory-default"):
        assert f'id="{card}"' in page
    kept = re.search(r'<ul id="restore-kept">(.*?)</ul>', page, re.S).group(1)
    assert "HTTP and HTTPS" in kept and "Users and their passwords" in kept
    assert 'href="/maintenance"' in page  # in the menu, under Maintenance
    assert "restart-device" not in page  # the whole device only where systemd runs


def test_the_page_refuses_a_wrong_confirmation_next_to_the_field(logged_in, doorctl):
    token = csrf_token(logged_in, "/maintenance")
    form = {"csrf_token": token, "confirmation": "defualt"}
    answer = logged_in.post("/maintenance/factory-default", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="confirmation-error"' in page and "Type “default” to confirm" in page
    assert 'value="defualt"' in page  # what was typed stays
    assert doorctl.maintenance.pending is None


def test_a_test_app_says_it_cannot_restart(logged_in, doorctl):
    """Only `doorctl serve` can start doorctl again; an app on its own says so."""
    token = csrf_token(logged_in, "/maintenance")
    answer = logged_in.post("/maintenance/restart", data={"csrf_token": token})
    assert answer.status_code == 409
    assert "doorctl serve" in answer.get_data(as_text=True)
    assert doorctl.users.count() == 1


def test_only_administrators_open_the_page_or_call_the_api(client, doorctl, root):
    for role in ("viewer", "operator"):
        headers = basic(*make_user(doorctl, role))
        assert client.get("/api/v1/maintenance", headers=headers).status_code == 403
        answer = client.post("/api/v1/maintenance/restart", json={}, headers=headers)
        assert answer.status_code == 403
    assert client.get("/api/v1/maintenance", headers=basic(*root)).json == {
        "can_restart": False,
        "device_restart": False,
        "pending": None,
        "restore_keeps": ["https", "network_ip", "ieee8021x"],
    }


@pytest.mark.engine_apart
def test_an_upgrade_published_in_the_web_process_flashes_the_engines_power_led(doorctl):
    """The firmware upgrade runs in the web process; the board is the engine's."""
    leds = lambda: doorctl.simulator.snapshot()["leds"]  # noqa: E731
    assert leds() == {"status": "green", "power": "green", "relay": "off"}
    doorctl.bus.publish(FIRMWARE_TOPIC, {}, {"phase": "installing", "version": "2.0"})
    wait_until(lambda: leds()["power"] == "amber", what="the power LED's amber half")
    doorctl.bus.publish(FIRMWARE_TOPIC, {}, {"phase": "failed", "version": "2.0"})
    wait_until(lambda: leds()["status"] == "red", what="the status LED's red flash")
    assert leds()["power"] == "green"
