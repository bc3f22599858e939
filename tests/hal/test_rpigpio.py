"""The Raspberry Pi backend on rpi-lgpio: the real RPi.GPIO shim over a stand-in chip.

Edges arrive as they do on a Pi: from lgpio's notification thread, a native thread,
and the board must hand them to the hub. Tests wait for events, never for time.
"""

import ast
import importlib.metadata
import logging
import subprocess
import sys
import threading
from pathlib import Path

import gevent
import gpio_standin
import pytest
from support import missing
from support_osdp import wait_until

from doorctl.hal.profile import DEFAULT_PROFILE, default_profile, parse_profile
from doorctl.hal.supervised import SupervisedState, Wiring
from doorctl.hal.wiegand import CardRead, encode_card

lgpio, spidev, smbus2 = gpio_standin.load()
from doorctl.hal.rpigpio import RpiBoard  # noqa: E402 - after the stand-ins

CHIP = lgpio.CHIP
WAIT = 5  # seconds an awaited event may take before the test fails
_native_sleep = gevent.monkey.get_original("time", "sleep")


@pytest.fixture
def board():
    board = RpiBoard(default_profile())
    yield board
    board.close()


def from_reader_thread(work) -> None:
    """Run `work` on a native thread, as the wiring outside the Pi acts."""
    gevent.monkey.get_original("_thread", "start_new_thread")(work, ())


def wait_for(events: list, count: int = 1) -> None:
    """Let the hub run until `events` holds `count` entries."""
    with gevent.Timeout(WAIT):
        while len(events) < count:
            gevent.sleep(0.005)


def test_outputs_start_inactive_and_each_drives_its_pin(board):
    profile = default_profile()
    assert CHIP.lines[profile.relay_pin].out == 0
    board.relay.set(True)
    assert CHIP.level(profile.relay_pin) == 1
    board.outputs["reader_buzzer"].set(True)
    assert CHIP.level(profile.output_pins["reader_buzzer"]) == 1
    board.status_led.set_color("amber")
    assert [CHIP.level(pin) for pin in (22, 18)] == [1, 1]
    board.relay.set(False)
    assert CHIP.level(profile.relay_pin) == 0


def test_active_low_outputs_idle_high():
    text = DEFAULT_PROFILE.replace("outputs_active_high = true", "outputs_active_high = false")
    board = RpiBoard(parse_profile(text))
    try:
        assert CHIP.level(17) == 1
        board.relay.set(True)
        assert CHIP.level(17) == 0
    finally:
        board.close()


def test_unconnected_inputs_read_open_through_the_pull_up(board):
    assert not any(port.read() for port in board.inputs.values())
    assert not board.button.pressed()


def test_an_input_edge_from_a_native_thread_reaches_listeners_on_the_hub(board):
    changes, hub = [], threading.get_ident()
    board.inputs["door_monitor"].on_change(
        lambda name, active: changes.append((name, active, threading.get_ident()))
    )
    from_reader_thread(lambda: CHIP.drive(5, 0))
    wait_for(changes)
    assert changes == [("door_monitor", True, hub)]
    from_reader_thread(lambda: CHIP.release(5))
    wait_for(changes, 2)
    assert changes[1][:2] == ("door_monitor", False)


def test_a_bouncing_contact_gives_one_change(board):
    changes = []
    board.inputs["rex"].on_change(lambda name, active: changes.append(active))

    def bounce():
        for level in (0, 1, 0, 1, 0):
            CHIP.drive(6, level)
            _native_sleep(0.001)

    from_reader_thread(bounce)
    wait_for(changes)
    # A change that must not come can't be awaited: give it five debounce periods, the
    # time a second change would take to arrive, and check that none did.
    gevent.sleep(0.1)
    assert changes == [True]
    CHIP.release(6)


def test_wiegand_pulses_on_d0_and_d1_decode_to_the_card():
    # A gap of 0.5 s: the test's reader thread may stall on a busy machine, a reader not.
    board = RpiBoard(parse_profile(DEFAULT_PROFILE.replace("frame_gap = 0.025", "frame_gap = 0.5")))
    reads = []
    board.wiegand.on_read(reads.append)
    bits = encode_card("H10301", 42, 12345)

    def reader():
        for bit in bits:
            pin = 24 if bit == "1" else 23
            CHIP.drive(pin, 0)
            _native_sleep(0.00008)
            CHIP.drive(pin, 1)
            _native_sleep(0.002)

    try:
        from_reader_thread(reader)
        wait_for(reads)
    finally:
        board.close()
    assert isinstance(reads[0], CardRead), reads
    assert (reads[0].bits, reads[0].facility, reads[0].number) == (26, 42, 12345)


