"""What goes over MQTT: event publications, received messages, door commands.

Pure functions of the settings records, so every option is testable without a broker.
"""

from __future__ import annotations

import json
import re

from paho.mqtt.client import topic_matches_sub

from doorctl.core.errors import Invalid
from doorctl.core.events import Event
from doorctl.core.inbound import parse

NAMESPACE = re.compile(r"(^|/)[A-Za-z][A-Za-z0-9]*:")
DOOR_ACTIONS = ("access", "lock", "unlock", "block", "lockdown", "lockopen", "release")
MAX_DOOR_COMMAND = 1024  # a word or a small object; a bigger payload is not parsed on the hub
STATELESS = "tns1:MQTT/Message/Stateless"
STATEFUL = "tns1:MQTT/Message/Stateful"
DOOR_COMMAND = "tns1:Door/Command"


def prefix(client: dict, publication: dict) -> str:
    """The topic prefix of publications: the device's, or the publication's own."""
    if publication["use_default_prefix"]:
        return client["topic_prefix"]
    return publication["custom_prefix"]


def topic_path(event_topic: str, namespaces: bool) -> str:
    """The event topic as MQTT topic levels, with or without its `tns1:` namespaces."""
    path = event_topic if namespaces else NAMESPACE.sub(r"\1", event_topic)
    return path.replace("#", "_").replace("+", "_")


def event_topic(event_topic_name: str, client: dict, publication: dict) -> str:
    """`<prefix>/event/<topic path>`, or `<prefix>/event` without the topic name."""
    base = f"{prefix(client, publication)}/event"
    if not publication["include_topic_name"]:
        return base
    return f"{base}/{topic_path(event_topic_name, publication['include_namespaces'])}"


def payload(event: Event, serial: str, include_serial: bool) -> bytes:
    """The JSON payload in the commercial device's shape."""
    body = {"topic": event.topic, "timestamp": int(event.time * 1000)}
    if include_serial:
        body["serialNumber"] = serial
    body["message"] = {"source": event.source, "key": event.key, "data": event.data}
    return json.dumps(body, separators=(",", ":")).encode()


def selected(event: Event, publication: dict) -> bool:
    """True when a condition matches the event's topic (no conditions: every event)."""
    conditions = publication["conditions"]
    return not conditions or any(_condition_matches(c, event.topic) for c in conditions)


def _condition_matches(condition: str, topic: str) -> bool:
    """A condition is an event topic, or a prefix of topics ending in `/` or `/#`."""
    if condition.endswith("/#"):
        return topic.startswith(condition[:-1])
    return topic == condition or (condition.endswith("/") and topic.startswith(condition))


def retained(event: Event, publication: dict) -> bool:
    """Retain: none, property (stateful events only) or all."""
    return publication["retain"] == "all" or (
        publication["retain"] == "property" and event.property
    )


def subscription_filter(subscription: dict, client: dict) -> str:
    """The filter as sent to the broker, with the device prefix in front when asked."""
    if subscription["use_prefix"]:
        return f"{client['topic_prefix']}/{subscription['filter']}"
    return subscription["filter"]


def loops_back(topic: str, event: Event, filters: list[str]) -> bool:
    """True when a received message's event would be published onto a subscribed topic."""
    return "subscription" in event.source and any(topic_matches_sub(f, topic) for f in filters)


def door_command_filter(client: dict) -> str:
    """`<prefix>/door/+/command`, where remote door commands arrive."""
    return f"{client['topic_prefix']}/door/+/command"


def door_command(payload_bytes: bytes) -> str | None:
    """The action of a door command: a plain word or `{"action": ...}`; None if unknown."""
    if len(payload_bytes) > MAX_DOOR_COMMAND:
        return None
    text = payload_bytes.decode("utf-8", "replace").strip()
    try:
        body = parse(text, "payload")
    except Invalid:
        body = text
    action = body.get("action") if isinstance(body, dict) else body
    action = action.strip().lower() if isinstance(action, str) else ""
    return action if action in DOOR_ACTIONS else None


def message_text(payload_bytes: bytes) -> str:
    """A received payload as text for the event (binary shown as hex)."""
    try:
        return payload_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return payload_bytes.hex()


def connect_message(client: dict, kind: str) -> tuple[str, str, int, bool] | None:
    """(topic, payload, qos, retain) of the connect message or the LWT, None when off."""
    if not client[f"{kind}_send"]:
        return None
    default_topic = f"{client['topic_prefix']}/connect"
    if client[f"{kind}_use_default"]:
        default_payload = "connected" if kind == "connect_message" else "disconnected"
        return default_topic, default_payload, 1, True
    topic = client[f"{kind}_topic"] or default_topic
    return topic, client[f"{kind}_payload"], client[f"{kind}_qos"], client[f"{kind}_retain"]
