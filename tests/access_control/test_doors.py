"""The door engine: modes, relay levels, door monitor, REX, alarms, schedule hooks.

Times are set to fractions of a second and the tests yield to the hub with
gevent.sleep so the door's timers run.
"""

from __future__ import annotations

import gevent
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorctl.core.access_control.door import Door
from doorctl.core.access_control.door_modes import ACTIONS
from doorctl.core.access_control.door_settings import DoorSettings
from doorctl.core.appliance import Appliance
from doorctl.core.board import reset_outputs
from doorctl.core.errors import Conflict, Invalid
from doorctl.core.events import EventBus
from doorctl.hal.sim import SimBoard

FAST = {
    "access_time": 0.2,
    "long_access_time": 0.4,
    "open_too_long_time": 0.4,
    "pre_alarm_time": 0.2,
}


@pytest.fixture
def door(doorctl):
    """The appliance's door with short times."""
    doorctl.settings.update("door", FAST)
    return doorctl.doors[1]


@pytest.fixture
def events(doorctl):
    """Every event published from now on."""
    seen = []
    doorctl.bus.subscribe(seen.append)
    return seen


def states(events, topic: str) -> list[str]:
    return [e.data["state"] for e in events if e.topic == topic]


def open_door(board):
    board.set_input("door_monitor", False)  # normal state closed: open circuit = door open


def close_door(board):
    board.set_input("door_monitor", True)


def press_rex(board):
    board.set_input("rex", True)
    board.set_input("rex", False)


def relay(board) -> bool:
    return board.outputs["relay"].read()


def test_starts_locked_closed_without_alarms(door, board, doorctl):
    assert door.status() == {
        "id": 1,
        "name": "Door 1",
        "mode": "locked",
        "lock": "locked",
        "door_position": "closed",
        "alarms": [],
        "relay": False,
        "lock_type": "fail_secure",
        "scheduled_unlock": False,
        "card_access": True,
    }
    doorctl.event_log.flush()
    logged = {e.topic for e in doorctl.event_log.query(("tns1:Door/",))[0]}
    assert {"tns1:Door/State/DoorMode", "tns1:Door/State/DoorPosition"} <= logged


def test_access_releases_for_the_access_time(door, board, events):
    door.access(source={"user": "root"})
    assert (door.mode(), door.status()["lock"], relay(board)) == ("accessed", "unlocked", True)
    gevent.sleep(0.1)
    assert relay(board)
    gevent.sleep(0.2)
    assert (door.mode(), relay(board)) == ("locked", False)
    assert states(events, "tns1:Door/State/DoorMode") == ["Accessed", "Locked"]
    assert states(events, "tns1:Door/State/LockPhysicalState") == ["Unlocked", "Locked"]
    accessed = next(e for e in events if e.topic == "tns1:Door/State/DoorMode")
    assert accessed.data["cause"] == {"action": "access", "long": False, "user": "root"}
    assert accessed.property


def test_long_access_lasts_the_long_access_time(door, board):
    door.access(long=True)
    gevent.sleep(0.3)
    assert relay(board)
    gevent.sleep(0.2)
    assert not relay(board)


def test_fail_safe_relay_is_active_while_locked(doorctl, door, board):
    doorctl.settings.update("door", {"lock_type": "fail_safe"})
    assert relay(board) and door.status()["lock"] == "locked"
    door.access()
    assert not relay(board)
    gevent.sleep(0.3)
    assert relay(board)
    door.unlock()
    assert not relay(board)
    door.lockdown()
    assert relay(board)


def test_fail_safe_lock_stays_locked_while_the_appliance_starts(doorctl, data_dir):
    """From opening the board to the door's start, a fail-safe relay is held energised."""
    doorctl.settings.update("door", {"lock_type": "fail_safe"})
    doorctl.stop()
    starting = Appliance(data_dir, "sim")
    try:
        assert starting.board.outputs["relay"].read(), "fail-safe lock released at start"
    finally:
        starting.board.close()


def test_unlock_lock_block(door, board):
    door.unlock()
    assert (door.mode(), relay(board)) == ("unlocked", True)
    door.lock()
    assert (door.mode(), relay(board)) == ("locked", False)
    door.block()
    assert (door.mode(), relay(board)) == ("blocked", False)
    assert door.card_allowed() == (False, "The door is blocked.")


def test_blocked_door_still_lets_rex_out(door, board):
    door.block()
    press_rex(board)
    assert (door.mode(), relay(board)) == ("accessed", True)
    gevent.sleep(0.3)
    assert (door.mode(), relay(board)) == ("blocked", False)


