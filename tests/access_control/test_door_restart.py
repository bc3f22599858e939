"""Door safety across restarts: a held mode survives a kill or a power cut.

The appliance runs as a real `doorctl serve` child; SIGKILL stands in for a power
cut, because nothing is flushed or closed on the way down.
"""

from __future__ import annotations

import contextlib
import http.client
import sqlite3
import threading
import time
import urllib.error

import gevent
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support_door import ACCESS_TIME, DENIED_BY_MODE, ServedDoor, relay_locks

from doorctl.core.access_control.door_modes import ACTIONS, RESTORED
from doorctl.core.store import DB_NAME

ALL_DAY = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00"}
EVERY_DAY = {"name": "Always open", "intervals": [{**ALL_DAY, "end": "24:00"}]}


@pytest.fixture(scope="module")
def door_process(tmp_path_factory):
    """One served appliance for the module's kills and restarts."""
    door = ServedDoor(tmp_path_factory.mktemp("restart") / "data")
    yield door
    door.close()


def _restart_in(door_process: ServedDoor, action: str) -> dict:
    """Return the door to normal, give it `action`, kill, restart; the door after it."""
    assert door_process.command("release")[0] == 200
    status, answer = door_process.command(action)
    assert status == 200, answer
    door_process.restart()
    return door_process.door()


@pytest.mark.parametrize(
    ("action", "mode"),
    [
        ("lockdown", "locked_down"),
        ("block", "blocked"),
        ("unlock", "unlocked"),
        ("lockopen", "locked_open"),
    ],
)
def test_a_held_mode_is_back_after_a_kill_and_its_card_rule_holds(door_process, action, mode):
    door = _restart_in(door_process, action)
    assert door["mode"] == mode
    assert relay_locks(door) == (door["lock"] == "locked")
    assert door_process.present_card() == DENIED_BY_MODE.get(mode, "granted")


def test_after_a_kill_in_lockdown_other_commands_are_still_refused(door_process):
    _restart_in(door_process, "lockdown")
    status, answer = door_process.command("unlock")
    assert status == 409 and "locked down" in answer["error"]
    assert door_process.door()["relay"] is False


def test_lockdown_survives_a_kill_with_a_fail_safe_lock(door_process):
    door_process.call("PUT", "/api/v1/doors/1/settings", {"lock_type": "fail_safe"})
    try:
        door = _restart_in(door_process, "lockdown")
        assert (door["mode"], door["relay"]) == ("locked_down", True)  # energised: locked
        assert door_process.present_card() == "door_locked_down"
    finally:
        door_process.call("PUT", "/api/v1/doors/1/settings", {"lock_type": "fail_secure"})


def test_a_momentary_access_is_not_given_back_after_a_kill(door_process):
    door_process.call("PUT", "/api/v1/doors/1/settings", {"access_time": 15})
    try:
        door = _restart_in(door_process, "access")
    finally:
        door_process.call("PUT", "/api/v1/doors/1/settings", {"access_time": ACCESS_TIME})
    assert (door["mode"], door["lock"], door["relay"]) == ("locked", "locked", False)


def test_the_event_log_says_the_mode_was_restored_after_a_restart(door_process):
    _restart_in(door_process, "lockdown")
    event = door_process.newest("tns1:Door/State/DoorMode")
    assert event["data"]["state"] == "LockedDown"
    assert event["data"]["cause"] == {"reason": RESTORED}
    assert event["source"]["door"] == 1


def test_a_first_start_restores_nothing(tmp_path):
    door_process = ServedDoor(tmp_path / "data")
    try:
        event = door_process.wait_for_newer("tns1:Door/State/DoorMode", None)
        assert event["data"]["cause"] == {"reason": "start"}
    finally:
        door_process.close()


def test_locked_during_a_scheduled_unlock_stays_locked_after_a_kill(tmp_path):
    door_process = ServedDoor(tmp_path / "data")
    try:
        schedule = door_process.call("POST", "/api/v1/schedules", EVERY_DAY)
        door_process.call("PUT", "/api/v1/doors/1/settings", {"unlock_schedule_id": schedule["id"]})
        door = _door_in(door_process, "unlocked")
        assert (door["mode"], door["scheduled_unlock"]) == ("unlocked", True)
        assert door_process.command("lock")[1]["mode"] == "locked"
        door_process.restart()
        door = door_process.door()
        assert (door["mode"], door["relay"], door["scheduled_unlock"]) == ("locked", False, True)
    finally:
        door_process.close()


def _door_in(door_process: ServedDoor, mode: str, timeout: float = 5) -> dict:
    """The door once the scheduled unlock's once-a-second check put it in `mode`."""
    deadline = time.monotonic() + timeout
    while (door := door_process.door())["mode"] != mode and time.monotonic() < deadline:
        time.sleep(0.05)
    return door


# --- property: a kill at any point leaves the last acknowledged mode ------------------

Held = tuple[str, str | None]  # (base mode, override)
CONFLICTS = {
    "locked_down": {"access", "lock", "unlock", "block", "lockopen"},
    "locked_open": {"lock", "unlock", "block"},
}
BASE = {"lock": "locked", "unlock": "unlocked", "block": "blocked"}
OVERRIDE = {"lockdown": "locked_down", "lockopen": "locked_open"}


