"""The door engine: modes, relay levels, door monitor, REX, alarms, schedule hooks.

The tests drive the door as a user does: the door's own calls and the simulator's
controls (the door monitor, the exit button, the outputs' states), so that they run
the same with the engine in a process of its own (the default) and in the test's
process. Times are set to fractions of a second and the tests yield to the hub with
gevent.sleep so the door's timers run.
"""

from __future__ import annotations

import time

import gevent
import pytest
from support_osdp import wait_until

from doorctl.core.access_control.door_modes import ACTIONS
from doorctl.core.appliance import Appliance
from doorctl.core.board import reset_outputs
from doorctl.core.errors import Conflict, Invalid

FAST = {
    "access_time": 0.2,
    "long_access_time": 0.4,
    "open_too_long_time": 0.4,
    "pre_alarm_time": 0.2,
}
ALARM = "tns1:Door/State/DoorAlarm"


@pytest.fixture
def door(doorctl):
    """The appliance's door with short times."""
    doorctl.settings.update("door", FAST)
    return doorctl.doors[1]


@pytest.fixture
def sim(doorctl):
    """The simulator's controls over the board, wherever the engine runs."""
    return doorctl.simulator


@pytest.fixture
def events(doorctl):
    """Every event published from now on."""
    seen = []
    doorctl.bus.subscribe(seen.append)
    return seen


def states(events, topic: str) -> list[str]:
    return [e.data["state"] for e in events if e.topic == topic]


def states_become(events, topic: str, expected: list[str]) -> None:
    """Wait for the events to reach this process (from the engine process, a moment later)."""
    wait_until(lambda: states(events, topic) == expected, 5, f"{topic} states {expected}")


def open_door(sim):
    sim.set_door("open")


def close_door(sim):
    sim.set_door("closed")


def press_rex(sim):
    sim.press_rex()


def outputs(sim) -> dict[str, bool]:
    return {name: port["active"] for name, port in sim.snapshot()["outputs"].items()}


def relay(sim) -> bool:
    return outputs(sim)["relay"]


def watch(sim, done, timeout: float = 10) -> list[dict[str, bool]]:
    """The outputs every 10 ms, as the simulator shows them, until done(samples) holds:
    a fixed window would end early when a busy machine delays the feedback."""
    seen = []
    deadline = time.monotonic() + timeout
    while not done(seen):
        assert time.monotonic() < deadline, f"not done in {timeout} s: {seen[-1:]}"
        seen.append(outputs(sim))
        gevent.sleep(0.01)
    return seen


def changes(samples: list[dict[str, bool]], output: str) -> list[bool]:
    """One output's successive states in the samples, each change once."""
    seen: list[bool] = []
    for sample in samples:
        if not seen or seen[-1] != sample[output]:
            seen.append(sample[output])
    return seen


def test_starts_locked_closed_without_alarms(door, sim, doorctl):
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


def test_access_releases_for_the_access_time(door, sim, events):
    door.access(source={"user": "root"})
    assert (door.mode(), door.status()["lock"], relay(sim)) == ("accessed", "unlocked", True)
    gevent.sleep(0.1)
    assert relay(sim)
    gevent.sleep(0.2)
    assert (door.mode(), relay(sim)) == ("locked", False)
    states_become(events, "tns1:Door/State/DoorMode", ["Accessed", "Locked"])
    states_become(events, "tns1:Door/State/LockPhysicalState", ["Unlocked", "Locked"])
    accessed = next(e for e in events if e.topic == "tns1:Door/State/DoorMode")
    assert accessed.data["cause"] == {"action": "access", "long": False, "user": "root"}
    assert accessed.property


def test_long_access_lasts_the_long_access_time(door, sim):
    door.access(long=True)
    gevent.sleep(0.3)
    assert relay(sim)
    gevent.sleep(0.2)
    assert not relay(sim)


def test_fail_safe_relay_is_active_while_locked(doorctl, door, sim):
    doorctl.settings.update("door", {"lock_type": "fail_safe"})
    assert relay(sim) and door.status()["lock"] == "locked"
    door.access()
    assert not relay(sim)
    gevent.sleep(0.3)
    assert relay(sim)
    door.unlock()
    assert not relay(sim)
    door.lockdown()
    assert relay(sim)


