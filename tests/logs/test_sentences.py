"""Every kind of event the product emits reads as a sentence, never as raw values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from doorctl.blueprints.logs.sentences import SENTENCES, Context, sentence
from doorctl.core.events import Event
from doorctl.core.logs import kinds

PACKAGE = Path(__file__).resolve().parents[2] / "doorctl"
# A topic written out in the code: a kind, or a prefix when it ends with "/".
TOPIC = re.compile(r'"(tns1:[A-Za-z/]+)"')
# Topics the code names without emitting them: MQTT publication conditions a broker
# may be offered (the door's physical state has no event of its own here).
NOT_EMITTED = {"tns1:Door/State/DoorPhysicalState"}
# Raw values a person must never read in a sentence.
RAW = re.compile(r"\w=|\[\]|\{|\}|None|True|False|'|\?$")


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def written_topics() -> set[str]:
    """Every whole topic written as a string in the product outside the Logs pages."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "blueprints/logs" in path.as_posix():
            continue
        found |= {t for t in TOPIC.findall(_source(path)) if not t.endswith("/")}
    return found - NOT_EMITTED


def user_topics() -> set[str]:
    """The user events, whose topic ends with the change (`_event(tx, "Added", ...)`)."""
    text = _source(PACKAGE / "core/system/users.py")
    assert 'f"tns1:Device/User/{change}"' in text, "the user events changed their topic"
    return {f"tns1:Device/User/{c}" for c in re.findall(r'_event\(tx, "(\w+)"', text)}


