"""The sim board: the listener contract the door engine relies on, driven for real."""

import json
import math
import subprocess
import sys
from pathlib import Path

import gevent
import pytest

import doorctl.hal as hal
from doorctl.hal.supervised import SERIAL_FIRST, SupervisedState, Wiring
from doorctl.hal.wiegand import BadFrame, CardRead, KeyPress


@pytest.fixture
def board():
    board = hal.open_board("sim")
    yield board
    board.close()


def test_kind_and_terminal_names(board):
    assert board.kind == "sim"
    assert set(board.inputs) == {
        "door_monitor",
        "rex",
        "external_tamper",
        "external_alarm",
        "casing_open",
        "reader_tamper",
        "aux3",
        "aux4",
    }
    assert set(board.outputs) == {
        "relay",
        "reader_led_red",
        "reader_led_green",
        "reader_buzzer",
        "status_led",
    }
    assert all(board.inputs[name].name == name for name in board.inputs)


def test_card_injected_as_pulses_arrives_after_the_gap(board):
    got = []
    board.wiegand.on_read(got.append)
    sender = board.inject_card("H10301", 12, 3456)
    gevent.sleep(0.03)  # 26 bits 2 ms apart take 50 ms: the frame is not over yet
    assert got == []
    sender.join(timeout=1)
    assert len(got) == 1
    assert got[0] == CardRead("H10301", 12, 3456, 26, got[0].raw)


def test_keys_arrive_one_per_frame(board):
    got = []
    board.wiegand.on_read(got.append)
    board.inject_keys("1234#").join(timeout=2)
    assert got == [KeyPress(k) for k in "1234#"]


def test_bad_frame_reaches_the_listener(board):
    got = []
    board.wiegand.on_read(got.append)
    board.inject_wiegand("1" * 26).join(timeout=1)
    assert len(got) == 1 and isinstance(got[0], BadFrame)


def test_input_listeners_fire_on_change_only(board):
    heard = []
    board.inputs["door_monitor"].on_change(lambda name, active: heard.append((name, active)))
    board.set_input("door_monitor", True)
    board.set_input("door_monitor", True)
    board.set_input("door_monitor", False)
    assert heard == [("door_monitor", True), ("door_monitor", False)]
    assert board.inputs["door_monitor"].read() is False


def test_unsubscribe_and_failing_listener(board):
    heard = []

    def broken(name, active):
        raise RuntimeError("listener bug")

    board.inputs["rex"].on_change(broken)
    unsubscribe = board.inputs["rex"].on_change(lambda *args: heard.append(args))
    board.set_input("rex", True)  # the broken listener must not stop the other one
    unsubscribe()
    board.set_input("rex", False)
    assert heard == [("rex", True)]


def test_unknown_input_names_the_choices(board):
    with pytest.raises(KeyError, match="door_monitor"):
        board.set_input("door", True)


def test_outputs_set_and_read(board):
    board.outputs["relay"].set(True)
    assert board.outputs["relay"].read() is True
    assert board.snapshot()["outputs"]["relay"] == {"active": True}


def test_supervised_input_follows_the_loop(board):
    door = board.inputs["door_monitor"]
    states, changes = [], []
    door.on_supervised_change(lambda name, state: states.append(state))
    door.on_change(lambda name, active: changes.append(active))
    door.set_supervised(Wiring())  # parallel first, 4.7k / 22k
    for ohms in (4700, 26700, math.inf, 0, 4700):
        board.set_resistance("door_monitor", ohms)
    assert states == ["closed", "open", "cut", "short", "closed"]
    assert door.supervised_state() is SupervisedState.CLOSED
    assert changes == [True, False, True]  # short reads closed, cut reads open
    assert board.snapshot()["inputs"]["door_monitor"] == {"active": True, "resistance": 4700.0}


def test_supervision_needs_a_supervisable_input_and_a_wiring(board):
    with pytest.raises(ValueError, match="rex"):
        board.inputs["rex"].set_supervised(Wiring())
    with pytest.raises(ValueError, match="not supervised"):
        board.set_resistance("aux3", 1000)
    board.inputs["aux3"].set_supervised(Wiring(SERIAL_FIRST, 1000))
    with pytest.raises(ValueError, match="set_resistance"):
        board.set_input("aux3", True)


def test_open_loop_snapshot_is_valid_json(board):
    board.inputs["aux4"].set_supervised(Wiring(SERIAL_FIRST, 2200))
    board.set_resistance("aux4", math.inf)
    snap = board.snapshot()
    assert snap["inputs"]["aux4"] == {"active": False, "resistance": None}
    json.loads(json.dumps(snap, allow_nan=False))


def test_snapshot_shape(board):
    snap = board.snapshot()
    assert set(snap) == {"inputs", "outputs"}
    for value in snap["inputs"].values():
        assert set(value) == {"active", "resistance"}
    for value in snap["outputs"].values():
        assert set(value) == {"active"}


def test_aux_direction_moves_the_port(board):
    board.set_direction("aux3", "output")
    assert "aux3" in board.outputs and "aux3" not in board.inputs
    board.outputs["aux3"].set(True)
    assert board.snapshot()["outputs"]["aux3"] == {"active": True}
    board.set_direction("aux3", "input")
    assert "aux3" in board.inputs and "aux3" not in board.outputs
    board.set_direction("aux3", "output")
    assert board.outputs["aux3"].read() is False  # a port becomes an output inactive
    with pytest.raises(ValueError):
        board.set_direction("rex", "output")
    with pytest.raises(ValueError):
        board.set_direction("aux4", "sideways")


def test_close_puts_every_output_inactive(board):
    board.set_direction("aux4", "output")
    for port in board.outputs.values():
        port.set(True)
    board.close()
    assert all(not port.read() for port in board.outputs.values())
    assert board.status_led.color == "off"


def test_status_led_colours(board):
    board.status_led.set_color("amber")
    assert board.outputs["status_led"].read() is True
    board.status_led.set(False)
    assert board.status_led.color == "off"
    with pytest.raises(ValueError):
        board.status_led.set_color("blue")


def test_button_press(board):
    held = []
    board.button.on_press(held.append)
    board.press_button(25)
    assert held == [25.0]


def test_aux_direction_from_profile():
    class Profile:
        aux_directions = {"aux4": "output"}

    board = hal.open_board("sim", Profile())
    assert "aux4" in board.outputs and "aux4" not in board.inputs


def test_importing_hal_does_not_import_rpi_gpio():
    # a fresh interpreter, so no other test's imports can hide the mistake
    check = (
        "import sys, doorctl.hal; hal = doorctl.hal.open_board('sim'); hal.close(); "
        "assert 'RPi' not in sys.modules and 'doorctl.hal.rpigpio' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], check=True, cwd=Path(__file__).parents[2])


def test_detect_says_sim_here():
    assert hal.detect() == "sim"


def test_detect_reads_the_device_tree_model(tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    assert hal.detect((str(tmp_path / "missing"), str(model))) == "rpi"
    model.write_bytes(b"Generic x86\x00")
    assert hal.detect((str(model),)) == "sim"


def test_unknown_board_kind():
    with pytest.raises(ValueError, match="sim"):
        hal.open_board("arduino")
