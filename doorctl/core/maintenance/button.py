"""The control button held while doorctl starts (manual: Reset to factory default).

"Keep the control button pressed for 25 seconds until the status LED indicator turns
amber for the second time. Release the control button." doorctl's timings, scaled
to the hold time so that a test can shorten it: the status LED is amber while
doorctl starts; a held button turns it off, at 15 s (0.6 of the hold) it flashes
amber for 1 s, at 25 s it turns amber for the second time and stays amber; letting
go then resets to factory default. A release before that changes nothing, and so
does a button still down a minute later (stuck, or wired the wrong way round): a
fault must not wipe the device at every start.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import gevent
import gevent.event

from doorctl.core.board import board_profile
from doorctl.hal import open_board

log = logging.getLogger(__name__)

HOLD_SECONDS = 25.0
FIRST_AMBER = 0.6  # of the hold: 15 s of 25
FLASH_SECONDS = 1.0
RELEASE_WAIT = 60.0  # a button still down this long after the hold is stuck: no reset


def hold_marks(hold: float) -> list[tuple[float, str]]:
    """(seconds since the hold began, colour) for the status LED during a hold."""
    first = hold * FIRST_AMBER
    flash = min(FLASH_SECONDS, hold * 0.04)
    return [(0.0, "off"), (first, "amber"), (first + flash, "off"), (hold, "amber")]


def held_through(board, hold: float = HOLD_SECONDS, release_wait: float = RELEASE_WAIT) -> bool:
    """True when the control button is held down from the start for `hold` seconds and
    then let go; the status LED shows the hold as the manual says. A button that stays
    down (stuck, or wired the wrong way round) never resets the device."""
    led = board.status_led
    led.set_color("amber")
    if not board.button.pressed():
        return False
    released = gevent.event.Event()
    unsubscribe = board.button.on_change(lambda down: None if down else released.set())
    try:
        began = time.monotonic()
        for at, color in hold_marks(hold):
            if released.wait(max(0.0, began + at - time.monotonic())):
                log.info("control button released before %.0f s: nothing changes", hold)
                led.set_color("amber")
                return False
            led.set_color(color)
            log.info("control button held %.1f s: status LED %s", at, color)
        if released.wait(release_wait):
            return True
        log.warning(
            "control button still held %.0f s after the hold: stuck? nothing changes", release_wait
        )
        return False
    finally:
        unsubscribe()


def watch_at_start(data_dir: Path, hardware: str, hold: float, sim_held: float = 0.0) -> bool:
    """Open the board for the start-up hold, watch it, and hand the board back; on the
    simulated board `sim_held` seconds of a held button stand for a finger."""
    board = open_board(hardware, board_profile(data_dir, hardware))
    try:
        if sim_held > 0 and board.kind == "sim":
            board.hold_button()
            gevent.spawn_later(sim_held, board.release_button)
        return held_through(board, hold)
    finally:
        board.close()
