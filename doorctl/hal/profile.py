"""The hardware profile: which Raspberry Pi pin or device is behind each terminal.

It lives in the data directory as `hardware.toml`. On first start the documented
defaults below are written there as text, so an installer edits a commented file
rather than guessing key names; doorctl only reads it (tomllib), never rewrites it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from doorctl.hal.base import AUX_PORTS, INPUT, OUTPUT, SUPERVISABLE
from doorctl.hal.wiegand import DEFAULT_FRAME_GAP, FORMATS_37

PROFILE_NAME = "hardware.toml"
BCM_PINS = range(2, 28)  # the 40-pin header's GPIO 2-27
SPI_PINS = {0: (7, 8, 9, 10, 11), 1: (16, 17, 18, 19, 20, 21)}  # CE, MISO, MOSI, SCLK
I2C_PINS = {1: (2, 3)}  # SDA, SCL of the header's I2C bus
INPUT_KEYS = {
    "door_monitor": ("door", "door_monitor"),
    "rex": ("door", "rex"),
    "reader_tamper": ("reader", "tamper"),
    "external_tamper": ("external", "tamper"),
    "external_alarm": ("external", "alarm"),
    "casing_open": ("casing", "open"),
}
OUTPUT_KEYS = {
    "reader_led_red": ("reader", "led_red"),
    "reader_led_green": ("reader", "led_green"),
    "reader_buzzer": ("reader", "buzzer"),
}

DEFAULT_PROFILE = """\
# doorctl hardware profile: the Raspberry Pi pin (BCM GPIO number) or device behind
# each terminal of the controller. doorctl wrote this file with its defaults on first
# start; edit it and restart doorctl. See WIRING.md for the wiring table.
#
# The defaults leave I2C (GPIO 2, 3), the UART (14, 15) and SPI0 (7-11) free for an
# RS-485 adapter and the MCP3008 ADC. Inputs use the Pi's internal pull-up, so a
# terminal connected to ground (circuit closed) reads active. Never put more than
# 3.3 V on a GPIO: the manual's 0-30 V inputs need an opto-isolated front end.

# true: an input is active when its pin is low (terminal pulled to ground).
# false: for a front end that inverts (active when the pin is high).
inputs_active_low = true
# true: an output pin goes high to activate (most relay and driver HATs).
outputs_active_high = true

[relay]
# Relay connector: active = relay energised, COM connected to NO.
pin = 17
# Where the lock is wired: "NO" = fail-secure lock between NO and ground (locked while
# the relay is off), "NC" = fail-safe lock between NC and ground (unlocked while off).
lock_wiring = "NO"

[door]
# Door connector: input 1 (pin 2) is the door monitor, input 2 (pin 4) is REX.
door_monitor = 5
rex = 6

[reader]
# Reader connector: "wiegand" (pins D0, D1, LED 1, LED 2, TAMPER, BUZZER) or "osdp".
protocol = "wiegand"
d0 = 23
d1 = 24
led_red = 25
led_green = 12
tamper = 16
buzzer = 20
# 37-bit Wiegand cards: "H10304" (facility 16 bits, card 19) or "H10302" (card 35).
format37 = "H10304"
# Silence that ends a Wiegand frame, in seconds (readers send bits 1-2 ms apart).
frame_gap = 0.025
# OSDP over RS-485 (protocol = "osdp"): the serial device, and the GPIO driving the
# transceiver's DE/RE pins if the adapter does not switch direction by itself.
serial_device = "/dev/ttyAMA0"
# de_pin = 18

[aux3]
# Auxiliary connector I/O 3: "input" or "output" (the web page can change it too).
pin = 21
direction = "input"

[aux4]
# Auxiliary connector I/O 4.
pin = 26
direction = "input"

[external]
# External connectors: TAMPER and ALARM inputs.
tamper = 19
alarm = 13

[casing]
# The casing-open switch of the enclosure.
open = 4

