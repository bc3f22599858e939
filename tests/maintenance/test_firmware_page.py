"""Maintenance > Firmware page and API in the app (no supervisor): what it shows, who
may open it, and the event sentences of each phase of an upgrade."""

from __future__ import annotations

import time

import pytest
from support import ApiClient, basic, csrf_token, make_user

from doorctl import __version__
from doorctl.blueprints.logs.sentences import sentence
from doorctl.core.events import Event
from doorctl.core.maintenance import firmware as fw


@pytest.fixture
def firmware_dir(app):
    return fw.default_dir(app.config["DATA_DIR"])


def test_the_page_shows_the_running_version_and_why_it_cannot_upgrade_unsupervised(logged_in):
    page = logged_in.get("/maintenance/firmware").get_data(as_text=True)
    assert f'id="firmware-version">{__version__}<' in page
    assert "None on this unit" in page
    assert 'id="firmware-unsupervised"' in page
    assert 'id="firmware-rollback"' not in page
    assert 'href="/maintenance/firmware"' in page  # in the menu, under Maintenance


def test_the_page_shows_a_failed_upgrade_with_its_reason_and_offers_rollback(
    logged_in, firmware_dir
):
    fw.write_state(
        firmware_dir,
        {
            "active": {"version": "2.0.0", "env": "envs/2.0.0"},
            "previous": {"version": "1.9.0", "env": None, "db": "db/1.9.0.sqlite3"},
            "last": {
                "phase": "failed",
                "version": "2.1.0",
                "from_version": "2.0.0",
                "time": time.time(),
                "reason": "not_healthy",
                "seconds": 60.0,
            },
        },
    )
    page = logged_in.get("/maintenance/firmware").get_data(as_text=True)
    assert "did not report healthy within 60 seconds" in page
    assert 'id="firmware-rollback"' in page and "changes made since then" in page
    assert fw.last_upgrade_failed(firmware_dir)


def test_rollback_needs_a_previous_version_and_the_supervisor(admin_api, firmware_dir):
    answer = admin_api.post("/api/v1/firmware/rollback", json={})
    assert answer.status_code == 409
    assert "no previous version" in answer.json["error"]
    status = admin_api.get("/api/v1/firmware").json
    assert status["version"] == __version__ and status["supervised"] is False
    assert status["previous_version"] is None and status["last"] is None
    previous = {"version": "0.0.9", "env": None, "db": "db/0.0.9.sqlite3"}
    fw.write_state(firmware_dir, {"previous": previous})
    state = (firmware_dir / fw.STATE_NAME).read_bytes()
    answer = admin_api.post("/api/v1/firmware/rollback", json={})
    assert answer.status_code == 409 and "supervisor" in answer.json["error"]
    assert (firmware_dir / fw.STATE_NAME).read_bytes() == state


def test_only_administrators_reach_firmware(client, doorctl, root):
    operator = ApiClient(client, basic(*make_user(doorctl, "operator")))
    assert operator.get("/api/v1/firmware").status_code == 403
    assert operator.post("/api/v1/firmware/rollback", json={}).status_code == 403


def test_device_info_links_to_the_upgrade_for_administrators(logged_in):
    device = logged_in.get("/status/device").get_data(as_text=True)
    assert 'id="device-upgrade"' in device and "/maintenance/firmware" in device


def test_operators_get_no_upgrade_link(client, doorctl, root):
    user, password = make_user(doorctl, "operator")
    login = {"username": user, "password": password, "csrf_token": csrf_token(client)}
    assert client.post("/login", data=login).status_code == 303
    device = client.get("/status/device")
    assert device.status_code == 200
    assert 'id="device-upgrade"' not in device.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"phase": "receiving", "from_version": "1.0"}, "receiving a bundle"),
        ({"phase": "verifying", "from_version": "1.0"}, "signature"),
        ({"phase": "installing", "version": "1.1", "from_version": "1.0"}, "installing"),
        ({"phase": "switching", "version": "1.1", "from_version": "1.0"}, "from 1.0 to 1.1"),
        ({"phase": "healthy", "version": "1.1", "from_version": "1.0"}, "upgraded from 1.0"),
        ({"phase": "rolled_back", "version": "1.0", "from_version": "1.1"}, "rolled back"),
        (
            {"phase": "failed", "version": "1.1", "from_version": "1.0", "reason": "exited"},
            "1.0 runs again",
        ),
        (
            {"phase": "failed", "from_version": "1.0", "reason": "refused", "detail": "Bad."},
            "refused: Bad.",
        ),
    ],
)
def test_each_phase_reads_as_a_sentence(app, data, said):
    event = Event(1, time.time(), fw.TOPIC, {}, data)
    with app.test_request_context():
        assert said in sentence(event)