def audit_topics() -> set[str]:
    """The configuration changes: `audit(tx, KIND, action, ...)` in every module."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        text = _source(path)
        constants = dict(re.findall(r'^(\w*KIND) = "(\w+)"', text, re.M))
        for kind, action in re.findall(r'audit\(tx, ("?\w+"?), ("?\w+"?)', text):
            name = kind.strip('"') if kind.startswith('"') else constants[kind]
            if action != '"delete"':  # "create", "update", or a variable: either
                found.add(f"tns1:Configuration/{name}/Changed")
            if action in ('"delete"', "action"):
                found.add(f"tns1:Configuration/{name}/Removed")
    return found


def emitted() -> set[str]:
    return written_topics() | user_topics() | audit_topics()


def test_every_kind_the_product_emits_has_a_sentence():
    kinds_found = emitted()
    assert len(kinds_found) > 50  # the enumeration itself found what it should
    missing = sorted(kinds_found - set(SENTENCES))
    assert missing == [], f"kinds without a sentence: {missing}"


def test_every_kind_belongs_to_a_kind_of_the_filter():
    assert sorted(t for t in emitted() if kinds.kind_of(t) is None) == []


# One realistic event of each shape the product publishes: (topic, source, data, key).
SAMPLES = [
    (
        "tns1:AccessControl/AccessGranted/Credential",
        {"door": 1, "reader": "wiegand", "direction": "entry"},
        {"reason": "granted", "cardholder": "Ann Berg", "cardholder_id": 1},
        {},
    ),
    (
        "tns1:AccessControl/Denied/Credential",
        {"door": 1, "reader": "osdp-1", "direction": "exit"},
        {"reason": "outside_schedule", "cardholder": "Ann Berg", "cardholder_id": 1},
        {},
    ),
    (
        "tns1:AccessControl/Denied/CredentialNotFound/Card",
        {"door": 1, "reader": "wiegand", "direction": "entry"},
        {"reason": "unknown_credential", "card": {"format": "H10301", "facility": 12, "number": 9}},
        {},
    ),
    (
        "tns1:Door/State/DoorMode",
        {"door": 1, "name": "Front door"},
        {"mode": "locked", "cause": {"reason": "start"}},
        {},
    ),
    (
        "tns1:Door/State/LockPhysicalState",
        {"door": 1, "name": "Front door"},
        {"lock": "locked", "relay": False},
        {},
    ),
    (
        "tns1:Door/State/DoorAlarm",
        {"door": 1, "name": "Front door"},
        {"state": "Normal", "alarms": []},
        {},
    ),
    (
        "tns1:Door/State/DoorAlarm",
        {"door": 1, "name": "Front door"},
        {"state": "DoorForcedOpen", "alarms": ["forced_open"]},
        {},
    ),
    (
        "tns1:Device/Trigger/DigitalInput",
        {"port": "aux1", "name": "Door monitor"},
        {"active": True, "circuit": "open"},
        {},
    ),
    (
        "tns1:Device/IO/SupervisedPort",
        {"port": "aux2", "name": "Gate"},
        {"state": "cut", "tampered": True},
        {},
    ),
    ("tns1:Device/Tamper", {"alarm": "casing_open", "name": "Casing open"}, {"state": True}, {}),
    (
        "tns1:Device/Reader/Online",
        {"reader": "osdp-1"},
        {"online": False, "reason": "no answer"},
        {},
    ),
    (
        "tns1:Device/Reader/CommandRefused",
        {"reader": "osdp-1"},
        {"command": "osdp_LED", "times": 3},
        {},
    ),
    ("tns1:Device/User/Login", {"user": "root"}, {"address": "192.0.2.4"}, {}),
    (
        "tns1:Device/User/LoginFailed",
        {"user": None},
        {"address": "192.0.2.9", "method": "form"},
        {},
    ),
    (
        "tns1:Device/User/Updated",
        {"user": "guard"},
        {"changed": ["password", "role"], "role": "operator"},
        {},
    ),
    (
        "tns1:Configuration/Settings/Changed",
        {},
        {"id": "mqtt_client", "action": "update", "changed": ["host", "port"]},
        {},
    ),
    ("tns1:Configuration/Cardholder/Removed", {}, {"id": 7, "action": "delete"}, {}),
    (
        "tns1:Door/Command",
        {"client_id": "doorctl-1"},
        {"action": "unlock", "result": "rejected", "reason": "Door locked down."},
        {"door": "1"},
    ),
    (
        "tns1:MQTT/Message/Stateless",
        {"subscription": "site/#"},
        {"payload": "x" * 200, "qos": 0},
        {"topic": "site/a"},
    ),
]


@pytest.mark.parametrize(("topic", "source", "data", "key"), SAMPLES)
def test_a_sentence_never_shows_raw_values(topic, source, data, key):
    context = Context(
        doors={1: "Front door"}, labels=lambda s: {"host": "Broker host", "port": "Port"}
    )
    said = sentence(Event(1, 0.0, topic, source, data, key), context)
    assert said and not RAW.search(said), said
    assert len(said) < 200


def test_sentences_say_what_happened_in_words():
    context = Context(
        doors={1: "Front door"}, labels=lambda s: {"host": "Broker host", "port": "Port"}
    )

    def say(topic, source=None, data=None, key=None):
        return sentence(Event(1, 0.0, topic, source or {}, data or {}, key or {}), context)

    forced = {"state": "DoorForcedOpen", "alarms": ["forced_open"]}
    assert say("tns1:Door/State/DoorAlarm", {"door": 1, "name": "Front door"}, forced) == (
        "Front door was forced open"
    )
    assert say("tns1:Device/User/Login", {"user": "root"}, {"address": "192.0.2.4"}) == (
        "root logged in from 192.0.2.4"
    )
    changed = {"id": "mqtt_client", "changed": ["host", "port"]}
    assert say("tns1:Configuration/Settings/Changed", {}, changed) == (
        "Settings of MQTT client changed: Broker host, Port"
    )
    lab = Context(doors={2: "Lab"})
    mode = {"mode": "locked_down", "cause": {"by": "operator", "user": "guard"}}
    event = Event(1, 0.0, "tns1:Door/State/DoorMode", {"door": 2, "name": "Lab"}, mode, {})
    assert sentence(event, lab) == "Door Lab locked down by guard"