[button]
# The control button (hold 25 s while powering up: factory default).
pin = 27

[status_led]
# The status LED, one GPIO per die of a red/green LED; amber lights both.
# Amber while doorctl starts or restores settings, green in normal operation, slow red
# flash after a failed upgrade; held control button: amber at 15 s and at 25 s.
green = 22
red = 18

[power_led]
# Optional: the power LED (green; flashes green/amber during a firmware upgrade).
# green = 0
# red = 1

[relay_led]
# Optional: the relay LED, lit green while the relay is active (COM connected to NO).
# green = 0

[supervised]
# Supervised inputs measure their end-of-line resistor loop with an MCP3008 10-bit
# ADC on SPI. Each loop runs from an ADC channel to ground, with a pull-up resistor
# from the ADC's reference voltage to the channel; doorctl computes the loop
# resistance from the divider. 10 kOhm suits every resistor the manual allows.
enabled = false
spi_bus = 0
spi_device = 0
vref = 3.3
pullup_ohms = 10000.0
# ADC channel (0-7) per supervisable input; delete a line to leave it digital only.
door_monitor = 0
aux3 = 1
aux4 = 2

[motion]
# The device-motion sensor (Alarms > Device motion): an ADXL345 accelerometer breakout
# (e.g. GY-291) on the I2C bus of the header: SDA GPIO 2 (pin 3), SCL GPIO 3 (pin 5),
# 3.3 V and ground. Enable I2C first (raspi-config, or dtparam=i2c_arm=on).
enabled = false
chip = "ADXL345"
i2c_bus = 1
# 0x53 with the ALT ADDRESS pin low (most breakouts), 0x1D with it high.
address = 0x53
"""


class ProfileError(ValueError):
    """A hardware profile that cannot be used, naming the file and key at fault."""


@dataclass(frozen=True)
class AdcConfig:
    """The MCP3008 that measures supervised loops."""

    spi_bus: int
    spi_device: int
    vref: float
    pullup_ohms: float
    channels: dict[str, int]


@dataclass(frozen=True)
class MotionConfig:
    """The accelerometer that senses device motion."""

    chip: str
    i2c_bus: int
    address: int


@dataclass(frozen=True)
class Profile:
    """Where every terminal is on the Pi; the rpi board is built from this."""

    relay_pin: int = 17
    lock_wiring: str = "NO"
    inputs_active_low: bool = True
    outputs_active_high: bool = True
    input_pins: dict[str, int] = field(default_factory=dict)
    output_pins: dict[str, int] = field(default_factory=dict)
    aux_pins: dict[str, int] = field(default_factory=dict)
    aux_directions: dict[str, str] = field(default_factory=dict)
    reader_protocol: str = "wiegand"
    wiegand_d0: int | None = None
    wiegand_d1: int | None = None
    wiegand_format37: str = "H10304"
    wiegand_gap: float = DEFAULT_FRAME_GAP
    serial_device: str = ""
    de_pin: int | None = None
    button_pin: int | None = None
    status_led_pins: dict[str, int] = field(default_factory=dict)
    power_led_pins: dict[str, int] = field(default_factory=dict)
    relay_led_pins: dict[str, int] = field(default_factory=dict)
    adc: AdcConfig | None = None
    motion: MotionConfig | None = None


class _Reader:
    """Typed access to the parsed TOML; every error names the dotted key."""

    def __init__(self, data: dict, source: str):
        self.data = data
        self.source = source

    def fail(self, key: str, problem: str) -> ProfileError:
        """An error naming the file and the key."""
        return ProfileError(f"{self.source}: {key}: {problem}")

    def get(self, key: str, kind: type | tuple, default=None, required: bool = True):
        """The value at dotted `key`, checked against `kind`."""
        node = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if required:
                    raise self.fail(key, "missing")
                return default
            node = node[part]
        if isinstance(node, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(key, f"expected {_kind_name(kind)}, got {node!r}")
        if not isinstance(node, kind):
            raise self.fail(key, f"expected {_kind_name(kind)}, got {node!r}")
        return node

    def pin(self, key: str, required: bool = True) -> int | None:
        """A BCM GPIO number 2-27."""
        value = self.get(key, int, required=required)
        if value is not None and value not in BCM_PINS:
            raise self.fail(key, f"{value} is not a BCM GPIO pin (2-27)")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        """One of `choices`."""
        value = self.get(key, str, default, required=False)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value


def _kind_name(kind) -> str:
    """A type or tuple of types as words for an error message."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _adc(r: _Reader) -> AdcConfig | None:
    """The supervised-input ADC, when enabled."""
    if not r.get("supervised.enabled", bool, False, required=False):
        return None
    channels = {}
    for name in SUPERVISABLE:
        channel = r.get(f"supervised.{name}", int, required=False)
        if channel is not None and channel not in range(8):
            raise r.fail(f"supervised.{name}", f"{channel} is not an MCP3008 channel (0-7)")
        if channel is not None:
            channels[name] = channel
    bus = r.get("supervised.spi_bus", int, 0, required=False)
    if bus not in SPI_PINS:
        raise r.fail("supervised.spi_bus", f"{bus} is not SPI bus 0 or 1")
    vref = float(r.get("supervised.vref", (int, float), 3.3, required=False))
    pullup = float(r.get("supervised.pullup_ohms", (int, float), 10000.0, required=False))
    for key, value in (("vref", vref), ("pullup_ohms", pullup)):
        if value <= 0:
            raise r.fail(f"supervised.{key}", "must be greater than 0")
    device = r.get("supervised.spi_device", int, 0, required=False)
    return AdcConfig(bus, device, vref, pullup, channels)


