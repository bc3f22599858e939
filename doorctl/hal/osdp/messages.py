"""OSDP command payloads and reply parsers (pure functions, no I/O).

Builders return ``(code, data)`` ready for ``codec.encode_frame``; parsers take
a reply's code and data and return ``(kind, payload)`` where payload is a plain
dict, as the bus passes it on to the controller.
"""

from __future__ import annotations

import struct

from doorctl.hal import wiegand

from . import capabilities

# Commands (CP -> PD)
POLL = 0x60
ID = 0x61
CAP = 0x62
LSTAT = 0x64
ISTAT = 0x65
OSTAT = 0x66
OUT = 0x68
LED = 0x69
BUZ = 0x6A
TEXT = 0x6B
COMSET = 0x6E
KEYSET = 0x75
CHLNG = 0x76
SCRYPT = 0x77
FILETRANSFER = 0x7C
MFG = 0x80

# Replies (PD -> CP)
ACK = 0x40
NAK = 0x41
PDID = 0x45
PDCAP = 0x46
LSTATR = 0x48
ISTATR = 0x49
OSTATR = 0x4A
RAW = 0x50
FMT = 0x51
KEYPAD = 0x53
COM = 0x54
CCRYPT = 0x76
RMAC_I = 0x78
BUSY = 0x79
FTSTAT = 0x7A
MFGREP = 0x90

# The commands by their names in the OSDP specification (events and live fields).
COMMAND_NAMES = {
    POLL: "osdp_POLL",
    ID: "osdp_ID",
    CAP: "osdp_CAP",
    LSTAT: "osdp_LSTAT",
    ISTAT: "osdp_ISTAT",
    OSTAT: "osdp_OSTAT",
    OUT: "osdp_OUT",
    LED: "osdp_LED",
    BUZ: "osdp_BUZ",
    TEXT: "osdp_TEXT",
    COMSET: "osdp_COMSET",
    KEYSET: "osdp_KEYSET",
    CHLNG: "osdp_CHLNG",
    SCRYPT: "osdp_SCRYPT",
    FILETRANSFER: "osdp_FILETRANSFER",
    MFG: "osdp_MFG",
}

# osdp_NAK error codes, as the specification words them (what a page shows).
NAK_ERRORS = {
    0: "No error",
    1: "Message check character(s) error (bad checksum or CRC)",
    2: "Command length error",
    3: "Unknown command code: command not implemented by the PD",
    4: "Unexpected sequence number detected in the header",
    5: "This PD does not support the security block that was received",
    6: "Encrypted communication is required to process this command",
    7: "BIO_TYPE not supported",
    8: "BIO_FORMAT not supported",
    9: "Unable to process command record",
}

NAK_REASONS = {
    0: "none",
    1: "check",
    2: "length",
    3: "unknown_command",
    4: "sequence",
    5: "sc_unsupported",
    6: "sc_condition",
    7: "bio_type",
    8: "bio_format",
    9: "record",
}

RAW_FORMATS = {0: "raw", 1: "wiegand"}

LED_COLORS = {
    "off": 0,
    "red": 1,
    "green": 2,
    "amber": 3,
    "blue": 4,
    "magenta": 5,
    "cyan": 6,
    "white": 7,
}


def id_request() -> tuple[int, bytes]:
    """osdp_ID with the only defined reply type, the standard PDID."""
    return ID, b"\x00"


def cap_request() -> tuple[int, bytes]:
    """osdp_CAP with the only defined reply type."""
    return CAP, b"\x00"


def output(output_no: int, control_code: int, timer: int = 0) -> tuple[int, bytes]:
    """osdp_OUT: control 1/2 permanent off/on, 3/4 off/on for `timer` x 100 ms."""
    return OUT, struct.pack("<BBH", output_no, control_code, timer)


def color(value: int | str) -> int:
    """Accept an LED colour by OSDP number or by name."""
    return LED_COLORS[value] if isinstance(value, str) else int(value)


def led(
    reader: int = 0,
    led_number: int = 0,
    *,
    temporary: dict | None = None,
    permanent: dict | None = None,
) -> tuple[int, bytes]:
    """osdp_LED with an optional temporary and an optional permanent setting.

    Each setting is a dict of on_color, off_color, on_count (default 1),
    off_count (default 0, i.e. steady) in 100 ms units and, for the temporary
    one, timer (x 100 ms). Absent means "no change" (control code 0).
    """
    temp = _led_part(temporary, temporary=True)
    perm = _led_part(permanent, temporary=False)
    return LED, bytes([reader, led_number]) + temp + perm


