"""Kiosk display: the install's login token beside the loopback rule, the operator PIN's
throttle (longer after each run of wrong PINs, kept across a restart), the PIN's hash
off the hub, and the PIN saved with the settings in one transaction."""

from __future__ import annotations

import sqlite3

import gevent
import pytest
from test_kiosk import LOOPBACK, PIN, enable, failed_logins, kiosk_login, pin_post
from werkzeug.security import generate_password_hash

from doorctl.app import create_app
from doorctl.core.system import kiosk_token
from doorctl.core.system.kiosk import PIN_LOCK_MAX, PIN_LOCK_SECONDS, PIN_TRIES, TooManyPins


def test_a_loopback_peer_without_the_token_is_refused_and_logged(client, admin_api, doorctl):
    """Another local user, an ssh -L tunnel or a proxy on the Pi is loopback too."""
    enable(admin_api)
    kiosk_token.issue(doorctl.store.path.parent)
    for token in (None, "", "a-guess"):
        answer = kiosk_login(client, token)
        assert answer.status_code == 403
        assert "login token is missing or no longer good" in answer.get_data(as_text=True)
    assert client.get("/kiosk", environ_base=LOOPBACK).status_code == 303  # not logged in
    failed = failed_logins(doorctl)
    assert len(failed) == 3 and {e.data["address"] for e in failed} == {"127.0.0.1"}


def test_turning_the_kiosk_off_ends_the_token(client, admin_api, doorctl):
    token = kiosk_token.issue(doorctl.store.path.parent)
    enable(admin_api, theme="light")  # saved while off, then on: the token stays good
    admin_api.put("/api/v1/kiosk", json={"theme": "dark"})
    assert kiosk_login(client, token).status_code == 303
    assert admin_api.put("/api/v1/kiosk", json={"enabled": False}).status_code == 200
    enable(admin_api)
    assert kiosk_login(client, token).status_code == 403  # install again for a new one


def wrong_run(client) -> int:
    """PIN_TRIES wrong PINs: the block's seconds the last one answers."""
    for _ in range(PIN_TRIES - 1):
        assert pin_post(client, "000000").status_code == 403
    blocked = pin_post(client, "000000")
    assert blocked.status_code == 429
    return int(blocked.headers["Retry-After"])


def block_ends(doorctl) -> None:
    """The block's end comes (as the clock would bring it)."""
    doorctl.store.execute("UPDATE kiosk SET pin_blocked_until = 0")


def test_each_run_of_wrong_pins_blocks_longer(client, admin_api, doorctl, token):
    enable(admin_api, operator_actions=True, pin=PIN)
    kiosk_login(client, token)
    blocks = []
    for _ in range(8):
        blocks.append(wrong_run(client))
        block_ends(doorctl)
    assert blocks == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert blocks[0] == PIN_LOCK_SECONDS and blocks[-1] == PIN_LOCK_MAX
    assert pin_post(client, PIN).status_code == 200  # the right PIN ends the runs
    assert wrong_run(client) == PIN_LOCK_SECONDS


def test_a_block_outlasts_a_restart(client, admin_api, doorctl, token, app):
    enable(admin_api, operator_actions=True, pin=PIN)
    kiosk_login(client, token)
    wrong_run(client)
    restarted = create_app(dict(app.config)).extensions["doorctl"]  # the same data
    try:
        with pytest.raises(TooManyPins):
            restarted.kiosk.check_pin(PIN, "127.0.0.1")
    finally:
        restarted.store.close()


def test_a_four_digit_pin_set_before_keeps_working(client, admin_api, doorctl, token):
    enable(admin_api, operator_actions=True, pin=PIN)
    doorctl.store.execute("UPDATE kiosk SET pin_hash = ?", (generate_password_hash("2468"),))
    kiosk_login(client, token)
    assert pin_post(client, "2468").status_code == 200
    assert doorctl.doors[1].status()["mode"] == "unlocked"


def test_the_pin_hash_leaves_the_hub_free(admin_api, doorctl):
    """While the PIN's slow hash runs, other greenlets (requests, SSE, MQTT, the
    watchdog) go on: it runs on the users' hashing thread, not on the hub."""
    enable(admin_api, operator_actions=True, pin=PIN)
    turns = []

    def other_work():
        while True:
            turns.append(1)
            gevent.sleep(0.001)

    other = gevent.spawn(other_work)
    try:
        doorctl.kiosk.check_pin(PIN, "127.0.0.1")
        during_check = len(turns)
        doorctl.kiosk.update({"pin": "135790"})
        during_save = len(turns) - during_check
    finally:
        other.kill()
    assert during_check > 1 and during_save > 1


def test_a_failed_save_changes_no_pin(admin_api, doorctl):
    """The settings and the PIN's hash are one transaction: when the settings can't be
    written (here a trigger of the database refuses them), the PIN stays as it was."""
    enable(admin_api, operator_actions=True, pin=PIN)
    before = doorctl.store.execute("SELECT pin_hash FROM kiosk").fetchone()[0]
    doorctl.store.execute(
        "CREATE TRIGGER refuse_kiosk BEFORE UPDATE ON settings WHEN NEW.section = 'kiosk' "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.DatabaseError):
        doorctl.kiosk.update({"pin": "135790", "theme": "light"})
    doorctl.store.execute("DROP TRIGGER refuse_kiosk")
    assert doorctl.store.execute("SELECT pin_hash FROM kiosk").fetchone()[0] == before
    assert doorctl.kiosk.record()["theme"] == "dark"
