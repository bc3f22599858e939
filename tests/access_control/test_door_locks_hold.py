"""The door engine's promise, as a property: whatever happens, an accepted Locked or
Locked down command keeps the lock locked (a door on its own sim board, no appliance)."""

from __future__ import annotations

import gevent
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorctl.core.access_control.door import Door
from doorctl.core.access_control.door_modes import ACTIONS
from doorctl.core.access_control.door_settings import DoorSettings
from doorctl.core.errors import Conflict
from doorctl.core.events import EventBus
from doorctl.hal.sim import SimBoard

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
