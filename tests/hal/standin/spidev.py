"""Stand-in for spidev with an MCP3008 on the bus (this machine has no /dev/spidev).

It keeps the MCP3008's SPI protocol: a start bit, then SGL/DIFF and the channel in the
next byte's high nibble, and the 10-bit result in the last 10 bits clocked out. Tests
put a loop resistance on a channel with `ADC.set_ohms(channel, ohms)`; the divider
(10 kOhm pull-up from 3.3 V unless `ADC.pullup_ohms` says otherwise) gives the code.
`SPIDEV_STANDIN_OHMS="0:4700,1:4700"` sets channels at import, for a child process.
"""

from __future__ import annotations

import math
import os


class Mcp3008:
    """Eight channels, each a loop resistance behind the pull-up divider."""

    def __init__(self):
        self.pullup_ohms = 10_000.0
        self.ohms = [math.inf] * 8
        self.opened: list[tuple[int, int]] = []

    def set_ohms(self, channel: int, ohms: float) -> None:
        """Put a loop of `ohms` on `channel` (math.inf: open)."""
        self.ohms[channel] = float(ohms)

    def code(self, channel: int) -> int:
        """What the converter reads: 1023 * Vin / Vref, truncated."""
        ohms = self.ohms[channel]
        ratio = 1.0 if math.isinf(ohms) else ohms / (ohms + self.pullup_ohms)
        return min(1023, int(ratio * 1024))


ADC = Mcp3008()


class SpiDev:
    """spidev.SpiDev: open(bus, device), xfer2(), close()."""

    def __init__(self):
        self.max_speed_hz = 0
        self.mode = 0
        self._open = False

    def open(self, bus: int, device: int) -> None:
        """Open /dev/spidev<bus>.<device>."""
        ADC.opened.append((bus, device))
        self._open = True

    def xfer2(self, data: list[int]) -> list[int]:
        """One transaction with chip select held: the MCP3008 answers as it clocks."""
        if not self._open:
            raise OSError(9, "Bad file descriptor")
        if len(data) != 3 or data[0] & 1 != 1 or not data[1] & 0x80:
            return [0] * len(data)  # no start bit or differential mode: not modelled
        code = ADC.code((data[1] >> 4) & 7)
        return [0, (code >> 8) & 3, code & 0xFF]

    def close(self) -> None:
        """Release the device."""
        self._open = False


for _pair in filter(None, os.environ.get("SPIDEV_STANDIN_OHMS", "").split(",")):
    _channel, _ohms = _pair.split(":")
    ADC.set_ohms(int(_channel), float(_ohms))
