"""The JSON schemas of the answers and bodies of routes that aren't resources or settings.

Built from the core's own constants (roles, card formats, I/O ports, door actions),
so a new value there is a new value in the OpenAPI document.
"""

from __future__ import annotations

from doorctl.core.access_control.cardholder_csv import COLUMNS
from doorctl.core.access_control.credentials import FORMATS
from doorctl.core.accessories.io_ports import PORT_NAMES
from doorctl.core.logs.system_log import LEVELS, PROCESSES
from doorctl.core.system.users import LANGUAGES, ROLES
from doorctl.hal.base import STATUS_COLORS

TOPIC = {"type": "string", "description": "An event topic; a trailing / takes all below."}
TEXT = {"type": "string"}
FLAG = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1}
INSTANT = {
    "type": "string",
    "description": "ISO 8601 (2026-12-31T17:00, the device's time without an offset) "
    "or epoch seconds.",
}
# A user's language of the web interface; null or "": the browser's preferred language.
LANGUAGE = {"enum": [*LANGUAGES, "", None]}
USER = {
    "type": "object",
    "required": ["username", "role"],
    "properties": {"username": TEXT, "role": {"enum": list(ROLES)}, "language": LANGUAGE},
}
EVENTS = {
    "type": "object",
    "required": ["events", "next"],
    "properties": {
        "events": {"type": "array", "items": {"type": "object"}},
        "next": {"type": ["integer", "null"], "description": "The `before` of the next page."},
    },
}
CARD = {
    "type": ["object", "null"],
    "properties": {
        "format": {"enum": list(FORMATS)},
        "facility": {"type": ["integer", "null"]},
        "number": {"type": "integer"},
        "bits": {"type": ["integer", "null"]},
    },
}
CREDENTIAL = {
    "type": "object",
    "properties": {
        "cardholder_id": ID,
        "enabled": FLAG,
        "card": CARD,
        "pin": {"type": ["string", "null"], "description": "4 to 12 digits; write only."},
    },
    "additionalProperties": False,
}


NUMBER = {"type": "number"}
MAYBE_NUMBER = {"type": ["number", "null"]}


