"""Syslog messages as the wire carries them: RFC 3164 and RFC 5424, and RFC 6587's
octet-counting frame for TCP and TLS. Pure functions of a Message, tested by table.

PRI is facility * 8 + severity. Access decisions and log-ins go out with facility
auth (4), the one collectors route security and authorization messages by; the rest
(doors, alarms, configuration, the system log) with local0 (16), the first facility
RFC 5424 leaves to local use, since no standard facility names a door controller.

Structured data needs an SD-ID of the form name@PEN, a Private Enterprise Number
from IANA. doorctl has none, so it uses 32473, the number RFC 5612 reserves for
documentation and examples: no one else's, and easy to change once a number exists.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from doorctl.core.logs.system_log import shorten

APP_NAME = "doorctl"
PEN = 32473  # RFC 5612's example number: doorctl has no Private Enterprise Number
AUTH, LOCAL0 = 4, 16
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
NIL = "-"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_NAME = 32  # SD-NAME and MSGID: 1 to 32 printable US-ASCII characters


@dataclass(frozen=True)
class Message:
    """One thing to send, before it has a format: who, when, what, and its data."""

    time: float
    facility: int
    severity: int
    msgid: str
    text: str
    hostname: str
    procid: int
    # SD-ID name (before @PEN) -> parameters; values of any JSON type
    data: dict[str, dict] = field(default_factory=dict)

    @property
    def pri(self) -> int:
        """The PRI value: facility * 8 + severity."""
        return self.facility * 8 + self.severity


def rfc5424(message: Message) -> bytes:
    """`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG`."""
    header = " ".join(
        (
            f"<{message.pri}>1",
            timestamp(message.time),
            _printable(message.hostname, 255),
            APP_NAME,
            str(message.procid),
            _printable(message.msgid, MAX_NAME),
            structured_data(message.data),
        )
    )
    return f"{header} {message.text}".encode() if message.text else header.encode()


def rfc3164(message: Message) -> bytes:
    """`<PRI>Mmm dd hh:mm:ss HOSTNAME doorctl[PID]: MSG`, the data as key=value text."""
    local = datetime.datetime.fromtimestamp(message.time).astimezone()
    stamp = f"{MONTHS[local.month - 1]} {local.day:2d} {local:%H:%M:%S}"
    hostname = _printable(message.hostname, 255)
    words = " ".join([message.text, *_pairs(message.data)]).strip()
    return f"<{message.pri}>{stamp} {hostname} {APP_NAME}[{message.procid}]: {words}".encode()


FORMATS = {"rfc3164": rfc3164, "rfc5424": rfc5424}


def within(message: Message, render: Callable[[Message], bytes], most: int) -> bytes:
    """The message rendered in at most `most` bytes, its text shortened to its head and
    its end as the system log shortens; only a header or data past the bound stays over."""
    payload = render(message)
    if len(payload) <= most:
        return payload
    room = most - len(render(replace(message, text=""))) - 1  # the space before the text
    low, high = 0, len(message.text)  # the most characters whose text fits the room
    while low < high:
        keep = (low + high + 1) // 2
        fits = len(shorten(message.text, keep).encode()) <= room
        low, high = (keep, high) if fits else (low, keep - 1)
    return render(replace(message, text=shorten(message.text, low)))


def octet_counted(payload: bytes) -> bytes:
    """RFC 6587 3.4.1: `MSG-LEN SP SYSLOG-MSG`, the length in octets."""
    return b"%d %s" % (len(payload), payload)


def timestamp(when: float) -> str:
    """RFC 3339 with microseconds and the local offset: 2026-12-02T15:20:10.123456+01:00."""
    return datetime.datetime.fromtimestamp(when).astimezone().isoformat(timespec="microseconds")


def structured_data(data: dict[str, dict]) -> str:
    """`[name@PEN key="value" ...]...`, or `-` when there is none."""
    elements = []
    for name, params in data.items():
        pairs = [f'{sd_name(k)}="{escape(value_text(v))}"' for k, v in params.items()]
        if pairs:
            elements.append(f"[{sd_name(name)}@{PEN} {' '.join(pairs)}]")
    return "".join(elements) or NIL


def escape(value: str) -> str:
    """RFC 5424 6.3.3: `"`, `\\` and `]` inside a PARAM-VALUE get a backslash."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def sd_name(name: str) -> str:
    """An SD-NAME: printable US-ASCII but `=`, space, `]`, `"` and `@`, 1 to 32 of them."""
    cleaned = "".join(c if 32 < ord(c) < 127 and c not in '= ]"@' else "_" for c in str(name))
    return cleaned[:MAX_NAME] or "_"


def value_text(value) -> str:
    """A parameter's value as text: text as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _pairs(data: dict[str, dict]) -> list[str]:
    """RFC 3164 has no structured data: `name.key=value` words in the message text."""
    return [f"{name}.{k}={value_text(v)}" for name, ps in data.items() for k, v in ps.items()]


def _printable(text: str, most: int) -> str:
    """A header field: printable US-ASCII, no spaces, at most `most` characters, else `-`."""
    cleaned = "".join(c for c in text if 32 < ord(c) < 127)[:most]
    return cleaned or NIL
