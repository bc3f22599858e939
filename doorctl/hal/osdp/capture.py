"""OSDP capture: a bus's frames as a pcap file that Wireshark's OSDP dissector opens.

The file is classic pcap (microsecond timestamps) with link type 162, LINKTYPE_USER15,
which libosdp uses for its own packet traces and its Wireshark dissector reads: each
record is one OSDP frame as it was on the line, SOM to check bytes. The control
panel's commands are recorded as they are written; replies as the bytes read from
the port decode into valid frames (an adapter's echo of our own command, which has no
reply bit, is not recorded twice).

Secure channel keys never reach the file: a KEYSET command's data (the new key, even
encrypted, since a session opened with the published install key SCBK-D can be
decrypted by anyone holding the capture) and its MAC are replaced with zeros and its
check bytes recomputed, so the frame still parses. The base key itself never travels
on the line otherwise.
"""

from __future__ import annotations

import struct
import time

from .codec import HEADER_LEN, Frame, FrameDecoder, checksum, crc16
from .messages import KEYSET

LINKTYPE = 162  # LINKTYPE_USER15, as libosdp's packet traces
PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps
SNAPLEN = 65535
PCAP_HEADER, RECORD_HEADER = 24, 16
# A bus at 230400 baud, polled as fast as it goes, fills this in about 10 minutes.
MAX_BYTES = 32 * 1024 * 1024


class Capture:
    """The frames of one bus while it records; `pcap()` gives the file."""

    def __init__(self, clock=time.time, max_bytes: int = MAX_BYTES) -> None:
        # The pcap records as they come: a download is then one copy, not 10^5 packs.
        self._records = bytearray()
        self.frames = 0
        self.size = PCAP_HEADER  # of the file so far
        self.dropped = 0
        self.redacted = 0
        self._clock, self._max = clock, max_bytes
        self._replies = FrameDecoder()
        self._commands = FrameDecoder()

    def sent(self, data: bytes) -> None:
        """A command the control panel wrote to the line."""
        for frame in self._commands.feed(bytes(data)):
            self._add(self._redacted(frame) if frame.code == KEYSET else raw(frame))

    def received(self, data: bytes) -> None:
        """Bytes read from the line; the replies among them are recorded."""
        for frame in self._replies.feed(data):
            if frame.reply:
                self._add(raw(frame))

    def _add(self, frame: bytes) -> None:
        if self.size + RECORD_HEADER + len(frame) > self._max:
            self.dropped += 1
            return
        self._records += record(self._clock(), frame)
        self.frames += 1
        self.size += RECORD_HEADER + len(frame)

    def _redacted(self, frame: Frame) -> bytes:
        """A KEYSET with its data and MAC zeroed (the key never goes into a capture)."""
        self.redacted += 1
        start = HEADER_LEN + len(frame.scb) + 1
        body = frame.mac_input[:start] + bytes(len(frame.data) + len(frame.mac))
        return seal(body, frame.crc)

    def pcap(self) -> bytes:
        """The capture as a pcap file."""
        header = struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE)
        return header + self._records


def raw(frame: Frame) -> bytes:
    """A decoded frame's bytes as they were on the line (its check bytes were valid)."""
    return seal(frame.mac_input + frame.mac, frame.crc)


def seal(body: bytes, crc: bool) -> bytes:
    """A frame body with its CRC-16 or checksum appended."""
    if crc:
        return body + crc16(body).to_bytes(2, "little")
    return body + bytes([checksum(body)])


def record(at: float, frame: bytes) -> bytes:
    """One pcap record: seconds, microseconds, captured and original length, the frame."""
    seconds = int(at)
    micros = min(999_999, round((at - seconds) * 1_000_000))
    return struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame
