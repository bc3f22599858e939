"""Access decisions: every reason in a table, card + PIN, and Wiegand end to end."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import gevent
import pytest
from support_osdp import wait_until

from doorctl.core.access_control import decisions
from doorctl.core.access_control.access_rules import RULES_FOR
from doorctl.core.access_control.credentials import card_key
from doorctl.core.access_control.decisions import BY_CARD, BY_PIN

# The decisions themselves, with a fixed clock: the access control that decides is the
# one in the test's process (tests/test_engine_process.py decides across the processes).
pytestmark = pytest.mark.engine_in_process

TZ = ZoneInfo("Europe/Stockholm")
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=TZ).timestamp()  # a Wednesday
CARD = card_key("H10301", 12, 345)


@pytest.fixture
def access(doorctl):
    """Access control with short door times, Stockholm time and a fixed clock at noon."""
    doorctl.settings.update("door", {"access_time": 0.3, "long_access_time": 0.6})
    doorctl.settings.update("date_time", {"time_zone": "Europe/Stockholm"})
    doorctl.access.apply({**doorctl.access.settings, "pin_timeout": 0.3})  # below the 1 s floor
    doorctl.access.clock = lambda: NOON
    return doorctl.access


@pytest.fixture
def events(doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:AccessControl/")
    return seen


def person(access, card=None, pin=None, auth="card", schedule=None, **holder):
    """A cardholder with one credential and one rule for door 1."""
    h = access.cardholders.create({"name": "Ann", **holder})
    access.credentials.create({"cardholder_id": h["id"], "card": card, "pin": pin})
    rule = {"cardholder_ids": [h["id"]], "authentication": auth, "schedule_id": schedule}
    access.rules.create(rule)
    return h


ANN_CARD = {"format": "H10301", "facility": 12, "number": 345}
GRANTED = "tns1:AccessControl/AccessGranted/Credential"
DENIED_UNKNOWN = "tns1:AccessControl/Denied/CredentialNotFound/Card"


def office_hours(access) -> int:
    body = {"name": "Office", "intervals": [{"days": ["mon"], "start": "08:00", "end": "17:00"}]}
    return access.schedules.create(body).id


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda a: person(a, ANN_CARD), decisions.GRANTED),
        (lambda a: person(a, {**ANN_CARD, "number": 999}), decisions.UNKNOWN),
        (lambda a: None, decisions.UNKNOWN),
        (lambda a: person(a, ANN_CARD, enabled=False), decisions.DISABLED),
        (lambda a: person(a, ANN_CARD, valid_from="2026-06-11"), decisions.NOT_YET_VALID),
        (lambda a: person(a, ANN_CARD, valid_from="2026-06-10T12:00"), decisions.GRANTED),
        (lambda a: person(a, ANN_CARD, valid_until="2026-06-09"), decisions.EXPIRED),
        (lambda a: person(a, ANN_CARD, valid_until="2026-06-10"), decisions.GRANTED),
        (lambda a: person(a, ANN_CARD, valid_until="2026-06-10T11:59"), decisions.EXPIRED),
        (lambda a: person(a, ANN_CARD, schedule=office_hours(a)), decisions.OUTSIDE_SCHEDULE),
        (lambda a: person(a, ANN_CARD, auth="pin"), decisions.NO_RULE),
        (lambda a: person(a, ANN_CARD, auth="card+pin"), decisions.NO_PIN),
    ],
)
def test_card_decision_table(access, events, setup, reason):
    setup(access)
    decision = access.present_card("wiegand", CARD)
    assert decision.reason == reason
    assert events[-1].data["reason"] == reason
    assert events[-1].topic.startswith(
        "tns1:AccessControl/AccessGranted/" if reason == "granted" else "tns1:AccessControl/Denied/"
    )


def test_disabled_credential_and_no_rule(access):
    h = access.cardholders.create({"name": "Bo"})
    cred = access.credentials.create({"cardholder_id": h["id"], "card": ANN_CARD})
    assert access.present_card("wiegand", CARD).reason == decisions.NO_RULE
    access.rules.create({"cardholder_ids": [h["id"]]})
    access.credentials.update(cred["id"], {"enabled": False})
    assert access.present_card("wiegand", CARD).reason == decisions.DISABLED


@pytest.mark.parametrize(
    ("action", "reason"),
    [("block", decisions.DOOR_BLOCKED), ("lockdown", decisions.DOOR_LOCKED_DOWN)],
)
def test_door_blocked_or_locked_down_refuses_valid_cards(access, doorctl, action, reason):
    person(access, ANN_CARD)
    doorctl.doors[1].command(action)
    assert access.present_card("wiegand", CARD).reason == reason
    assert not doorctl.board.outputs["relay"].read()


def test_group_rule_and_exit_direction(access):
    group = access.cardholders.create_group("Staff")
    h = access.cardholders.create({"name": "Cy", "group_ids": [group["id"]]})
    access.credentials.create({"cardholder_id": h["id"], "card": ANN_CARD})
    access.rules.create({"group_ids": [group["id"]], "direction": "exit"})
    assert access.present_card("wiegand", CARD).reason == decisions.NO_RULE  # entry reader
    access.add_reader(decisions.Reader("osdp-1", 1, "exit"))
    assert access.present_card("osdp-1", CARD).reason == decisions.GRANTED


def test_granted_event_names_cardholder_and_credential_never_the_pin(access, events):
    h = person(access, ANN_CARD, pin="4321", auth="card+pin")
    access.present_card("wiegand", CARD)
    access.keys("wiegand", "4321#")
    event = events[-1]
    assert event.topic == "tns1:AccessControl/AccessGranted/Credential"
    assert event.source == {"door": 1, "reader": "wiegand", "direction": "entry"}
    assert event.data["cardholder_id"] == h["id"] and event.data["cardholder"] == "Ann"
    assert event.data["card"] == ANN_CARD and event.data["authentication"] == "card+pin"
    assert "4321" not in repr(event)


def test_card_and_pin_wrong_pin_and_timeout(access, events):
    person(access, ANN_CARD, pin="4321", auth="card+pin")
    assert access.present_card("wiegand", CARD).reason == decisions.PIN_NEEDED
    assert access.keys("wiegand", "1111#").reason == decisions.WRONG_PIN
    access.present_card("wiegand", CARD)
    access.keys("wiegand", "43")
    gevent.sleep(0.45)
    assert events[-1].data["reason"] == decisions.PIN_TIMEOUT
    assert access.keys("wiegand", "21#").reason == decisions.UNKNOWN  # "21" alone: no PIN


def test_star_clears_the_digits(access):
    person(access, ANN_CARD, pin="4321", auth="card+pin")
    access.present_card("wiegand", CARD)
    assert access.keys("wiegand", "99*4321#").reason == decisions.GRANTED


def test_pin_only(access):
    h = access.cardholders.create({"name": "Di"})
    access.credentials.create({"cardholder_id": h["id"], "pin": "246810"})
    access.rules.create({"cardholder_ids": [h["id"]], "authentication": "pin"})
    assert access.keys("wiegand", "246810#").reason == decisions.GRANTED
    assert access.keys("wiegand", "246811#").reason == decisions.UNKNOWN


def test_long_access_holds_the_door_longer(access, doorctl):
    person(access, ANN_CARD, long_access=True)
    access.present_card("wiegand", CARD)
    gevent.sleep(0.45)
    assert doorctl.board.outputs["relay"].read()
    gevent.sleep(0.3)
    assert not doorctl.board.outputs["relay"].read()


def test_decision_path_uses_indexes_only(doorctl):
    """EXPLAIN QUERY PLAN: every table the decision reads is searched, never scanned."""
    store = doorctl.store
    plans = [
        store.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        for sql, params in (
            (BY_CARD, ("x",)),
            (BY_PIN, ("x",)),
            (RULES_FOR, {"door": 1, "direction": "entry", "holder": 1}),
        )
    ]
    details = [row["detail"] for plan in plans for row in plan]
    assert not [d for d in details if d.startswith("SCAN")], details
    assert any("USING INDEX credentials_card" in d for d in details)
    assert any("USING INDEX credentials_pin_only" in d for d in details)


def changes(output) -> list[tuple[bool, float]]:
    """Every level the board's output takes from now on, with when it took it."""
    seen = []
    output.on_change(lambda _name, active: seen.append((active, time.monotonic())))
    return seen


