"""The Raspberry Pi backend: RPi.GPIO pins, edge callbacks, and an MCP3008 on SPI.

Imported only when the rpi board is chosen (it imports RPi.GPIO at the top).
`RPi.GPIO` is the module rpi-lgpio provides on top of lgpio and the kernel's
/dev/gpiochip, the only GPIO interface of the Pi 5 and the one Bookworm keeps on the
Pi 3, 4 and Zero 2 W; the original RPi.GPIO offers the same module on older Pis.
Edge callbacks run on the library's own thread, where touching greenlets or the hub
is unsafe; they only append to a buffer under a real (unpatched) lock and wake the
hub with an async watcher, and the hub then does the work.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

import gevent
from gevent import monkey

from doorctl.hal.base import (
    AUX_PORTS,
    INPUT,
    Board,
    DigitalInput,
    DigitalOutput,
    Relay,
    StatusLed,
    WiegandPort,
)
from doorctl.hal.edges import EdgeQueue
from doorctl.hal.motion import MotionSensor, open_adxl345
from doorctl.hal.profile import Profile
from doorctl.hal.supervised import adc_to_resistance

log = logging.getLogger(__name__)


def _import_gpio():
    """RPi.GPIO, with lgpio's callback thread a real OS thread even under gevent.

    lgpio starts a threading.Thread at import that blocks reading its notification
    pipe and calls the edge callbacks. Once gevent has patched threading that thread
    is a greenlet, and its blocking read would stop the hub for good (already during
    the import: Thread.start() waits for it to run). So lgpio is imported with
    Thread.start doing nothing, and the thread's loop then runs on a native thread.

    That loop shares no gevent-patched lock with the hub: lgpio's
    `_callback_thread.run` (lgpio 0.2.2) only reads its pipe and calls the callbacks,
    taking no lock, event or condition; the Event that Thread.__init__ makes is used
    by start() and join() alone, neither of which runs; rpi-lgpio's `_Alert._call`
    takes none either (its Event is wait_for_edge's, which doorctl does not call). The
    one lock on that path is EdgeQueue's, a native one.
    """
    if monkey.is_module_patched("threading") and "lgpio" not in sys.modules:
        start = threading.Thread.start
        threading.Thread.start = lambda self: None
        try:
            import lgpio
        except ImportError:
            lgpio = None  # the original RPi.GPIO: its callbacks already run on a pthread
        finally:
            threading.Thread.start = start
        if lgpio is not None:
            loop = lgpio._notify_thread.run
            monkey.get_original("_thread", "start_new_thread")(loop, ())
    import RPi.GPIO

    return RPi.GPIO


GPIO = _import_gpio()

# Contacts bounce for a few ms. lgpio reports an edge once the level has held for the
# whole period (RPi.GPIO: the first edge, then silence), so 20 ms keeps a door or REX
# change to one event and delays it by 20 ms.
INPUT_BOUNCE_MS = 20
# Safety net for edges RPi.GPIO's debounce swallowed, and the supervised-loop sample rate.
POLL_INTERVAL = 0.1


class Mcp3008:
    """The 10-bit ADC that measures supervised loops, on /dev/spidev<bus>.<device>."""

    def __init__(self, bus: int, device: int):
        import spidev  # only boards with supervised inputs need it

        self._spi = spidev.SpiDev()
        self._spi.open(bus, device)
        self._spi.max_speed_hz = 1_000_000  # well inside the MCP3008's 1.35 MHz at 3.3 V

    def read(self, channel: int) -> int:
        """One single-ended conversion, 0-1023 (a ~30 µs transfer, fine on the hub)."""
        reply = self._spi.xfer2([1, (8 + channel) << 4, 0])
        return ((reply[1] & 3) << 8) | reply[2]

    def close(self) -> None:
        """Release the SPI device."""
        self._spi.close()


class RpiOutput(DigitalOutput):
    """An output on one GPIO pin."""

    def __init__(self, name: str, pin: int, active_high: bool):
        super().__init__(name)
        self.pin = pin
        self.active_high = active_high

    def setup(self) -> None:
        """Make the pin an output, inactive from the first instant."""
        GPIO.setup(self.pin, GPIO.OUT, initial=self._level(False))

    def _level(self, active: bool) -> int:
        """The pin level that means `active`."""
        return GPIO.HIGH if active == self.active_high else GPIO.LOW

    def _drive(self, active: bool) -> None:
        """Set the pin."""
        GPIO.output(self.pin, self._level(active))


class RpiRelay(RpiOutput, Relay):
    """The lock relay on one GPIO pin."""

    def __init__(self, pin: int, active_high: bool, lock_wiring: str):
        RpiOutput.__init__(self, "relay", pin, active_high)
        self.lock_wiring = lock_wiring


class RpiStatusLed(StatusLed):
    """A red/green LED on up to two pins (amber lights both); a die without a pin in
    the profile is left out, and an LED without any pin only keeps its state."""

    def __init__(self, pins: dict[str, int], active_high: bool, name: str = "status_led"):
        super().__init__(name)
        self.dies = {color: RpiOutput(color, pin, active_high) for color, pin in pins.items()}

    def _drive_color(self, color: str) -> None:
        """Light the dies for `color`."""
        lit = {"red": color in ("red", "amber"), "green": color in ("green", "amber")}
        for die_color, die in self.dies.items():
            die._drive(lit[die_color])


class RpiBoard(Board):
    """The controller on a Raspberry Pi, wired as the hardware profile says."""

    kind = "rpi"

    def __init__(self, profile: Profile):
        GPIO.setwarnings(False)
        GPIO.setmode(GPIO.BCM)
        self.profile = profile
        high = profile.outputs_active_high
        relay = RpiRelay(profile.relay_pin, high, profile.lock_wiring)
        super().__init__(relay, WiegandPort(profile.wiegand_gap, profile.wiegand_format37))
        self.status_led = RpiStatusLed(profile.status_led_pins, high)
        self.power_led = RpiStatusLed(profile.power_led_pins, high, "power_led")
        self.relay_led = RpiStatusLed(profile.relay_led_pins, high, "relay_led")
        self._input_pins: dict[int, DigitalInput] = {}
        self._edges = EdgeQueue(self._on_edge)
        self._adc = Mcp3008(profile.adc.spi_bus, profile.adc.spi_device) if profile.adc else None
        self._motion_failures = 0  # failed reads in a row: logged once, then on recovery
        self._accelerometer = self._open_motion()
        self._build_outputs()
        self._build_inputs()
        self._build_reader_and_button()
        self._build_rs485()
        self._poller = gevent.spawn(self._poll)

    def _open_motion(self):
        """The profile's accelerometer, measuring; a missing chip leaves motion unsensed."""
        config = self.profile.motion
        if config is None:
            return None
        try:
            chip = open_adxl345(config.i2c_bus, config.address)
        except ImportError as exc:
            log.error(
                "the %s needs the Python module smbus2, which is not installed (%s): "
                "pip install smbus2 in doorctl's environment, or apt install python3-smbus2; "
                "running without device motion",
                config.chip,
                exc,
            )
            return None
        except OSError as exc:
            log.error(
                "no %s on I2C bus %d at 0x%02x: %s",
                config.chip,
                config.i2c_bus,
                config.address,
                exc,
            )
            return None
        self.motion = MotionSensor(config.chip)
        return chip

    def _build_rs485(self) -> None:
        """The RS-485 device for OSDP and its DE pin: high while we transmit."""
        self.rs485_port = self.profile.serial_device
        if self.profile.de_pin is not None:
            driver_enable = RpiOutput("rs485_de", self.profile.de_pin, active_high=True)
            driver_enable.setup()
            self.rs485_direction = driver_enable.set

    def _build_outputs(self) -> None:
        """Relay, reader feedback and status LED, all inactive."""
        high = self.profile.outputs_active_high
        self.relay.setup()
        self._add_output(self.relay)
        for name, pin in self.profile.output_pins.items():
            port = RpiOutput(name, pin, high)
            port.setup()
            self._add_output(port)
        for led in self.leds().values():
            for die in led.dies.values():
                die.setup()
        self._add_output(self.status_led)

    def _build_inputs(self) -> None:
        """The fixed inputs, then the configurable aux ports in the profile's direction."""
        for name, pin in self.profile.input_pins.items():
            self._add_input(self._make_input(name, pin))
        high = self.profile.outputs_active_high
        for name in AUX_PORTS:
            pin = self.profile.aux_pins[name]
            port_in = self._make_input(name, pin, watch=False)
            direction = self.profile.aux_directions.get(name, INPUT)
            self._add_aux(port_in, RpiOutput(name, pin, high), direction)

    def _make_input(self, name: str, pin: int, watch: bool = True) -> DigitalInput:
        """An input on `pin`; supervisable when the profile gives it an ADC channel."""
        channels = self.profile.adc.channels if self.profile.adc else {}
        port = DigitalInput(name, supervisable=name in channels)
        port.pin = pin
        if watch:
            self._watch_input(port)
        return port

    def _watch_input(self, port: DigitalInput) -> None:
        """Pull the pin up and report both edges through the edge queue."""
        GPIO.setup(port.pin, GPIO.IN, pull_up_down=GPIO.PUD_UP)
        self._input_pins[port.pin] = port
        GPIO.add_event_detect(
            port.pin, GPIO.BOTH, callback=self._edges.push, bouncetime=INPUT_BOUNCE_MS
        )
        port._update(self._is_active(port.pin))

    def _is_active(self, pin: int) -> bool:
        """Circuit closed: the pin is pulled to ground (or high, for inverting front ends)."""
        level = GPIO.input(pin)
        return level == GPIO.LOW if self.profile.inputs_active_low else level == GPIO.HIGH

    def _build_reader_and_button(self) -> None:
        """Wiegand D0/D1 (falling edge = one bit) and the control button."""
        if self.profile.reader_protocol == "wiegand":
            for pin in (self.profile.wiegand_d0, self.profile.wiegand_d1):
                # no debounce: pulses are 50-100 µs wide and 1-2 ms apart
                GPIO.setup(pin, GPIO.IN, pull_up_down=GPIO.PUD_UP)
                GPIO.add_event_detect(pin, GPIO.FALLING, callback=self._edges.push)
        pin = self.profile.button_pin
        GPIO.setup(pin, GPIO.IN, pull_up_down=GPIO.PUD_UP)
        GPIO.add_event_detect(pin, GPIO.BOTH, callback=self._edges.push, bouncetime=50)
        # held since power on: the start-up code times the hold from here
        self.button._set(GPIO.input(pin) == GPIO.LOW, time.monotonic())

    def _on_edge(self, pin: int, when: float) -> None:
        """Hub: route one buffered edge to the Wiegand port, the button or an input."""
        if pin == self.profile.wiegand_d0 and self.profile.reader_protocol == "wiegand":
            self.wiegand._pulse(0)
        elif pin == self.profile.wiegand_d1 and self.profile.reader_protocol == "wiegand":
            self.wiegand._pulse(1)
        elif pin == self.profile.button_pin:
            self._on_button(GPIO.input(pin) == GPIO.LOW, when)
        elif pin in self._input_pins:
            self._refresh(self._input_pins[pin])

    def _on_button(self, down: bool, when: float) -> None:
        """Each edge of the button (pulled up: low while pressed), timed by the queue."""
        self.button._set(down, when)

    def _refresh(self, port: DigitalInput) -> None:
        """Read an input again: from the ADC when supervised, else from its pin."""
        if port.supervised is not None and self._adc is not None:
            adc = self.profile.adc
            code = self._adc.read(adc.channels[port.name])
            port._measure(adc_to_resistance(code, adc.pullup_ohms, adc.vref))
        else:
            port._update(self._is_active(port.pin))

    def _poll(self) -> None:
        """Sample supervised loops and catch any edge the debounce swallowed."""
        while True:
            gevent.sleep(POLL_INTERVAL)
            for port in list(self._input_pins.values()):
                try:
                    self._refresh(port)
                except Exception:
                    log.exception("reading %s failed", port.name)
            self._sample_motion()

    def _sample_motion(self) -> None:
        """One accelerometer reading (a 6-byte I2C read, under 1 ms at 100 kHz); a chip
        that stops answering is logged once, and again once it answers, not at every
        poll (ten a second would fill the system log and flood remote syslog)."""
        if self._accelerometer is None:
            return
        try:
            g = self._accelerometer.read_g()
        except OSError as exc:
            if not self._motion_failures:
                log.error(
                    "reading the %s failed: %s; retried every %.1f s, logged again when it answers",
                    self.motion.chip,
                    exc,
                    POLL_INTERVAL,
                )
            self._motion_failures += 1
            return
        if self._motion_failures:
            log.warning(
                "the %s answers again after %d failed reads",
                self.motion.chip,
                self._motion_failures,
            )
            self._motion_failures = 0
        self.motion._sample(g, POLL_INTERVAL)

    def _configure_direction(self, name: str, direction: str) -> None:
        """Re-set the aux pin: pulled-up watched input, or output starting inactive."""
        port_in = self._ports_in[name]
        if self._input_pins.pop(port_in.pin, None) is not None:
            GPIO.remove_event_detect(port_in.pin)
        if direction == INPUT:
            self._watch_input(port_in)
        else:
            self._ports_out[name].setup()

    def _release(self) -> None:
        """Stop polling and hand every pin back to the kernel."""
        self._poller.kill(block=False)
        self._edges.close()
        if self._adc is not None:
            self._adc.close()
        if self._accelerometer is not None:
            self._accelerometer.close()
        GPIO.cleanup()
