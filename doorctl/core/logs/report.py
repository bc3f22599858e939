"""The server report (manual: Logs > Reports and logs): one text an installer sends to
support, holding what the unit is, how it is set and what it is doing now.

Device info and versions, every settings section, the doors', readers', alarms' and
I/O ports' live state, network and time status, the recent system log and the event
log's tail. No secret is in it: a settings field declared secret (`secrets=` where its
section registers, or a password field of its form) is left out by that declaration,
so a section added later needs nothing here; and whatever text a declared secret holds
is scrubbed from the whole report again, with private keys and sealed values, in case
a status or a log line ever repeated one. Passwords and PINs are stored as hashes that
no section shows; reader and certificate keys and SNMP v3 users' keys stay in tables
the report never reads (the last are scrubbed by value too).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import platform
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from flask_babel import gettext as _
from wtforms import PasswordField

from doorctl import PRODUCT_NAME, __version__
from doorctl.core.secrets import PREFIX as SEALED_PREFIX
from doorctl.core.waiting import computed, computed_here

log = logging.getLogger(__name__)
EVENT_TAIL = 100
SYSTEM_LOG_TAIL = 200
OS_RELEASE = Path("/etc/os-release")
HIDDEN = "(secret, not shown)"
SCRUBBED = "(secret removed)"
# A secret shorter than this is not looked for in the text: "1" would blank every number.
SCRUB_MIN = 4
PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
)
SEALED = re.compile(re.escape(SEALED_PREFIX) + r"[A-Za-z0-9+/=]*")


def secret_fields(settings, section: str) -> set[str]:
    """The fields of a section declared secret: sealed at rest, or password fields."""
    declared = set(settings.secrets.get(section, ()))
    form = settings.sections[section]()
    return declared | {field.name for field in form if isinstance(field, PasswordField)}


def secret_values(settings) -> set[str]:
    """The text of every declared secret that is set, to be scrubbed from the report."""
    values = set()
    for section in settings.sections:
        record = settings.get(section)
        for name in secret_fields(settings, section):
            value = record.get(name)
            if isinstance(value, str) and len(value) >= SCRUB_MIN:
                values.add(value)
    return values


def settings_part(settings) -> dict:
    """Every section's record; a secret field says only whether it is set."""
    part = {}
    for section in sorted(settings.sections):
        record = settings.get(section)
        hidden = secret_fields(settings, section)
        part[section] = {
            name: (HIDDEN if value else "") if name in hidden else value
            for name, value in record.items()
        }
    return part


def versions() -> dict:
    """doorctl's version, the Python, OS and kernel under it, and its libraries'."""
    found = {PRODUCT_NAME: __version__, "python": platform.python_version()}
    found["os"] = _os_name()
    found["kernel"] = f"{platform.system()} {platform.release()} {platform.machine()}"
    for name in _requirements():
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _requirements() -> list[str]:
    """The names of the libraries doorctl needs, as its package says."""
    try:
        required = importlib.metadata.requires(PRODUCT_NAME) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    names = [re.split(r"[<>=!~ ;\[]", line, maxsplit=1)[0] for line in required]
    return sorted({name for name, line in zip(names, required, strict=True) if "extra" not in line})


def _os_name() -> str:
    """The distribution's own name for itself (PRETTY_NAME of os-release)."""
    try:
        text = OS_RELEASE.read_text()
    except OSError:
        return platform.platform()
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?$', text, re.M)
    return match.group(1) if match else platform.platform()


def event_tail(event_log, limit: int = EVENT_TAIL) -> list[dict]:
    """The newest events, oldest first, as the REST API gives them."""
    event_log.flush()
    events, _cursor = event_log.query(limit=limit)
    return [{**event.to_dict(), "time": _when(event.time)} for event in reversed(events)]


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def _part(read: Callable[[], object]) -> object:
    """One part of the report; a part that can't be read says so, the others still come."""
    try:
        return read()
    except Exception as error:  # a report for troubleshooting must come whatever broke
        log.warning("a part of the server report could not be read: %s", error)
        message = getattr(error, "message", "") or type(error).__name__
        return {"unavailable": _("Could not be read: %(why)s", why=message)}


def live_state(doorctl) -> dict:
    """The doors', readers', alarms' and I/O ports' state as the Status page reads it."""
    return {
        "doors": _part(lambda: [door.status() for door in doorctl.doors.values()]),
        "readers": _part(doorctl.readers.list),
        "alarms": _part(lambda: doorctl.alarms.status()["alarms"]),
        "io_ports": _part(lambda: doorctl.io_ports.status()["ports"]),
    }


def network(doorctl) -> dict:
    """IP, HTTP and HTTPS, 802.1x, discovery, MQTT and blocked addresses, as in force."""
    return {
        "ip": _part(doorctl.ip_network.status),
        "http_https": _part(doorctl.http_https.status),
        "ieee8021x": _part(doorctl.ieee8021x.status),
        "discovery": _part(doorctl.discovery.status),
        "mqtt": _part(lambda: _timed(doorctl.mqtt.status(), "since")),
        "blocked": _part(doorctl.security.status),
        "certificates": _part(lambda: [_certificate(c) for c in doorctl.certificates.list()]),
    }


