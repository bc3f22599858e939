"""Reading an OSDP capture strictly: the pcap header, every record, every frame's check bytes."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from support import require

from doorctl.hal.osdp.codec import FrameDecoder


def read_pcap(data: bytes) -> list[tuple[float, bytes]]:
    """(time, frame) of every record; AssertionError at the first thing out of place."""
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, zone, sigfigs) == (0xA1B2C3D4, 2, 4, 0, 0)
    assert (snaplen, linktype) == (65535, 162)  # LINKTYPE_USER15, libosdp's traces
    records, offset = [], 24
    while offset < len(data):
        seconds, micros, included, original = struct.unpack_from("<IIII", data, offset)
        assert included == original and micros < 1_000_000
        frame = data[offset + 16 : offset + 16 + included]
        assert len(frame) == included, "a record runs past the end of the file"
        records.append((seconds + micros / 1e6, frame))
        offset += 16 + included
    assert offset == len(data)
    return records


def frames(data: bytes) -> list:
    """Every record as a decoded OSDP frame; each record must be exactly one valid frame."""
    decoded = []
    for _, raw in read_pcap(data):
        found = FrameDecoder().feed(raw)
        assert len(found) == 1, f"record {raw.hex()} is not one valid OSDP frame"
        decoded.append(found[0])
    return decoded


DISSECTOR = Path(__file__).resolve().parent / "peers" / "osdp_dissector_check.lua"


def tshark_frames(path) -> list[tuple[int, bool, int]]:
    """(address, reply, code) of every frame as tshark's OSDP dissector reads the file."""
    tshark = require("tshark", "tshark")
    fields = ("osdpcheck.address", "osdpcheck.reply", "osdpcheck.code")
    args = [tshark, "-X", f"lua_script:{DISSECTOR}", "-r", str(path), "-T", "fields"]
    args += [arg for field in fields for arg in ("-e", field)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    return [(int(a), r in ("1", "True"), int(c, 16)) for a, r, c in rows]
