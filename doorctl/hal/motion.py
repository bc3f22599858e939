"""Device motion (manual: Alarms > Device motion): an ADXL345 accelerometer on I2C.

The ADXL345 is on the cheapest common breakout boards (GY-291, a few euros), runs on
the Pi's 3.3 V, answers at a fixed I2C address with a fixed device ID, and reads
13 bits at 3.9 mg per count in its full-resolution mode; smbus2 (pure Python) talks
to it through /dev/i2c-1. The board samples it ten times a second.

The controller is moving while its acceleration strays from its resting value by more
than the threshold, in g (1 g = 9.81 m/s², the pull of gravity). The resting value
follows the readings slowly, so a controller knocked askew and left there settles;
motion ends `hold` seconds after the last reading above the threshold.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import gevent

from doorctl.hal.base import Listeners

CHIP = "ADXL345"
ADDRESSES = (0x53, 0x1D)  # ALT ADDRESS pin low (most breakouts) or high
DEVID = 0xE5
REG_DEVID = 0x00
REG_BW_RATE = 0x2C
REG_POWER_CTL = 0x2D
REG_DATA_FORMAT = 0x31
REG_DATAX0 = 0x32
BW_25_HZ = 0x08  # 25 readings/s: smooth enough for 10 samples/s
MEASURE = 0x08
FULL_RES_4G = 0x09  # full resolution (3.9 mg per count), ±4 g
G_PER_COUNT = 0.0039
DEFAULT_THRESHOLD = 0.3
THRESHOLD_RANGE = (0.05, 2.0)
HOLD_SECONDS = 5.0
REST_SECONDS = 10.0  # time constant of the resting value


class MotionSensorError(OSError):
    """The accelerometer is missing or is another chip."""


class Adxl345:
    """The ADXL345 on an SMBus (smbus2.SMBus, or a stand-in with its methods)."""

    def __init__(self, bus, address: int = ADDRESSES[0]):
        self.bus = bus
        self.address = address

    def device_id(self) -> int:
        """The DEVID register: 0xE5 on an ADXL345."""
        return self.bus.read_byte_data(self.address, REG_DEVID)

    def start(self) -> None:
        """Check the chip is an ADXL345 and start measuring at full resolution."""
        found = self.device_id()
        if found != DEVID:
            raise MotionSensorError(
                f"I2C address 0x{self.address:02x} answers with ID 0x{found:02x}, "
                f"not the ADXL345's 0x{DEVID:02x}"
            )
        self.bus.write_byte_data(self.address, REG_DATA_FORMAT, FULL_RES_4G)
        self.bus.write_byte_data(self.address, REG_BW_RATE, BW_25_HZ)
        self.bus.write_byte_data(self.address, REG_POWER_CTL, MEASURE)

    def read_g(self) -> tuple[float, float, float]:
        """The acceleration on x, y and z in g (one 6-byte read: a consistent sample)."""
        data = self.bus.read_i2c_block_data(self.address, REG_DATAX0, 6)
        return tuple(count * G_PER_COUNT for count in struct.unpack("<hhh", bytes(data)))

    def close(self) -> None:
        """Put the chip in standby and release the bus."""
        try:
            self.bus.write_byte_data(self.address, REG_POWER_CTL, 0)
        finally:
            self.bus.close()


def open_adxl345(bus_number: int, address: int) -> Adxl345:
    """The ADXL345 on /dev/i2c-<bus_number>, measuring."""
    from smbus2 import SMBus  # only boards with a motion sensor need it

    chip = Adxl345(SMBus(bus_number), address)
    try:
        chip.start()
    except Exception:
        chip.bus.close()
        raise
    return chip


class MotionSensor:
    """Whether the controller is moving, from acceleration samples the backend feeds."""

    def __init__(self, chip: str = CHIP, threshold: float = DEFAULT_THRESHOLD):
        self.chip = chip
        self.threshold = threshold
        self.hold = HOLD_SECONDS
        self.last_g: tuple[float, float, float] | None = None
        self._rest: tuple[float, float, float] | None = None
        self._moving = False
        self._settle: gevent.Greenlet | None = None
        self._changes = Listeners()

    def moving(self) -> bool:
        """True while motion is detected."""
        return self._moving

    def on_change(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call `callback(moving)` when motion starts and when it ends."""
        return self._changes.add(callback)

    def deviation(self) -> float:
        """How far the last sample is from rest, in g."""
        if self.last_g is None or self._rest is None:
            return 0.0
        return math.dist(self.last_g, self._rest)

    def _sample(self, g: tuple[float, float, float], interval: float = 0.1) -> None:
        """Backend: one acceleration sample in g, `interval` seconds after the last."""
        self.last_g = tuple(g)
        if self._rest is None:
            self._rest = self.last_g
        moved = self.deviation() > self.threshold
        follow = min(1.0, interval / REST_SECONDS)
        self._rest = tuple(
            r + (s - r) * follow for r, s in zip(self._rest, self.last_g, strict=True)
        )
        if moved:
            self._set(True)
            if self._settle is not None:
                self._settle.kill(block=False)
            self._settle = gevent.spawn_later(self.hold, self._set, False)

    def _set(self, moving: bool) -> None:
        if moving != self._moving:
            self._moving = moving
            self._changes.fire(moving)

    def close(self) -> None:
        """Stop the pending end of motion."""
        if self._settle is not None:
            self._settle.kill(block=False)