def test_fail_safe_lock_stays_locked_while_the_appliance_starts(doorctl, data_dir):
    """From opening the board to the door's start, a fail-safe relay is held energised."""
    doorctl.settings.update("door", {"lock_type": "fail_safe"})
    doorctl.stop()
    starting = Appliance(data_dir, "sim")
    try:
        assert starting.board.outputs["relay"].read(), "fail-safe lock released at start"
    finally:
        starting.board.close()


def test_unlock_lock_block(door, sim):
    door.unlock()
    assert (door.mode(), relay(sim)) == ("unlocked", True)
    door.lock()
    assert (door.mode(), relay(sim)) == ("locked", False)
    door.block()
    assert (door.mode(), relay(sim)) == ("blocked", False)
    assert list(door.card_allowed()) == [False, "The door is blocked."]


def test_blocked_door_still_lets_rex_out(door, sim):
    door.block()
    press_rex(sim)
    assert (door.mode(), relay(sim)) == ("accessed", True)
    gevent.sleep(0.3)
    assert (door.mode(), relay(sim)) == ("blocked", False)


def test_lockdown_ignores_rex_cards_and_other_commands(door, sim):
    door.unlock()
    door.lockdown()
    assert (door.mode(), relay(sim)) == ("locked_down", False)
    assert list(door.card_allowed()) == [False, "The door is locked down."]
    press_rex(sim)
    assert not relay(sim)
    assert door.grant() is False
    for action in ("access", "lock", "unlock", "block", "lockopen"):
        with pytest.raises(Conflict):
            door.command(action)
    assert not relay(sim)
    door.release()
    assert (door.mode(), relay(sim)) == ("locked", False)


def test_lock_open_holds_released_until_release_and_yields_to_lockdown(door, sim):
    door.lockopen()
    assert (door.mode(), relay(sim)) == ("locked_open", True)
    with pytest.raises(Conflict):
        door.lock()
    door.access()  # already open: no timer, no error
    gevent.sleep(0.3)
    assert relay(sim)
    door.lockdown()
    assert (door.mode(), relay(sim)) == ("locked_down", False)
    door.release()
    assert door.mode() == "locked"


def test_unknown_action_is_invalid(door):
    with pytest.raises(Invalid) as error:
        door.command("explode")
    assert "action" in error.value.fields
    assert set(ACTIONS) == {"access", "lock", "unlock", "block", "lockdown", "lockopen", "release"}


def test_forced_open_alarm_and_its_clearing(door, sim, events):
    open_door(sim)
    assert door.status()["alarms"] == ["forced_open"]
    assert door.status()["door_position"] == "open"
    close_door(sim)
    assert door.status()["alarms"] == []
    states_become(events, ALARM, ["DoorForcedOpen", "Normal"])
    states_become(events, "tns1:Door/State/DoorPosition", ["Open", "Closed"])


def test_open_too_long_pre_alarm_then_alarm_then_clear(door, sim, events):
    door.access()
    open_door(sim)
    assert door.status()["alarms"] == []
    gevent.sleep(0.25)
    assert door.status()["alarms"] == ["open_too_long_pre_alarm"]
    gevent.sleep(0.2)
    assert door.status()["alarms"] == ["open_too_long"]
    close_door(sim)
    assert door.status()["alarms"] == []
    states_become(events, ALARM, ["DoorOpenTooLongPreAlarm", "DoorOpenTooLong", "Normal"])


def test_no_open_too_long_while_unlocked(door, sim):
    door.unlock()
    open_door(sim)
    gevent.sleep(0.5)
    assert door.status()["alarms"] == []
    door.lock()  # the door is still open: its open-too-long time starts now
    gevent.sleep(0.45)
    assert door.status()["alarms"] == ["open_too_long"]


def test_relock_when_the_door_closes(door, sim):
    door.access()
    open_door(sim)
    close_door(sim)
    assert (door.mode(), relay(sim)) == ("locked", False)