def record(required: dict, optional: dict | None = None) -> dict:
    """An object answer: the fields it always has, with their types, and the others."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


DEVICE = record(
    {
        "product": TEXT,
        "version": TEXT,
        "serial_number": TEXT,
        "hostname": TEXT,
        "hardware": TEXT,
        "started": NUMBER,
        "uptime_seconds": NUMBER,
        "system_uptime_seconds": MAYBE_NUMBER,
    },
    {
        "door_engine": record(
            {
                "apart": FLAG,
                "running": FLAG,
                "state": {"enum": ["starting", "running", "restarting"]},
                "restarts": {"type": "integer", "minimum": 0},
            },
            {
                "pid": {"type": ["integer", "null"]},
                "last_end": {
                    "type": ["object", "null"],
                    "description": "When and why the engine process last ended "
                    '(cause: "exit code 1", "killed by signal SIGKILL").',
                },
            },
        )
    },
)
DOOR = record(
    {
        "id": ID,
        "name": TEXT,
        "mode": {
            "enum": ["locked", "accessed", "unlocked", "blocked", "locked_down", "locked_open"]
        },
        "lock": {"enum": ["locked", "unlocked"]},
        "door_position": {"enum": ["open", "closed"]},
        "alarms": {"type": "array", "items": TEXT},
        "relay": FLAG,
        "lock_type": {"enum": ["fail_secure", "fail_safe"]},
        "scheduled_unlock": FLAG,
        "card_access": FLAG,
    }
)
PORT_STATE = record(
    {"port": TEXT, "name": TEXT, "direction": TEXT, "normal_state": TEXT, "active": FLAG},
    {"supervised": FLAG, "supervisable": FLAG, "configurable": FLAG, "resistance": MAYBE_NUMBER},
)
ALARMS = record(
    {
        "alarms": {
            "type": "array",
            "items": record(
                {"alarm": TEXT, "label": TEXT, "enabled": FLAG, "sensor": FLAG, "triggered": FLAG}
            ),
        }
    },
    {"device_motion_threshold": NUMBER},
)
BOARD = record(
    {
        "inputs": {"type": "object", "additionalProperties": record({"active": FLAG})},
        "outputs": {"type": "object", "additionalProperties": record({"active": FLAG})},
    },
    {
        "leds": record(
            {name: {"enum": list(STATUS_COLORS)} for name in ("status", "power", "relay")}
        ),
    },
)
MQTT_STATUS = record(
    {"state": {"enum": ["connected", "connecting", "disconnected", "error"]}},
    {
        "reason": TEXT,
        "broker": TEXT,
        "client_id": TEXT,
        "queued": {"type": "integer", "minimum": 0},
        "proxy": {
            "type": ["string", "null"],
            "description": "The proxy (host:port) the broker is reached through, if any.",
        },
    },
)
UPGRADE = record(
    {"state": {"enum": ["running", "done", "failed"]}},
    {"sent": {"type": "integer"}, "total": {"type": "integer"}, "sha256": TEXT},
)
CREDENTIAL_RECORD = record(
    {"id": ID, "cardholder_id": ID, "enabled": FLAG, "card": CARD, "pin": {"type": "null"}},
    {"has_pin": FLAG},
)


def query(name: str, schema: dict, description: str = "") -> dict:
    """A query parameter."""
    return {"name": name, "in": "query", "schema": schema, "description": description}


PAGING = [
    query("offset", {"type": "integer", "minimum": 0}, "Skip this many."),
    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "At most this many."),
]
LOG_QUERY = [
    query("since", INSTANT, "From this time."),
    query("until", INSTANT, "Up to this time."),
    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
    query("before", {"type": "integer", "minimum": 1}, "The `next` of the previous page."),
]
PORT = {"enum": list(PORT_NAMES)}
NEXT = {"type": ["integer", "null"], "description": "The `before` of the next page."}
SYSTEM_RECORD = record(
    {
        "id": {"type": "integer"},
        "time": {"type": "string", "format": "date-time"},
        "level": {"enum": list(LEVELS)},
        "logger": TEXT,
        "message": TEXT,
        "process": {"enum": list(PROCESSES)},
    }
)
SYSTEM_LOG = record(
    {
        "records": {"type": "array", "items": SYSTEM_RECORD},
        "next": NEXT,
        "removed": {"type": "integer", "minimum": 0, "description": "Old records removed."},
    }
)
MAYBE_TEXT = {"type": ["string", "null"]}
AUDIT_ENTRY = record(
    {
        "id": {"type": "integer"},
        "time": {"type": "number"},
        "user": MAYBE_TEXT,
        "address": MAYBE_TEXT,
        "via": MAYBE_TEXT,
        "what": TEXT,
        "topic": TEXT,
        "data": {"type": "object"},
    }
)
AUDIT_LOG = record({"entries": {"type": "array", "items": AUDIT_ENTRY}, "next": NEXT})
COUNT = {"type": "integer", "minimum": 0}
LIST = {"type": "array"}
CSV_EXAMPLE = ",".join(COLUMNS) + "\n1,Ada Lovelace,true,,2026-12-31,false,,H10301,12,3456,,,true\n"
FILE = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
CAPTURE = record(
    {
        "state": {"enum": ["recording", "done"]},
        "port": TEXT,
        "duration": {"type": "integer", "minimum": 10, "maximum": 600},
        "started": {"type": "string", "format": "date-time"},
        "ended": {"type": ["string", "null"], "format": "date-time"},
        "frames": {"type": "integer", "minimum": 0},
        "bytes": {"type": "integer", "minimum": 0, "description": "Size of the pcap file"},
        "redacted": {
            "type": "integer",
            "minimum": 0,
            "description": "KEYSET commands recorded with their key zeroed",
        },
    }
)
