"""The LED indicators (manual: LED indicators), run where the board is (the engine).

Status: amber while starting (core/board.py), steady green in normal operation, a
slow red flash after a failed firmware upgrade, until an upgrade succeeds (the
firmware state remembers a failure across the restart that rolls back). Power: green,
flashing green/amber while an upgrade receives, verifies, installs and switches.
Relay: green while the relay is active (COM connected to NO).

The firmware upgrade publishes its phases in the web process; the web tells the
engine (core/appliance.py), and in one process the bus reaches `firmware` directly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gevent

from doorctl.core.maintenance import firmware

log = logging.getLogger(__name__)

PREFIX = "tns1:Device/Maintenance/"
FIRMWARE_TOPIC = firmware.TOPIC
UPGRADING = ("receiving", "verifying", "installing", "switching")
POWER_FLASH = 0.5  # seconds of green, then of amber
SLOW_FLASH = 1.0  # seconds of red, then of dark


def upgrade_failed(data_dir: Path) -> bool:
    """Whether the last firmware upgrade failed and rolled back."""
    return firmware.last_upgrade_failed(firmware.configured_dir(data_dir))


class Leds:
    """Drives the status, power and relay LEDs from the board's state and events."""

    power_flash = POWER_FLASH
    slow_flash = SLOW_FLASH

    def __init__(self, board, bus, failed: bool = False):
        self.board = board
        self.failed = failed
        self._flashers: dict[str, gevent.Greenlet] = {}
        self._unsubscribe = [
            bus.subscribe(lambda event: self.firmware(event.data), FIRMWARE_TOPIC),
            board.relay.on_change(lambda name, active: self._relay(active)),
        ]

    def start(self) -> None:
        """Power green, relay LED as the relay is (status: amber until ready)."""
        self.board.power_led.set_color("green")
        self._relay(self.board.relay.read())

    def ready(self) -> None:
        """Normal operation: steady green, or a slow red flash after a failed upgrade."""
        if self.failed:
            self._flash("status", ("red", "off"), self.slow_flash)
        else:
            self._steady("status", "green")

    def firmware(self, data: dict) -> None:
        """Show an upgrade's phase: the power LED flashes while it runs."""
        phase = data.get("phase") if isinstance(data, dict) else None
        if phase in UPGRADING:
            self._flash("power", ("green", "amber"), self.power_flash)
            return
        self._steady("power", "green")
        if phase == "healthy":
            self.failed = False
            self._steady("status", "green")
        elif phase == "failed" and data.get("reason") != "refused":
            self.failed = True  # a refused bundle changed nothing: no failed upgrade
            self._flash("status", ("red", "off"), self.slow_flash)

    def stop(self) -> None:
        """Stop flashing (closing the board turns the LEDs off)."""
        for flasher in self._flashers.values():
            flasher.kill(block=False)
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def apply(self, settings: dict) -> None:
        """The LEDs have no settings."""

    def status(self) -> dict:
        """Each LED's colour now."""
        return {name: led.color for name, led in self.board.leds().items()}

    def _relay(self, active: bool) -> None:
        self.board.relay_led.set_color("green" if active else "off")

    def _steady(self, name: str, color: str) -> None:
        self._stop_flashing(name)
        self.board.leds()[name].set_color(color)

    def _flash(self, name: str, colors: tuple[str, str], period: float) -> None:
        if name in self._flashers and not self._flashers[name].dead:
            return
        self._flashers[name] = gevent.spawn(self._flashing, self.board.leds()[name], colors, period)

    def _stop_flashing(self, name: str) -> None:
        flasher = self._flashers.pop(name, None)
        if flasher is not None:
            flasher.kill(block=False)

    @staticmethod
    def _flashing(led, colors: tuple[str, str], period: float) -> None:
        while True:
            for color in colors:
                led.set_color(color)
                gevent.sleep(period)