def test_lockdown_ignores_rex_cards_and_other_commands(door, board):
    door.unlock()
    door.lockdown()
    assert (door.mode(), relay(board)) == ("locked_down", False)
    assert door.card_allowed() == (False, "The door is locked down.")
    press_rex(board)
    assert not relay(board)
    assert door.grant() is False
    for action in ("access", "lock", "unlock", "block", "lockopen"):
        with pytest.raises(Conflict):
            door.command(action)
    assert not relay(board)
    door.release()
    assert (door.mode(), relay(board)) == ("locked", False)


def test_lock_open_holds_released_until_release_and_yields_to_lockdown(door, board):
    door.lockopen()
    assert (door.mode(), relay(board)) == ("locked_open", True)
    with pytest.raises(Conflict):
        door.lock()
    door.access()  # already open: no timer, no error
    gevent.sleep(0.3)
    assert relay(board)
    door.lockdown()
    assert (door.mode(), relay(board)) == ("locked_down", False)
    door.release()
    assert door.mode() == "locked"


def test_unknown_action_is_invalid(door):
    with pytest.raises(Invalid) as error:
        door.command("explode")
    assert "action" in error.value.fields
    assert set(ACTIONS) == {"access", "lock", "unlock", "block", "lockdown", "lockopen", "release"}


def test_forced_open_alarm_and_its_clearing(door, board, events):
    open_door(board)
    assert door.status()["alarms"] == ["forced_open"]
    assert door.status()["door_position"] == "open"
    close_door(board)
    assert door.status()["alarms"] == []
    assert states(events, "tns1:Door/State/DoorAlarm") == ["DoorForcedOpen", "Normal"]
    assert states(events, "tns1:Door/State/DoorPosition") == ["Open", "Closed"]


def test_open_too_long_pre_alarm_then_alarm_then_clear(door, board, events):
    door.access()
    open_door(board)
    assert door.status()["alarms"] == []
    gevent.sleep(0.25)
    assert door.status()["alarms"] == ["open_too_long_pre_alarm"]
    gevent.sleep(0.2)
    assert door.status()["alarms"] == ["open_too_long"]
    close_door(board)
    assert door.status()["alarms"] == []
    assert states(events, "tns1:Door/State/DoorAlarm") == [
        "DoorOpenTooLongPreAlarm",
        "DoorOpenTooLong",
        "Normal",
    ]


def test_no_open_too_long_while_unlocked(door, board):
    door.unlock()
    open_door(board)
    gevent.sleep(0.5)
    assert door.status()["alarms"] == []
    door.lock()  # the door is still open: its open-too-long time starts now
    gevent.sleep(0.45)
    assert door.status()["alarms"] == ["open_too_long"]


def test_relock_when_the_door_closes(door, board):
    door.access()
    open_door(board)
    close_door(board)
    assert (door.mode(), relay(board)) == ("locked", False)


def test_relock_after_the_access_time(doorctl, door, board):
    doorctl.settings.update("door", {"relock": "access_time"})
    door.access()
    open_door(board)
    close_door(board)
    assert relay(board)
    gevent.sleep(0.25)
    assert not relay(board)


def test_rex_that_does_not_unlock_still_excuses_the_door_opening(doorctl, door, board):
    doorctl.settings.update("door", {"rex_unlocks": False})
    press_rex(board)
    assert not relay(board)
    open_door(board)
    assert door.status()["alarms"] == []
    close_door(board)
    gevent.sleep(0.25)
    open_door(board)
    assert door.status()["alarms"] == ["forced_open"]


def test_rex_active_state_open_circuit(doorctl, door, board):
    doorctl.settings.update("door", {"rex_active_state": "open"})
    board.set_input("rex", True)  # a normally closed exit button at rest
    assert not relay(board)
    board.set_input("rex", False)
    assert relay(board)


def test_door_monitor_normal_state_open(doorctl, door, board):
    board.set_input("door_monitor", False)
    doorctl.settings.update("door", {"door_monitor_normal_state": "open"})
    assert door.status()["door_position"] == "closed"
    board.set_input("door_monitor", True)
    assert door.status()["door_position"] == "open"
    assert door.status()["alarms"] == ["forced_open"]


def test_scheduled_unlock_and_lock_holding_it_off(door, board):
    door.set_scheduled_unlock(True)
    assert (door.mode(), relay(board)) == ("unlocked", True)
    door.lock()
    assert not relay(board)
    door.set_scheduled_unlock(False)
    door.set_scheduled_unlock(True)
    assert relay(board)
    door.block()
    assert not relay(board)
    door.release()
    assert relay(board)
    door.set_scheduled_unlock(False)
    assert (door.mode(), relay(board)) == ("locked", False)