def _motion(r: _Reader) -> MotionConfig | None:
    """The device-motion accelerometer, when enabled."""
    if not r.get("motion.enabled", bool, False, required=False):
        return None
    chip = r.choice("motion.chip", ("ADXL345",), "ADXL345")
    bus = r.get("motion.i2c_bus", int, 1, required=False)
    address = r.get("motion.address", int, 0x53, required=False)
    if address not in (0x53, 0x1D):
        raise r.fail("motion.address", f"{address:#x} is not an ADXL345 address (0x53 or 0x1D)")
    return MotionConfig(chip, bus, address)


def _reader_section(r: _Reader) -> dict:
    """The reader connector: Wiegand lines or the RS-485 device."""
    protocol = r.choice("reader.protocol", ("wiegand", "osdp"), "wiegand")
    wiegand = protocol == "wiegand"
    gap = float(r.get("reader.frame_gap", (int, float), DEFAULT_FRAME_GAP, required=False))
    if not 0.003 <= gap <= 1.0:
        raise r.fail("reader.frame_gap", "must be between 0.003 and 1 second")
    return {
        "reader_protocol": protocol,
        "wiegand_d0": r.pin("reader.d0", required=wiegand),
        "wiegand_d1": r.pin("reader.d1", required=wiegand),
        "wiegand_format37": r.choice("reader.format37", FORMATS_37, "H10304"),
        "wiegand_gap": gap,
        "serial_device": r.get("reader.serial_device", str, "", required=not wiegand),
        "de_pin": r.pin("reader.de_pin", required=False),
    }


