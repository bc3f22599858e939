"""`doorctl selftest --hardware rpi`: the installer's check of a Pi's pins with a
loopback harness (each output wired to an input, see LOOPBACK and the README).

For each pair it checks the input's pull-up (the output let go: the input reads high),
then drives the output low and high and reads the input each time. Inputs without a
partner get the pull-up check alone. Each supervised-input ADC channel must read the
harness's resistor (±15 %), and the accelerometer must answer with its ID and feel
about 1 g at rest. Run it with doorctl stopped: a running doorctl holds the pins.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from doorctl.hal.profile import Profile
from doorctl.hal.supervised import adc_to_resistance

# Harness: output terminal -> the input terminal its wire goes to.
LOOPBACK = (
    ("relay", "door_monitor"),
    ("reader_led_red", "rex"),
    ("reader_led_green", "reader_tamper"),
    ("reader_buzzer", "external_tamper"),
    ("status_led.green", "external_alarm"),
    ("status_led.red", "casing_open"),
    ("aux3", "aux4"),
)
SETTLE = 0.002  # seconds for a level to cross the wire (and an input board)
ADC_TOLERANCE = 0.15
HARNESS_OHMS = 4700.0


@dataclass
class Check:
    """One line of the report."""

    terminal: str
    gpio: str
    test: str
    ok: bool | None  # None: skipped
    detail: str = ""


def terminal_pins(profile: Profile) -> dict[str, int]:
    """Every terminal's GPIO by its doorctl name, LED dies as status_led.green."""
    pins = {"relay": profile.relay_pin, **profile.output_pins, **profile.input_pins}
    pins.update(profile.aux_pins)
    pins.update({f"status_led.{die}": pin for die, pin in profile.status_led_pins.items()})
    pins["button"] = profile.button_pin
    if profile.reader_protocol == "wiegand":
        pins.update({"wiegand_d0": profile.wiegand_d0, "wiegand_d1": profile.wiegand_d1})
    return pins