def _certificate(record: dict) -> dict:
    """A certificate's identity and validity (never its key, nor the PEM)."""
    keep = ("id", "kind", "subject", "alternative_names", "issuer", "not_after", "used_by")
    return {k: record[k] for k in keep if k in record}


def system_log_tail(system_log, limit: int = SYSTEM_LOG_TAIL) -> list[dict]:
    """The newest records of the system log, oldest first."""
    system_log.flush()
    return [record.to_dict() for record in reversed(system_log.recent(limit=limit))]


def _timed(state: dict, *keys: str) -> dict:
    """A status with its epoch times written as times a person reads."""
    return {
        k: _when(v) if k in keys and isinstance(v, int | float) else v for k, v in state.items()
    }


def _device(doorctl) -> dict:
    """Device info with the door engine's state, as the Status page shows them."""
    return _timed({**doorctl.device.to_dict(), "engine": doorctl.door_engine()}, "started")


def build(doorctl) -> dict:
    """The whole report as data, every secret left out and scrubbed."""
    report = {
        "made": _when(time.time()),
        "device": _part(lambda: _device(doorctl)),
        "versions": _part(versions),
        **live_state(doorctl),
        "network": network(doorctl),
        "date_time": _part(lambda: _timed(doorctl.date_time.status(), "time")),
        "settings": _part(lambda: settings_part(doorctl.settings)),
        "system_log": _part(lambda: system_log_tail(doorctl.system_log)),
        "event_log": _part(lambda: event_tail(doorctl.event_log)),
    }
    # Scrubbing every text of the report is pure CPU work: off the hub.
    secrets = secret_values(doorctl.settings) | _table_keys(doorctl)
    return computed(scrubbed, report, secrets)


def _table_keys(doorctl) -> set[str]:
    """The keys kept in tables the report never reads (SNMP v3 users'), scrubbed too in
    case a status or a log line ever repeated one."""
    keys = _part(doorctl.snmp_users.keys)
    return {key for key in keys if len(key) >= SCRUB_MIN} if isinstance(keys, set) else set()


def scrubbed(value, secrets: Iterable[str]):
    """`value` with every secret text, private key and sealed value taken out of it."""
    secrets = sorted(secrets, key=len, reverse=True)
    return _scrub(value, secrets)


def _scrub(value, secrets: list[str]):
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {_scrub(str(k), secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, secrets) for item in value]
    return value


def scrub_text(text: str, secrets: list[str]) -> str:
    """One text without the secrets, private keys and sealed values it may hold."""
    text = SEALED.sub(SCRUBBED, PRIVATE_KEY.sub(SCRUBBED, text))
    for secret in secrets:
        text = text.replace(secret, SCRUBBED)
    return text


# --- the report as text ----------------------------------------------------------------


def titles() -> dict[str, str]:
    """Each part's heading in the text, in the reader's language."""
    return {
        "device": _("Device info"),
        "versions": _("Versions"),
        "doors": _("Doors"),
        "readers": _("Readers"),
        "alarms": _("Alarms"),
        "io_ports": _("I/O ports"),
        "network": _("Network"),
        "date_time": _("Date and time"),
        "settings": _("Settings"),
        "system_log": _("System log"),
        "event_log": _("Event log"),
    }


def as_text(report: dict) -> str:
    """The report as plain text: a heading per part, then `key: value` lines (made on
    a thread: a report's thousand lines would stall the hub)."""
    return computed_here(_text, report)


def _text(report: dict) -> str:
    lines = [_("%(product)s server report", product=PRODUCT_NAME), f"{_('Made')}: {report['made']}"]
    for key, title in titles().items():
        if key not in report:
            continue
        lines += ["", f"== {title} ==", *_lines(report[key], key)]
    return "\n".join(lines) + "\n"


def _lines(value, key: str) -> list[str]:
    """A part's lines: log lines one a line, records as dotted `key: value` lines."""
    if key in ("system_log", "event_log") and isinstance(value, list):
        return [_log_line(entry) for entry in value]
    return list(_flat(value, ""))


def _log_line(entry) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    if "topic" in entry:
        detail = {k: entry[k] for k in ("source", "data", "key") if entry.get(k)}
        return f"{entry['time']} #{entry['id']} {entry['topic']} {_compact(detail)}".rstrip()
    keys = ("time", "level", "process", "logger")
    head = " ".join(str(entry[k]) for k in keys if entry.get(k))
    return f"{head} {entry.get('message', '')}".strip()


def _flat(value, prefix: str) -> Iterable[str]:
    if isinstance(value, dict) and value:
        for name, item in value.items():
            yield from _flat(item, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for number, item in enumerate(value, 1):
            yield from _flat(item, f"{prefix}[{number}]" if prefix else f"[{number}]")
    else:
        yield f"{prefix}: {_compact(value)}" if prefix else _compact(value)


def _compact(value) -> str:
    if isinstance(value, str):
        return value
    if value == {}:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)