def test_relock_after_the_access_time(doorctl, door, sim):
    doorctl.settings.update("door", {"relock": "access_time"})
    door.access()
    open_door(sim)
    close_door(sim)
    assert relay(sim)
    gevent.sleep(0.25)
    assert not relay(sim)


def test_rex_that_does_not_unlock_still_excuses_the_door_opening(doorctl, door, sim):
    doorctl.settings.update("door", {"rex_unlocks": False})
    press_rex(sim)
    assert not relay(sim)
    open_door(sim)
    assert door.status()["alarms"] == []
    close_door(sim)
    gevent.sleep(0.25)
    open_door(sim)
    assert door.status()["alarms"] == ["forced_open"]


def test_rex_active_state_open_circuit(doorctl, door, sim):
    doorctl.settings.update("door", {"rex_active_state": "open"})
    sim.set_input("rex", True)  # a normally closed exit button at rest
    assert not relay(sim)
    sim.set_input("rex", False)
    assert relay(sim)


def test_door_monitor_normal_state_open(doorctl, door, sim):
    sim.set_input("door_monitor", False)
    doorctl.settings.update("door", {"door_monitor_normal_state": "open"})
    assert door.status()["door_position"] == "closed"
    sim.set_input("door_monitor", True)
    assert door.status()["door_position"] == "open"
    assert door.status()["alarms"] == ["forced_open"]


def test_scheduled_unlock_and_lock_holding_it_off(door, sim):
    door.set_scheduled_unlock(True)
    assert (door.mode(), relay(sim)) == ("unlocked", True)
    door.lock()
    assert not relay(sim)
    door.set_scheduled_unlock(False)
    door.set_scheduled_unlock(True)
    assert relay(sim)
    door.block()
    assert not relay(sim)
    door.release()
    assert relay(sim)
    door.set_scheduled_unlock(False)
    assert (door.mode(), relay(sim)) == ("locked", False)


def test_first_person_in_waits_for_the_first_valid_card(doorctl, door, sim):
    doorctl.settings.update("door", {"first_person_in": True})
    door.set_scheduled_unlock(True)
    assert not relay(sim)
    door.grant(source={"credential": "1234"})
    gevent.sleep(0.3)
    assert (door.mode(), relay(sim)) == ("unlocked", True)
    door.set_scheduled_unlock(False)
    door.set_scheduled_unlock(True)
    assert not relay(sim)  # a new schedule period waits for its own first card


def test_reader_feedback_on_grant_and_deny(door, sim):
    door.grant()
    gevent.sleep(0.05)
    assert outputs(sim)["reader_led_green"] and outputs(sim)["reader_buzzer"]
    gevent.sleep(0.1)
    assert not outputs(sim)["reader_buzzer"]
    door.deny()
    assert not outputs(sim)["reader_led_green"]
    gevent.sleep(0.02)  # the feedback's greenlet starts on the next turn of the hub
    samples = watch(sim, lambda seen: changes(seen, "reader_led_red") == [True, False])
    assert changes(samples, "reader_buzzer") == [True, False, True, False]  # a double beep
    assert changes(samples, "reader_led_red") == [True, False]


def test_outputs_normal_on_start_and_stop(tmp_path):
    from doorctl.core.appliance import Appliance

    appliance = Appliance(tmp_path / "data")
    appliance.settings.update("door", {"lock_type": "fail_safe"})
    board = appliance.board
    assert not any(o.read() for o in board.outputs.values())  # opened inactive
    appliance.start()
    assert relay(appliance.simulator)  # fail-safe holds locked by energising
    assert board.status_led.color == "green"
    appliance.doors[1].feedback(True)
    gevent.sleep(0.01)
    appliance.stop()
    assert not any(o.read() for o in board.outputs.values())
    appliance.store.close()
    reset_outputs(tmp_path / "data", "sim")


def test_io_settings_change_relocks_the_door(doorctl, door, sim):
    door.access()
    doorctl.settings.update("io_ports", {"aux3_name": "Siren"})
    assert (door.mode(), relay(sim)) == ("locked", False)