def _led_part(setting: dict | None, *, temporary: bool) -> bytes:
    """One half of an LED record; control code 1 cancels/sets, 2 sets temporary."""
    if setting is None:
        return bytes(7 if temporary else 5)
    code = 2 if temporary else 1
    on, off = color(setting.get("on_color", 0)), color(setting.get("off_color", 0))
    # on_count 0 with off_count 0 is invalid; on with off 0 means "steady on_color".
    part = bytes([code, setting.get("on_count", 1), setting.get("off_count", 0), on, off])
    if temporary:
        part += struct.pack("<H", setting.get("timer", 0))
    return part


def buzzer(
    reader: int = 0, tone: int = 2, on_count: int = 1, off_count: int = 1, repeat: int = 1
) -> tuple[int, bytes]:
    """osdp_BUZ: tone 1 off, 2 default tone; on/off in 100 ms units; repeat 0 = forever."""
    return BUZ, bytes([reader, tone, on_count, off_count, repeat])


def text(
    message: str, reader: int = 0, command: int = 1, temp_time: int = 0, row: int = 1, col: int = 1
) -> tuple[int, bytes]:
    """osdp_TEXT: command 1 permanent no wrap ... 4 temporary with wrap."""
    data = message.encode("ascii", "replace")[:32]
    return TEXT, bytes([reader, command, temp_time, row, col, len(data)]) + data


def comset(address: int, baud: int) -> tuple[int, bytes]:
    """osdp_COMSET: new address and baud rate, acknowledged with osdp_COM."""
    return COMSET, struct.pack("<BI", address, baud)


def keyset(key: bytes) -> tuple[int, bytes]:
    """osdp_KEYSET of a secure channel base key (type 1, 16 bytes)."""
    return KEYSET, bytes([1, len(key)]) + key


def challenge(cp_random: bytes) -> tuple[int, bytes]:
    """osdp_CHLNG carrying the CP's 8 random bytes."""
    return CHLNG, cp_random


def server_cryptogram(cryptogram: bytes) -> tuple[int, bytes]:
    """osdp_SCRYPT carrying the CP's cryptogram."""
    return SCRYPT, cryptogram


def file_chunk(file_type: int, total: int, offset: int, chunk: bytes) -> tuple[int, bytes]:
    """osdp_FILETRANSFER: one fragment of a file at `offset`; empty means idle."""
    return FILETRANSFER, struct.pack("<BIIH", file_type, total, offset, len(chunk)) + chunk