def test_the_control_button_press_is_timed(board):
    presses = []
    board.button.on_press(presses.append)
    from_reader_thread(lambda: CHIP.drive(27, 0))
    with gevent.Timeout(WAIT):
        while not board.button.pressed():
            gevent.sleep(0.005)
    from_reader_thread(lambda: CHIP.drive(27, 1))
    wait_for(presses)
    assert presses[0] > 0


def test_supervised_loop_is_measured_by_the_mcp3008():
    text = DEFAULT_PROFILE.replace("enabled = false\nspi_bus", "enabled = true\nspi_bus")
    board = RpiBoard(parse_profile(text))
    try:
        states = []
        door = board.inputs["door_monitor"]
        door.on_supervised_change(lambda name, state: states.append(state))
        spidev.ADC.set_ohms(0, 4700)
        door.set_supervised(Wiring())
        wait_for(states)
        assert states[-1] == SupervisedState.CLOSED and door.read()
        for ohms, state in ((26700, SupervisedState.OPEN), (float("inf"), SupervisedState.CUT)):
            spidev.ADC.set_ohms(0, ohms)
            wait_for(states, len(states) + 1)
            assert states[-1] == state
        assert spidev.ADC.opened[-1] == (0, 0)
    finally:
        board.close()


def test_an_aux_port_turns_output_and_back(board):
    board.set_direction("aux3", "output")
    board.outputs["aux3"].set(True)
    assert CHIP.level(21) == 1
    board.set_direction("aux3", "input")
    assert CHIP.level(21) == 1  # pulled up again: open
    changes = []
    board.inputs["aux3"].on_change(lambda name, active: changes.append(active))
    from_reader_thread(lambda: CHIP.drive(21, 0))
    wait_for(changes)
    assert changes == [True]
    CHIP.release(21)


def test_the_adxl345_feeds_device_motion():
    text = DEFAULT_PROFILE.replace("enabled = false\nchip", "enabled = true\nchip")
    board = RpiBoard(parse_profile(text))
    try:
        board.motion.hold = 0.05
        changes = []
        board.motion.on_change(changes.append)
        wait_until(lambda: board.motion.last_g is not None, WAIT, "a reading at rest")
        smbus2.ADXL345.accelerate(0.8, 0.0, 1.0)
        wait_for(changes)
        smbus2.ADXL345.accelerate(0.0, 0.0, 1.0)
        wait_for(changes, 2)
        assert changes == [True, False]
    finally:
        smbus2.ADXL345.accelerate(0.0, 0.0, 1.0)
        board.close()


MOTION_PROFILE = DEFAULT_PROFILE.replace("enabled = false\nchip", "enabled = true\nchip")


def test_a_silent_accelerometer_is_logged_once_per_outage_not_every_poll(caplog):
    """A chip that stops answering was logged ten times a second: the system log's
    20,000 records in half an hour, and a flood to remote syslog."""
    caplog.set_level(logging.INFO, logger="doorctl.hal.rpigpio")
    board = RpiBoard(parse_profile(MOTION_PROFILE))
    chip = smbus2.ADXL345

    def said(word: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if word in r.getMessage()]

    def polls(count: int) -> None:
        asked = chip.asked
        wait_until(lambda: chip.asked >= asked + count, WAIT, f"{count} more reads")

    try:
        wait_until(lambda: board.motion.last_g is not None, WAIT, "a first reading")
        chip.present = False
        polls(5)
        assert said("failed") == [
            "reading the ADXL345 failed: [Errno 121] Remote I/O error; retried every "
            "0.1 s, logged again when it answers"
        ]
        chip.present = True
        wait_until(lambda: said("answers again"), WAIT, "the recovery logged")
        polls(3)
        assert len(said("answers again")) == 1
        chip.present = False
        wait_until(lambda: len(said("failed")) == 2, WAIT, "a second outage logged")
    finally:
        chip.present = True
        board.close()