def test_first_person_in_waits_for_the_first_valid_card(doorctl, door, board):
    doorctl.settings.update("door", {"first_person_in": True})
    door.set_scheduled_unlock(True)
    assert not relay(board)
    door.grant(source={"credential": "1234"})
    gevent.sleep(0.3)
    assert (door.mode(), relay(board)) == ("unlocked", True)
    door.set_scheduled_unlock(False)
    door.set_scheduled_unlock(True)
    assert not relay(board)  # a new schedule period waits for its own first card


def test_reader_feedback_on_grant_and_deny(door, board):
    outputs = board.outputs
    door.grant()
    gevent.sleep(0.05)
    assert outputs["reader_led_green"].read() and outputs["reader_buzzer"].read()
    gevent.sleep(0.1)
    assert not outputs["reader_buzzer"].read()
    door.deny()
    assert not outputs["reader_led_green"].read()
    beeps = []
    outputs["reader_buzzer"].on_change(lambda name, on: beeps.append(on))
    gevent.sleep(0.05)
    assert outputs["reader_led_red"].read()
    gevent.sleep(1.6)
    assert beeps == [True, False, True, False]
    assert not outputs["reader_led_red"].read()


def test_outputs_normal_on_start_and_stop(tmp_path):
    from doorctl.core.appliance import Appliance

    appliance = Appliance(tmp_path / "data")
    appliance.settings.update("door", {"lock_type": "fail_safe"})
    board = appliance.board
    assert not any(o.read() for o in board.outputs.values())  # opened inactive
    appliance.start()
    assert relay(board)  # fail-safe holds locked by energising
    assert board.status_led.color == "green"
    appliance.doors[1].feedback(True)
    gevent.sleep(0.01)
    appliance.stop()
    assert not any(o.read() for o in board.outputs.values())
    appliance.store.close()
    reset_outputs(tmp_path / "data", "sim")


def test_io_settings_change_relocks_the_door(doorctl, door, board):
    door.access()
    doorctl.settings.update("io_ports", {"aux3_name": "Siren"})
    assert (door.mode(), relay(board)) == ("locked", False)


# --- property: Locked and Locked down hold, whatever happens --------------------------

STEPS = st.one_of(
    st.tuples(st.just("command"), st.sampled_from(ACTIONS)),
    st.tuples(st.just("door"), st.booleans()),
    st.tuples(st.just("rex"), st.booleans()),
    st.tuples(st.just("schedule"), st.booleans()),
    st.tuples(st.just("grant"), st.booleans()),
    st.tuples(st.just("sleep"), st.just(True)),
)


def _engine(lock_type: str, relock: str) -> tuple[Door, SimBoard]:
    """A door on its own sim board with very short times (no appliance, no store)."""
    record = DoorSettings().data | {
        "lock_type": lock_type,
        "relock": relock,
        "access_time": 0.004,
        "long_access_time": 0.008,
        "open_too_long_time": 0.01,
        "pre_alarm_time": 0.005,
    }
    board = SimBoard()
    board.set_input("door_monitor", True)
    door = Door(1, board, EventBus(), record)
    door.start()
    return door, board


def _run(door: Door, board: SimBoard, step: tuple) -> bool:
    """Apply one step; True when it was an accepted Locked or Locked-down command."""
    kind, value = step
    try:
        if kind == "command":
            door.command(value)
            return value in ("lock", "lockdown")
        if kind == "door":
            board.set_input("door_monitor", not value)
        elif kind == "rex":
            board.set_input("rex", value)
        elif kind == "schedule":
            door.set_scheduled_unlock(value)
        elif kind == "grant":
            door.grant(long=value)
        else:
            gevent.sleep(0.006)
    except Conflict:
        pass
    return False


def _lock_released(door: Door, board: SimBoard) -> bool:
    """What the relay says about the lock, per the lock type."""
    energised = board.outputs["relay"].read()
    return energised if door.settings["lock_type"] == "fail_secure" else not energised


@pytest.mark.parametrize("lock_type", ["fail_secure", "fail_safe"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEPS, max_size=25), relock=st.sampled_from(["door_closed", "access_time"]))
def test_no_sequence_releases_the_lock_after_locked_or_locked_down(lock_type, steps, relock):
    door, board = _engine(lock_type, relock)
    locked_down = False
    try:
        for step in steps:
            locked = _run(door, board, step)
            if step == ("command", "lockdown"):
                locked_down = True
            elif step == ("command", "release"):
                locked_down = False
            if locked or locked_down:
                assert not _lock_released(door, board), (step, door.status())
            assert _lock_released(door, board) == (door.status()["lock"] == "unlocked")
    finally:
        door.stop()
    assert not board.outputs["relay"].read()