def test_wiegand_card_end_to_end(access, doorctl, board, events):
    """Pulses → granted → relay energised for the access time → relocked; unknown → red.

    The relay's levels are timed where they change, so a busy machine that lets the test
    look late cannot make the door look open too long or too short."""
    doorctl.settings.update("door", {"long_access_time": 3})  # far from the access time
    person(access, ANN_CARD)
    relay, red = changes(board.outputs["relay"]), changes(board.outputs["reader_led_red"])
    board.inject_card("H10301", 12, 345).join()
    wait_until(lambda: len(relay) == 2, timeout=10, what="energised, then relocked")
    (energised, at), (relocked, until) = relay
    assert (energised, relocked) == (True, False)
    # the access time (0.3 s, timed from just before the relay moves), not the long one
    assert 0.25 <= until - at < 3
    assert GRANTED in [e.topic for e in events]
    board.inject_card("H10301", 12, 346).join()
    wait_until(lambda: events[-1].topic == DENIED_UNKNOWN, what="the unknown card denied")
    wait_until(lambda: any(lit for lit, _ in red), what="the reader's red LED")
    assert len(relay) == 2 and not board.outputs["relay"].read()


def test_wiegand_card_then_keypad_pin(access, board, events):
    person(access, ANN_CARD, pin="1357", auth="card+pin")
    access.apply({**access.settings, "pin_timeout": 5})
    board.inject_card("H10301", 12, 345).join()
    board.inject_keys("1357#").join()
    gevent.sleep(0.05)
    assert events[-1].data["reason"] == "granted"
    assert board.outputs["relay"].read()


def test_malformed_wiegand_frame_is_a_reader_event_with_the_reason(access, doorctl, board):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/Reader/")
    bits = "1" + "0" * 24 + "0"  # 26 bits whose even parity bit is wrong
    board.inject_wiegand(bits).join()
    gevent.sleep(0.05)
    assert [e.topic for e in seen] == ["tns1:Device/Reader/BadFrame"]
    assert "parity" in seen[0].data["reason"]
    assert seen[0].source == {"reader": "wiegand"}
    assert not board.outputs["relay"].read()