def bit_string(data: bytes, bits: int) -> str:
    """The first `bits` bits of `data`, most significant first, as '0'/'1'."""
    return "".join("1" if data[i // 8] & (0x80 >> (i % 8)) else "0" for i in range(bits))


def h10301(bits: str) -> dict:
    """Facility and number of a 26-bit H10301 string, if its parity holds."""
    card = wiegand.decode(bits) if len(bits) == 26 else None
    if not isinstance(card, wiegand.CardRead):
        return {}
    return {"facility": card.facility, "number": card.number}


def parse_reply(code: int, data: bytes) -> tuple[str, dict]:
    """Decode a reply into (kind, payload); unknown or short replies become 'unknown'."""
    parser = _PARSERS.get(code)
    if parser is None:
        return "unknown", {"code": code, "data": data.hex()}
    try:
        return parser(data)
    except (IndexError, struct.error, ValueError):
        return "unknown", {"code": code, "data": data.hex()}


def _ack(data: bytes) -> tuple[str, dict]:
    return "ack", {}


def _nak(data: bytes) -> tuple[str, dict]:
    reason = data[0] if data else 0
    return "nak", {"code": reason, "reason": NAK_REASONS.get(reason, "unknown")}


def command_name(code: int) -> str:
    """A command's name in the specification, e.g. osdp_LED; its code if it has none."""
    return COMMAND_NAMES.get(code, f"command 0x{code:02X}")


def nak_error(code: int) -> str:
    """The specification's words for a NAK error code."""
    return NAK_ERRORS.get(code, f"Error code {code} (not defined by OSDP 2.2)")


def _pdid(data: bytes) -> tuple[str, dict]:
    # The vendor code (the IEEE OUI) comes least significant byte first, like every
    # multi-byte field of OSDP: OUI 00-CA-FE arrives as FE CA 00.
    vendor_code = int.from_bytes(data[0:3], "little")
    model, version = data[3], data[4]
    serial = struct.unpack_from("<I", data, 5)[0]
    firmware = f"{data[9]}.{data[10]}.{data[11]}"
    return "id", {
        "vendor": f"{vendor_code:06x}",
        "vendor_code": vendor_code,
        "model": model,
        "version": version,
        "serial": f"{serial:08x}",
        "firmware": firmware,
    }


def _pdcap(data: bytes) -> tuple[str, dict]:
    caps = {}
    for i in range(0, len(data) - 2, 3):
        caps[capabilities.key(data[i])] = capabilities.describe(*data[i : i + 3])
    return "cap", caps


def _lstatr(data: bytes) -> tuple[str, dict]:
    return "lstat", {"tamper": bool(data[0]), "power": bool(data[1])}


def _istatr(data: bytes) -> tuple[str, dict]:
    return "istat", {"inputs": list(data)}


def _ostatr(data: bytes) -> tuple[str, dict]:
    return "ostat", {"outputs": list(data)}


def _raw(data: bytes) -> tuple[str, dict]:
    reader, fmt = data[0], data[1]
    bits = struct.unpack_from("<H", data, 2)[0]
    payload = data[4 : 4 + (bits + 7) // 8]
    if len(payload) * 8 < bits:
        raise ValueError("card data shorter than its bit count")
    string = bit_string(payload, bits)
    card = {"reader": reader, "format": RAW_FORMATS.get(fmt, f"format_{fmt}")}
    card.update({"bits": bits, "data": payload.hex(), "bit_string": string})
    card.update(h10301(string) if fmt == 1 else {})
    return "card", card


def _fmt(data: bytes) -> tuple[str, dict]:
    reader, direction, count = data[0], data[1], data[2]
    chars = data[3 : 3 + count].decode("ascii", "replace")
    return "card", {"reader": reader, "format": "ascii", "direction": direction, "text": chars}


def _keypad(data: bytes) -> tuple[str, dict]:
    reader, count = data[0], data[1]
    # OSDP sends '*' as 0x7F and '#' as 0x0D; everything else is plain ASCII.
    keys = "".join({0x7F: "*", 0x0D: "#"}.get(b, chr(b)) for b in data[2 : 2 + count])
    return "keypad", {"reader": reader, "keys": keys}


def _com(data: bytes) -> tuple[str, dict]:
    address, baud = struct.unpack_from("<BI", data)
    return "com", {"address": address, "baud": baud}


def _ccrypt(data: bytes) -> tuple[str, dict]:
    if len(data) < 32:
        raise ValueError("short osdp_CCRYPT")
    return "ccrypt", {"uid": data[0:8], "pd_random": data[8:16], "cryptogram": data[16:32]}


def _rmac_i(data: bytes) -> tuple[str, dict]:
    if len(data) < 16:
        raise ValueError("short osdp_RMAC_I")
    return "rmac_i", {"rmac": data[:16]}


def _busy(data: bytes) -> tuple[str, dict]:
    return "busy", {}


def _ftstat(data: bytes) -> tuple[str, dict]:
    control, delay, status, rx_size = struct.unpack_from("<BHhH", data)
    return "ftstat", {"control": control, "delay": delay, "status": status, "rx_size": rx_size}


def _mfgrep(data: bytes) -> tuple[str, dict]:
    if len(data) < 3:
        raise ValueError("short osdp_MFGREP")
    return "mfgrep", {"vendor_code": int.from_bytes(data[:3], "little"), "data": data[3:].hex()}


_PARSERS = {
    ACK: _ack,
    NAK: _nak,
    PDID: _pdid,
    PDCAP: _pdcap,
    LSTATR: _lstatr,
    ISTATR: _istatr,
    OSTATR: _ostatr,
    RAW: _raw,
    FMT: _fmt,
    KEYPAD: _keypad,
    COM: _com,
    CCRYPT: _ccrypt,
    RMAC_I: _rmac_i,
    BUSY: _busy,
    FTSTAT: _ftstat,
    MFGREP: _mfgrep,
}
