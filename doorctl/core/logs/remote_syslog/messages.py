"""What goes out: events and system log records as syslog Messages.

Events sent: access decisions, door and alarm events, configuration changes and the
users' log-ins, each with a MSGID naming its kind and its source, data and key as
structured data. System log records go out at their own severity, MSGID `log`.
"""

from __future__ import annotations

import os

from doorctl.core.events import Event
from doorctl.core.logs.system_log import level_name

from .formats import AUTH, LOCAL0, Message

# topic prefix -> (MSGID, facility, severity); the first that matches counts
EVENT_KINDS = (
    ("tns1:AccessControl/AccessGranted/", "access", AUTH, 6),
    ("tns1:AccessControl/", "access", AUTH, 5),
    ("tns1:Door/State/DoorAlarm", "alarm", LOCAL0, 4),
    ("tns1:Door/State/DoorTamper", "alarm", LOCAL0, 4),
    ("tns1:Device/Tamper", "alarm", LOCAL0, 4),
    ("tns1:Door/", "door", LOCAL0, 6),
    ("tns1:Configuration/", "config", LOCAL0, 5),
    ("tns1:Device/User/LoginFailed", "login", AUTH, 4),
    ("tns1:Device/User/Login", "login", AUTH, 6),
    ("tns1:Device/User/", "user", AUTH, 5),
)
PREFIXES = tuple(sorted({prefix for prefix, *_ in EVENT_KINDS}))
LOG_MSGID = "log"


def event_kind(topic: str) -> tuple[str, int, int] | None:
    """(MSGID, facility, severity) of an event that goes out; None for one that doesn't."""
    for prefix, msgid, facility, severity in EVENT_KINDS:
        if topic.startswith(prefix):
            return msgid, facility, severity
    return None


def from_event(event: Event, hostname: str) -> Message | None:
    """An event as a message: its topic as the text, its parts as structured data."""
    kind = event_kind(event.topic)
    if kind is None:
        return None
    msgid, facility, severity = kind
    data = {"event": {"topic": event.topic, "id": event.id}}
    for name in ("source", "key", "data"):
        part = getattr(event, name)
        if part:
            data[name] = part
    return Message(event.time, facility, severity, msgid, event.topic, hostname, os.getpid(), data)


def log_severity(levelno: int) -> int:
    """A logging level as a syslog severity: CRITICAL crit, ERROR err, WARNING warning,
    INFO info, DEBUG debug."""
    for level, severity in ((50, 2), (40, 3), (30, 4), (20, 6)):
        if levelno >= level:
            return severity
    return 7


def from_entry(entry: dict, hostname: str) -> Message:
    """A system log record (as the system log took it, formatted and shortened) as a
    message: its text, and where it came from as data."""
    level = entry["level"]
    data = {"log": {"logger": entry["logger"], "level": level_name(level)}}
    severity = log_severity(level)
    text = entry["message"]
    return Message(entry["time"], LOCAL0, severity, LOG_MSGID, text, hostname, os.getpid(), data)