def test_without_smbus2_the_board_runs_without_device_motion(monkeypatch, caplog):
    """The profile asks for the accelerometer but smbus2 is not installed: a clear
    line in the log naming the package, and the doors keep working."""
    monkeypatch.setitem(sys.modules, "smbus2", None)  # what an absent module imports as
    board = RpiBoard(parse_profile(MOTION_PROFILE))
    try:
        assert board.motion is None
        board.relay.set(True)
        assert CHIP.level(default_profile().relay_pin) == 1
    finally:
        board.close()
    (line,) = [r.getMessage() for r in caplog.records if "smbus2" in r.getMessage()]
    assert "pip install smbus2" in line and "apt install python3-smbus2" in line


PATCHED_CHILD = """
from gevent import monkey
monkey.patch_all()
import gevent
from doorctl.hal.profile import default_profile
from doorctl.hal.rpigpio import RpiBoard
import lgpio
board = RpiBoard(default_profile())
changes = []
board.inputs["door_monitor"].on_change(lambda name, active: changes.append(active))
monkey.get_original("_thread", "start_new_thread")(lambda: lgpio.CHIP.drive(5, 0), ())
with gevent.Timeout(5):
    while not changes:
        gevent.sleep(0.01)
board.close()
print("edge", changes)
"""


def test_edges_reach_the_hub_when_gevent_has_patched_threading():
    """lgpio's callback thread must not become a greenlet blocked in a read."""
    child = subprocess.run(
        [sys.executable, "-c", PATCHED_CHILD],
        env=gpio_standin.environment(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "edge [True]"


MODEL_CHILD = """
from doorctl.hal.profile import default_profile
from doorctl.hal.rpigpio import GPIO, RpiBoard
import lgpio
board = RpiBoard(default_profile())
board.relay.set(True)
print(GPIO.RPI_INFO["TYPE"], lgpio.CHIP.level(17))
board.close()
"""


@pytest.mark.parametrize(
    "revision, model",
    [
        ("a02082", "3 Model B"),
        ("c03114", "4 Model B"),
        ("d04170", "5 Model B"),
        ("902120", "Zero 2 W"),
    ],
)
def test_the_backend_runs_on_each_supported_pi(revision, model):
    child = subprocess.run(
        [sys.executable, "-c", MODEL_CHILD],
        env=gpio_standin.environment(RPI_LGPIO_REVISION=revision),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split("\n")[0] in (f"Pi {model} 1", f"{model} 1")


# What a thread would share with the hub through threading: once gevent has patched
# threading these are gevent's, unsafe to use from a native thread.
THREAD_PRIMITIVES = {
    "Lock",
    "RLock",
    "Event",
    "Condition",
    "Semaphore",
    "BoundedSemaphore",
    "Barrier",
    "Queue",
    "allocate_lock",
    "threading",
    "_thread",
}


def _names_in(distribution: str, path: str, cls: str, method: str) -> set[str]:
    """The names and attributes a method of an installed package's class uses."""
    try:
        source = importlib.metadata.distribution(distribution).locate_file(path)
    except importlib.metadata.PackageNotFoundError:
        missing(f"{distribution} is not installed (pip install -e .[dev])")
    tree = ast.parse(Path(source).read_text())
    klass = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    function = next(n for n in klass.body if getattr(n, "name", None) == method)
    nodes = list(ast.walk(function))
    return {n.id for n in nodes if isinstance(n, ast.Name)} | {
        n.attr for n in nodes if isinstance(n, ast.Attribute)
    }


def test_the_native_callback_path_shares_no_gevent_lock_with_the_hub():
    """_import_gpio runs lgpio's notify loop on a native thread and relies on the path
    from it to EdgeQueue.push taking no threading object (gevent's once patched): a new
    lgpio or rpi-lgpio that takes one there must be imported with native ones."""
    loop = _names_in("lgpio", "lgpio.py", "_callback_thread", "run")
    call = _names_in("rpi-lgpio", "RPi/GPIO/__init__.py", "_Alert", "_call")
    assert "callbacks" in loop and "callbacks" in call  # the methods that call back
    assert not loop & THREAD_PRIMITIVES and not call & THREAD_PRIMITIVES