class SelfTest:
    """Runs the checks with RPi.GPIO, spidev and smbus2 as the board would use them."""

    def __init__(self, profile: Profile, gpio, adc_ohms: float = HARNESS_OHMS):
        self.profile = profile
        self.gpio = gpio
        self.adc_ohms = adc_ohms
        self.pins = terminal_pins(profile)
        self.checks: list[Check] = []

    def run(self) -> list[Check]:
        """Every check, in the order of the report."""
        self.gpio.setwarnings(False)
        try:
            self.gpio.setmode(self.gpio.BCM)
        except Exception as exc:  # no /dev/gpiochip, or no right to open it
            self.checks.append(Check("gpio", "gpiochip", "open", False, _why(exc)))
            return self.checks
        try:
            paired = set()
            for out_name, in_name in LOOPBACK:
                self._pair(out_name, in_name)
                paired |= {out_name, in_name}
            for name in sorted(set(self.pins) - paired):
                if name in self.profile.input_pins or name in (
                    "button",
                    "wiegand_d0",
                    "wiegand_d1",
                ):
                    self._pull_up(name)
        finally:
            self.gpio.cleanup()
        self._adc()
        self._motion()
        return self.checks

    def _pair(self, out_name: str, in_name: str) -> None:
        """Pull-up with the output let go, then low and high across the wire."""
        out_pin, in_pin = self.pins[out_name], self.pins[in_name]
        label = f"{out_pin} -> {in_pin}"
        try:
            self.gpio.setup(in_pin, self.gpio.IN, pull_up_down=self.gpio.PUD_UP)
            self.gpio.setup(out_pin, self.gpio.IN, pull_up_down=self.gpio.PUD_OFF)
            pulled = self._read(in_pin)
            self.gpio.setup(out_pin, self.gpio.OUT, initial=self.gpio.LOW)
            low = self._read(in_pin)
            self.gpio.output(out_pin, self.gpio.HIGH)
            high = self._read(in_pin)
            self.gpio.output(out_pin, self.gpio.LOW)
        except Exception as exc:  # a pin another program holds, a bad chip
            self._both(out_name, in_name, label, False, _why(exc))
            return
        ok = pulled == 1 and low == 0 and high == 1
        self._both(out_name, in_name, label, ok, _pair_trouble(pulled, low, high))

    def _both(self, out_name, in_name, label, ok, detail) -> None:
        self.checks.append(Check(out_name, label, f"drives {in_name}", ok, detail))
        self.checks.append(Check(in_name, label, f"reads {out_name}, pull-up", ok, detail))

    def _pull_up(self, name: str) -> None:
        """An input without a partner: unconnected, its pull-up must make it read high."""
        pin = self.pins[name]
        try:
            self.gpio.setup(pin, self.gpio.IN, pull_up_down=self.gpio.PUD_UP)
            level = self._read(pin)
        except Exception as exc:
            self.checks.append(Check(name, str(pin), "pull-up", False, _why(exc)))
            return
        detail = "" if level == 1 else "reads low: something holds it to ground"
        self.checks.append(Check(name, str(pin), "pull-up", level == 1, detail))

    def _read(self, pin: int) -> int:
        time.sleep(SETTLE)
        return self.gpio.input(pin)

    def _adc(self) -> None:
        """Each supervised channel reads the harness resistor within ±15 %."""
        adc = self.profile.adc
        if adc is None:
            self.checks.append(Check("supervised", "SPI", "MCP3008", None, "not enabled"))
            return
        from doorctl.hal.rpigpio import Mcp3008

        try:
            chip = Mcp3008(adc.spi_bus, adc.spi_device)
        except Exception as exc:
            self.checks.append(Check("supervised", "SPI", "MCP3008", False, _why(exc)))
            return
        try:
            for name, channel in adc.channels.items():
                ohms = adc_to_resistance(chip.read(channel), adc.pullup_ohms, adc.vref)
                ok = math.isfinite(ohms) and abs(ohms / self.adc_ohms - 1) <= ADC_TOLERANCE
                shown = "open" if not math.isfinite(ohms) else f"{ohms:.0f} ohm"
                detail = f"{shown}, expected {self.adc_ohms:.0f} ohm"
                self.checks.append(Check(name, f"CH{channel}", "loop resistance", ok, detail))
        finally:
            chip.close()

    def _motion(self) -> None:
        """The accelerometer answers with the ADXL345's ID and feels gravity."""
        motion = self.profile.motion
        if motion is None:
            self.checks.append(Check("motion", "I2C", "ADXL345", None, "not enabled"))
            return
        from doorctl.hal.motion import open_adxl345

        where = f"I2C {motion.i2c_bus} 0x{motion.address:02x}"
        try:
            chip = open_adxl345(motion.i2c_bus, motion.address)
            time.sleep(0.05)  # the first reading after Measure
            g = math.dist(chip.read_g(), (0, 0, 0))
            chip.close()
        except Exception as exc:
            self.checks.append(Check("motion", where, motion.chip, False, _why(exc)))
            return
        ok = 0.8 <= g <= 1.2
        self.checks.append(Check("motion", where, motion.chip, ok, f"{g:.2f} g at rest"))


def _pair_trouble(pulled: int, low: int, high: int) -> str:
    """What a failed pair's readings point to."""
    if pulled != 1:
        return "the input reads low with the output let go: no pull-up, or held to ground"
    if (low, high) != (0, 1):
        return f"the input read {low} and {high} for low and high: check the wire"
    return ""


def _why(exc: Exception) -> str:
    """An exception as one line for the report, with what to do when doorctl holds the pins."""
    text = str(exc).strip("'\"") or type(exc).__name__
    if getattr(exc, "errno", None) == 121:
        text = "no device answers: check SDA, SCL, 3.3 V and that I2C is on (raspi-config)"
    if "can not open gpiochip" in text:
        text += " (is the user in the group gpio?)"
    if "busy" in text.lower():
        text += " (stop doorctl first: sudo systemctl stop doorctl)"
    return text


def report(checks: list[Check]) -> str:
    """The table the installer reads, and the totals."""
    rows = [("TERMINAL", "GPIO", "TEST", "RESULT")]
    for check in checks:
        result = {True: "PASS", False: "FAIL", None: "SKIP"}[check.ok]
        rows.append((check.terminal, check.gpio, check.test, result))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row, check in zip(rows, [None, *checks], strict=True):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        line += "  " + row[3]
        if check is not None and check.detail:
            line += f"  ({check.detail})"
        lines.append(line.rstrip())
    passed = sum(1 for check in checks if check.ok)
    failed = sum(1 for check in checks if check.ok is False)
    lines.append(f"{passed} passed, {failed} failed")
    return "\n".join(lines)
