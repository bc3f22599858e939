"""The kinds of events the Event log filters by: groups of topics a person asks for.

A topic names one kind of event (`tns1:Door/State/DoorAlarm`); nobody filters by
those. The Event log's "Kind" filter offers these groups instead, each a few topic
prefixes; the REST API takes the same names as `kind`, and `topic` for any prefix.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

# name -> (what the filter shows, the topic prefixes it takes)
KINDS = {
    "access": (lazy_gettext("Access decisions"), ("tns1:AccessControl/",)),
    "doors": (lazy_gettext("Doors"), ("tns1:Door/",)),
    "readers": (lazy_gettext("Readers"), ("tns1:Device/Reader/",)),
    "io": (lazy_gettext("Inputs and outputs"), ("tns1:Device/Trigger/", "tns1:Device/IO/")),
    "alarms": (lazy_gettext("Tamper alarms"), ("tns1:Device/Tamper",)),
    "users": (lazy_gettext("Users and logins"), ("tns1:Device/User/", "tns1:Device/Security/")),
    "configuration": (lazy_gettext("Configuration changes"), ("tns1:Configuration/",)),
    "network": (lazy_gettext("Network"), ("tns1:Device/Network/",)),
    "mqtt": (lazy_gettext("MQTT messages"), ("tns1:MQTT/",)),
    "engine": (lazy_gettext("Door engine"), ("tns1:Device/DoorEngine",)),
    "maintenance": (lazy_gettext("Maintenance"), ("tns1:Device/Maintenance/",)),
    "time": (lazy_gettext("Time sync"), ("tns1:Device/Time/",)),
}


def prefixes(kind: str) -> tuple[str, ...]:
    """The topic prefixes of a kind; KeyError for a name that is none."""
    return KINDS[kind][1]


def kind_of(topic: str) -> str | None:
    """The kind a topic belongs to, None when it belongs to none."""
    return next((name for name, (_, ps) in KINDS.items() if topic.startswith(ps)), None)
