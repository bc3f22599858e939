"""Stand-in for smbus2 with an ADXL345 on the bus (this machine has no /dev/i2c-1).

It keeps the chip's register semantics: DEVID 0xE5 at register 0, data registers
0x32-0x37 little-endian two's complement that read 0 in standby and the acceleration
once POWER_CTL's Measure bit is set, scaled by DATA_FORMAT (full resolution: 3.9 mg
per count at any range; 10-bit: 3.9 mg times range/2 g, clipped at the range), and
OSError 121 (no acknowledge) from any other address. Tests move the chip with
`ADXL345.accelerate(x, y, z)` (in g); `SMBUS2_STANDIN_ABSENT=1` takes it off the bus,
as does `ADXL345.present = False` later; `ADXL345.asked` counts the transactions
addressed to it, answered or not.
"""

from __future__ import annotations

import os
import struct

RANGES_G = (2, 4, 8, 16)


class Adxl345Chip:
    """The registers of one ADXL345 and the acceleration it feels."""

    def __init__(self, address: int = 0x53):
        self.address = address
        self.present = not os.environ.get("SMBUS2_STANDIN_ABSENT")
        self.registers = bytearray(0x40)
        self.registers[0x00] = 0xE5
        self.registers[0x2C] = 0x0A  # BW_RATE reset value
        self.g = (0.0, 0.0, 1.0)  # lying flat: gravity on z
        self.opened: list[int] = []
        self.asked = 0

    def accelerate(self, x: float, y: float, z: float) -> None:
        """The chip now feels (x, y, z) g."""
        self.g = (x, y, z)

    def counts(self) -> bytes:
        """DATAX0..DATAZ1 as the chip would present them."""
        if not self.registers[0x2D] & 0x08:
            return bytes(6)
        fmt = self.registers[0x31]
        g_range = RANGES_G[fmt & 3]
        scale = 0.0039 if fmt & 0x08 else 0.0039 * g_range / 2
        limit = int(g_range / scale)
        values = [max(-limit, min(limit - 1, round(g / scale))) for g in self.g]
        return struct.pack("<hhh", *values)

    def read(self, register: int, length: int) -> list[int]:
        data = bytes(self.registers)
        data = data[:0x32] + self.counts() + data[0x38:]
        return list(data[register : register + length])


ADXL345 = Adxl345Chip()


class SMBus:
    """smbus2.SMBus: byte and block reads and writes to one device on /dev/i2c-<bus>."""

    def __init__(self, bus: int | None = None, force: bool = False):
        self.bus = bus
        ADXL345.opened.append(bus)

    def _chip(self, address: int) -> Adxl345Chip:
        if address == ADXL345.address:
            ADXL345.asked += 1
        if address != ADXL345.address or not ADXL345.present:
            raise OSError(121, "Remote I/O error")
        return ADXL345

    def read_byte_data(self, i2c_addr: int, register: int, force=None) -> int:
        """One register."""
        return self._chip(i2c_addr).read(register, 1)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force=None) -> None:
        """Write one register (DEVID and the data registers are read-only)."""
        chip = self._chip(i2c_addr)
        if register != 0 and not 0x32 <= register <= 0x37:
            chip.registers[register] = value & 0xFF

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int, force=None):
        """`length` registers from `register` on, in one transaction."""
        return self._chip(i2c_addr).read(register, length)

    def close(self) -> None:
        """Release /dev/i2c-<bus>."""