def _pins(r: _Reader, keys: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Terminal name -> pin for a table of (section, key)."""
    return {name: r.pin(f"{section}.{key}") for name, (section, key) in keys.items()}


def _optional_pins(r: _Reader, section: str, dies: tuple[str, ...]) -> dict[str, int]:
    """The pins given for an optional LED's dies (none: the LED is not fitted)."""
    pins = {die: r.pin(f"{section}.{die}", required=False) for die in dies}
    return {die: pin for die, pin in pins.items() if pin is not None}


def _check_conflicts(r: _Reader, fields: dict) -> None:
    """No pin may serve two terminals, nor a pin the enabled SPI bus needs."""
    used: dict[int, str] = {}
    if fields["adc"] is not None:
        for pin in SPI_PINS[fields["adc"].spi_bus]:
            used[pin] = f"supervised.spi_bus {fields['adc'].spi_bus}"
    if fields["motion"] is not None:
        for pin in I2C_PINS.get(fields["motion"].i2c_bus, ()):
            used[pin] = f"motion.i2c_bus {fields['motion'].i2c_bus}"
    for key, pin in _pin_keys(fields):
        if pin is None:
            continue
        if pin in used:
            raise r.fail(key, f"GPIO {pin} is already used by {used[pin]}")
        used[pin] = key


def _pin_keys(fields: dict) -> list[tuple[str, int | None]]:
    """Every (key, pin) in use by the parsed profile."""
    keys = [("relay.pin", fields["relay_pin"]), ("button.pin", fields["button_pin"])]
    for table, pins in ((INPUT_KEYS, fields["input_pins"]), (OUTPUT_KEYS, fields["output_pins"])):
        keys += [(".".join(table[name]), pin) for name, pin in pins.items()]
    keys += [(f"{name}.pin", pin) for name, pin in fields["aux_pins"].items()]
    for led in ("status_led", "power_led", "relay_led"):
        keys += [(f"{led}.{c}", pin) for c, pin in fields[f"{led}_pins"].items()]
    if fields["reader_protocol"] == "wiegand":
        keys += [("reader.d0", fields["wiegand_d0"]), ("reader.d1", fields["wiegand_d1"])]
    else:
        keys.append(("reader.de_pin", fields["de_pin"]))
    return keys


def parse_profile(text: str, source: str = PROFILE_NAME) -> Profile:
    """A Profile from TOML text; ProfileError naming the key if anything is wrong."""
    try:
        r = _Reader(tomllib.loads(text), source)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: not valid TOML: {exc}") from None
    fields = {
        "relay_pin": r.pin("relay.pin"),
        "lock_wiring": r.choice("relay.lock_wiring", ("NO", "NC"), "NO"),
        "inputs_active_low": r.get("inputs_active_low", bool, True, required=False),
        "outputs_active_high": r.get("outputs_active_high", bool, True, required=False),
        "input_pins": _pins(r, INPUT_KEYS),
        "output_pins": _pins(r, OUTPUT_KEYS),
        "aux_pins": {name: r.pin(f"{name}.pin") for name in AUX_PORTS},
        "aux_directions": {
            name: r.choice(f"{name}.direction", (INPUT, OUTPUT), INPUT) for name in AUX_PORTS
        },
        "button_pin": r.pin("button.pin"),
        "status_led_pins": {c: r.pin(f"status_led.{c}") for c in ("green", "red")},
        "power_led_pins": _optional_pins(r, "power_led", ("green", "red")),
        "relay_led_pins": _optional_pins(r, "relay_led", ("green",)),
        "adc": _adc(r),
        "motion": _motion(r),
        **_reader_section(r),
    }
    _check_conflicts(r, fields)
    return Profile(**fields)


def default_profile() -> Profile:
    """The profile the defaults file describes."""
    return parse_profile(DEFAULT_PROFILE, "built-in defaults")


def load_profile(data_dir: str | os.PathLike) -> Profile:
    """Read `hardware.toml` from the data directory, writing the defaults first if missing."""
    path = Path(data_dir) / PROFILE_NAME
    if not path.exists():
        write_default_profile(path)
    return parse_profile(path.read_text(encoding="utf-8"), str(path))


def write_default_profile(path: Path) -> None:
    """Write the commented defaults atomically, readable by all (mode 0644): no secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(DEFAULT_PROFILE, encoding="utf-8")
    os.chmod(partial, 0o644)  # not left to the umask: the installer must be able to read it
    os.replace(partial, path)
