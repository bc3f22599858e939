"""The control button held at start-up and the LED indicators, on the simulated board
(the same ControlButton and LED code the Raspberry Pi backend feeds)."""

from __future__ import annotations

import gevent
import gevent.event
import pytest

from doorctl.core.events import EventBus
from doorctl.core.maintenance import firmware
from doorctl.core.maintenance.button import held_through, hold_marks
from doorctl.core.maintenance.leds import FIRMWARE_TOPIC, Leds, upgrade_failed
from doorctl.hal.profile import DEFAULT_PROFILE, ProfileError, parse_profile
from doorctl.hal.sim import SimBoard

HOLD = 0.5  # the test's hold; the product's is 25 s
FLASH = 0.05  # the test's flash period; the product's are 0.5 s and 1 s


def status_colors(board) -> list[str]:
    return [color for name, color in board.led_changes if name == "status_led"]


def test_the_button_reports_presses_and_changes_as_it_goes():
    board = SimBoard()
    changes, presses = [], []
    board.button.on_change(changes.append)
    board.button.on_press(presses.append)
    board.hold_button()
    assert board.button.pressed()
    board.hold_button()  # a repeated edge is no new press
    board.release_button()
    board.press_button(2.5)
    assert changes == [True, False, True, False]
    assert presses[1] == pytest.approx(2.5)
    assert not board.button.pressed()


def release_when(board, colors: list[str]) -> None:
    """Let the button go once the status LED has shown `colors`, as a person does."""

    def check(name, color):
        if status_colors(board)[1:] == colors:
            board.release_button()

    board.status_led.on_color(check)


def test_holding_through_the_start_turns_the_status_led_amber_twice():
    board = SimBoard()
    board.hold_button()
    release_when(board, ["off", "amber", "off", "amber"])
    assert held_through(board, HOLD)
    assert status_colors(board) == ["amber", "off", "amber", "off", "amber"]
    assert board.status_led.color == "amber"  # until the reset is done and doorctl runs


def test_a_short_press_at_the_start_changes_nothing():
    board = SimBoard()
    board.hold_button()
    release_when(board, ["off"])  # seen held, let go before the first amber
    assert not held_through(board, HOLD)
    assert status_colors(board) == ["amber", "off", "amber"]


def test_a_button_that_stays_down_never_resets():
    board = SimBoard()
    board.hold_button()
    assert not held_through(board, HOLD, release_wait=0.1)
    assert board.button.pressed()


def test_no_press_at_the_start_goes_straight_on():
    board = SimBoard()
    assert not held_through(board, 25.0)
    assert status_colors(board) == ["amber"]


def test_the_product_hold_is_25_s_with_the_first_amber_at_15_s():
    assert [at for at, color in hold_marks(25.0) if color == "amber"] == [15.0, 25.0]


def wait_for_colors(board, led: str, wanted: list[str]) -> None:
    """Until `led` has shown the colours `wanted` in order (an event per change)."""
    seen = gevent.event.Event()

    def check(name, color):
        shown = [c for n, c in board.led_changes if n == led]
        if shown[-len(wanted) :] == wanted:
            seen.set()

    unsubscribe = board.leds()[led.removesuffix("_led")].on_color(check)
    assert seen.wait(5), board.led_changes
    unsubscribe()


def test_relay_led_follows_the_relay_and_power_is_green():
    board, bus = SimBoard(), EventBus()
    leds = Leds(board, bus)
    leds.power_flash = leds.slow_flash = FLASH
    leds.start()
    leds.ready()
    board.relay.set(True)
    assert (board.relay_led.color, board.power_led.color) == ("green", "green")
    board.relay.set(False)
    assert board.relay_led.color == "off"
    assert board.status_led.color == "green"
    leds.stop()


def test_an_upgrade_flashes_the_power_led_and_a_failure_flashes_status_red():
    board, bus = SimBoard(), EventBus()
    leds = Leds(board, bus)
    leds.power_flash = leds.slow_flash = FLASH
    leds.start()
    leds.ready()
    bus.publish(FIRMWARE_TOPIC, {}, {"phase": "receiving", "version": "2.0"})
    wait_for_colors(board, "power_led", ["green", "amber", "green", "amber"])
    bus.publish(FIRMWARE_TOPIC, {}, {"phase": "failed", "version": "2.0", "reason": "no"})
    assert board.power_led.color == "green"
    wait_for_colors(board, "status_led", ["red", "off", "red"])
    bus.publish(FIRMWARE_TOPIC, {}, {"phase": "healthy", "version": "2.1"})
    assert board.status_led.color == "green"
    leds.stop()


def test_after_a_failed_upgrade_the_status_led_flashes_red_from_the_start():
    board = SimBoard()
    leds = Leds(board, EventBus(), failed=True)
    leds.power_flash = leds.slow_flash = FLASH
    leds.start()
    leds.ready()
    wait_for_colors(board, "status_led", ["red", "off", "red"])
    leds.stop()


def test_led_pins_are_optional_and_never_shared():
    profile = parse_profile(DEFAULT_PROFILE)
    assert (profile.power_led_pins, profile.relay_led_pins) == ({}, {})
    text = DEFAULT_PROFILE.replace("# green = 0\n# red = 1", "green = 2\nred = 3")
    assert parse_profile(text).power_led_pins == {"green": 2, "red": 3}
    text = DEFAULT_PROFILE.replace("[relay_led]\n", "[relay_led]\ngreen = 22\n")
    with pytest.raises(ProfileError, match="relay_led.green: GPIO 22 is already used"):
        parse_profile(text)


def test_a_failed_upgrade_is_read_from_the_firmware_folder_doorctl_was_given(tmp_path, monkeypatch):
    """--firmware-dir (passed on as DOORCTL_FIRMWARE_DIR): not DATA_DIR/firmware."""
    elsewhere = tmp_path / "elsewhere"
    firmware.write_state(elsewhere, {"last": {"phase": "failed", "version": "2.0"}})
    monkeypatch.setenv(firmware.FIRMWARE_DIR_ENV, str(elsewhere))
    assert upgrade_failed(tmp_path / "data")
    monkeypatch.delenv(firmware.FIRMWARE_DIR_ENV)
    assert not upgrade_failed(tmp_path / "data")