def _after(held: Held, action: str) -> tuple[Held, bool]:
    """The held mode after `action`, and whether the door refuses it (409)."""
    base, override = held
    if action in CONFLICTS.get(override, ()):
        return held, True
    if action == "release":
        return ("locked", None), False
    return (BASE.get(action, base), OVERRIDE.get(action, override)), False


def _mode(held: Held) -> str:
    return held[1] or held[0]


def _acknowledged(door_process: ServedDoor, held: Held, action: str) -> Held:
    """Run an action to its answer; check the answer against the model."""
    status, answer = door_process.command(action)
    after, refused = _after(held, action)
    assert status == (409 if refused else 200), (held, action, answer)
    if action != "access" and not refused:
        assert answer["mode"] == _mode(after), (held, action, answer)
    return after


def _killed_during(door_process: ServedDoor, held: Held, action: str, delay: float) -> set:
    """Kill the appliance `delay` seconds into an action; the held modes it may leave."""
    answer = {}

    def send():
        # killed before it answered: the action may or may not have been stored
        with contextlib.suppress(OSError, http.client.HTTPException, urllib.error.URLError):
            answer["status"] = door_process.command(action)[0]

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(delay)
    door_process.kill()
    sender.join(10)
    after, _ = _after(held, action)
    event("killed before the answer" if "status" not in answer else "answered, then killed")
    if "status" in answer:
        return {after if answer["status"] == 200 else held}
    return {held, after}


@pytest.fixture(scope="module")
def model():
    """The held mode the served door should have; it carries over between examples."""
    return {}


def _known_held(door_process: ServedDoor, model: dict) -> Held:
    """The held mode the last example left, or Locked after a release when it failed."""
    held = model.pop("held", None)
    if held is None:
        if door_process.served.process.poll() is not None:
            door_process.restart()
        assert door_process.command("release")[0] == 200
        held = ("locked", None)
    return held


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    actions=st.lists(st.sampled_from(ACTIONS), max_size=8),
    in_flight=st.none() | st.sampled_from(ACTIONS),
    delay=st.floats(0, 0.008),
    lock_type=st.sampled_from(["fail_secure", "fail_safe"]),
)
def test_after_a_kill_at_any_point_the_door_has_its_last_acknowledged_mode(
    door_process, model, actions, in_flight, delay, lock_type
):
    """`actions` are answered, then the kill comes between two commands or `delay`
    seconds into the `in_flight` one."""
    held = _known_held(door_process, model)
    door_process.call("PUT", "/api/v1/doors/1/settings", {"lock_type": lock_type})
    for action in actions:
        held = _acknowledged(door_process, held, action)
    possible = {held}
    if in_flight is not None:
        possible = _killed_during(door_process, held, in_flight, delay)
    door_process.restart()
    door = door_process.door()
    by_mode = {_mode(h): h for h in possible}
    assert door["mode"] in by_mode, (possible, door)
    assert relay_locks(door) == (door["lock"] == "locked"), door
    assert door_process.present_card() == DENIED_BY_MODE.get(door["mode"], "granted")
    model["held"] = by_mode[door["mode"]]


# --- in the appliance: the answer waits for the disk ----------------------------------


def test_a_command_is_answered_only_once_its_mode_is_on_disk(operator_api, doorctl):
    assert operator_api.post("/api/v1/doors/1/lockdown").status_code == 200
    disk = sqlite3.connect(doorctl.data_dir / DB_NAME)
    try:
        row = disk.execute("SELECT base_mode, override FROM door_modes WHERE door = 1").fetchone()
    finally:
        disk.close()
    assert row == ("locked", "locked_down")


def test_a_mode_that_could_not_be_stored_is_an_error_not_a_silent_success(operator_api, doorctl):
    doorctl.store.execute("ALTER TABLE door_modes RENAME TO door_modes_away")
    try:
        refused = operator_api.post("/api/v1/doors/1/lockdown")
        assert refused.status_code == 503
        assert "could not be stored" in refused.json["error"] and refused.json["fields"] == {}
        assert operator_api.get("/api/v1/doors/1").json["mode"] == "locked_down"
    finally:
        doorctl.store.execute("ALTER TABLE door_modes_away RENAME TO door_modes")
    assert operator_api.post("/api/v1/doors/1/lockdown").status_code == 200  # the retry
    disk = sqlite3.connect(doorctl.data_dir / DB_NAME)
    try:
        assert disk.execute("SELECT override FROM door_modes").fetchall() == [("locked_down",)]
    finally:
        disk.close()


def test_a_mode_that_could_not_be_stored_is_stored_once_the_disk_takes_it(
    operator_api, doorctl, monkeypatch
):
    monkeypatch.setattr("doorctl.core.diskwriter.RETRY_DELAY", 0.05)
    doorctl.store.execute("ALTER TABLE door_modes RENAME TO door_modes_away")
    try:
        assert operator_api.post("/api/v1/doors/1/lockdown").status_code == 503
    finally:
        doorctl.store.execute("ALTER TABLE door_modes_away RENAME TO door_modes")
    # nobody repeats the command: a power cut now must still find the door locked down
    disk = sqlite3.connect(doorctl.data_dir / DB_NAME)
    try:
        deadline = time.monotonic() + 5
        while disk.execute("SELECT override FROM door_modes").fetchall() != [("locked_down",)]:
            assert time.monotonic() < deadline, "the mode never reached the disk"
            gevent.sleep(0.05)
    finally:
        disk.close()
