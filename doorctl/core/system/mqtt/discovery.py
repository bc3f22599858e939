"""Home Assistant MQTT discovery, built from a description of entities.

The description is a list of dicts, one per entity:
  component      "lock" or "binary_sensor"
  object_id      unique within the device, e.g. "door1_lock"; Home Assistant proposes the
                 entity ID `<component>.<object_id>` (`default_entity_id`, which replaced
                 `object_id` in Home Assistant 2025.10)
  name           what Home Assistant shows
  event_topic    the property event that carries the state, e.g. "tns1:Door/State/DoorPosition"
  key            the event key of this door or reader, e.g. {"door": 1}
  state          a function of that event's data giving the payload Home Assistant expects
  door           (lock only) the door id the lock's commands go to
  any other key  copied into the config as is (device_class, ...)
The door engine supplies the real doors; default_entities() describes one door.

Each entity has its own state topic, `<prefix>/state/<object_id>`, carrying its state
as a retained plain payload: a Home Assistant that (re)starts, or a subscriber that
connects later, reads the current state at once instead of "unknown" until the next
change, whatever the publication's conditions and topic options. Availability is the
connect/LWT topic, so an unplugged device shows unavailable.
Keys: https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
"""

from __future__ import annotations

import json
from collections.abc import Callable

from doorctl.core.events import Event
from doorctl.core.system.mqtt import messages

LOCK = "tns1:Door/State/LockPhysicalState"
POSITION = "tns1:Door/State/DoorPosition"
TAMPER = "tns1:Door/State/DoorTamper"
ALARM = "tns1:Door/State/DoorAlarm"
READER_ONLINE = "tns1:Device/Reader/Online"
STATE_TOPICS = frozenset({LOCK, POSITION, TAMPER, ALARM, READER_ONLINE})
NOT_IN_CONFIG = ("component", "object_id", "event_topic", "key", "state", "door")


def _on_off(on: bool) -> str:
    return "ON" if on else "OFF"


def _binary_sensor(object_id: str, name: str, topic: str, key: dict, device_class: str, state):
    return {
        "component": "binary_sensor",
        "object_id": object_id,
        "name": name,
        "event_topic": topic,
        "key": key,
        "state": lambda data: _on_off(state(data)),
        "device_class": device_class,
    }


def default_entities(door: int = 1) -> list[dict]:
    """A door's lock, position, tamper and alarm, from the door engine's state events."""
    key = {"door": door}
    lock = {
        "component": "lock",
        "object_id": f"door{door}_lock",
        "name": f"door{door} lock",
        "event_topic": LOCK,
        "key": key,
        "state": lambda data: "LOCKED" if data.get("lock") == "locked" else "UNLOCKED",
        "door": door,
    }
    sensors = [
        ("position", "door position", POSITION, "door", lambda d: d.get("door_position") == "open"),
        ("tamper", "tamper", TAMPER, "tamper", lambda d: d.get("state") == "TamperDetected"),
        ("alarm", "alarm", ALARM, "problem", lambda d: d.get("state", "Normal") != "Normal"),
    ]
    return [lock] + [
        _binary_sensor(f"door{door}_{suffix}", f"door{door} {name}", topic, key, kind, state)
        for suffix, name, topic, kind, state in sensors
    ]


def reader_entities(reader_ids: list[str]) -> list[dict]:
    """Each OSDP reader's online state, from tns1:Device/Reader/Online (issue 7)."""
    return [
        _binary_sensor(
            f"reader_{reader_id}_online",
            f"reader {reader_id} online",
            READER_ONLINE,
            {"reader": reader_id},
            "connectivity",
            lambda data: bool(data.get("online")),
        )
        for reader_id in reader_ids
    ]


def state_key(topic: str, key: dict) -> tuple:
    """Which door's or reader's state an event (or an entity) is about."""
    return (topic, *sorted(key.items()))


def config_topic(discovery_prefix: str, entity: dict, serial: str) -> str:
    """`<discovery prefix>/<component>/doorctl_<serial>/<object_id>/config`."""
    return f"{discovery_prefix}/{entity['component']}/doorctl_{serial}/{entity['object_id']}/config"


def state_topic(entity: dict, client: dict, publication: dict) -> str:
    """`<prefix>/state/<object_id>`: the entity's current state, retained."""
    return f"{messages.prefix(client, publication)}/state/{entity['object_id']}"


def config(entity: dict, client: dict, publication: dict, device: dict) -> dict:
    """The discovery config of one entity."""
    serial = device["serial_number"]
    body = {k: v for k, v in entity.items() if k not in NOT_IN_CONFIG}
    body.update(
        default_entity_id=f"{entity['component']}.{entity['object_id']}",
        unique_id=f"doorctl_{serial}_{entity['object_id']}",
        state_topic=state_topic(entity, client, publication),
        device=_device(device),
        origin={"name": "doorctl", "sw_version": device.get("version", "")},
    )
    body.update(_availability(client))
    if entity["component"] == "lock":
        body.update(
            command_topic=f"{client['topic_prefix']}/door/{entity['door']}/command",
            payload_lock="lock",
            payload_unlock="unlock",
            payload_open="access",
        )
    return body


def _device(device: dict) -> dict:
    serial = device["serial_number"]
    return {
        "identifiers": [f"doorctl_{serial}"],
        "name": f"doorctl {serial}",
        "manufacturer": "doorctl",
        "model": device.get("hardware", ""),
        "serial_number": serial,
        "sw_version": device.get("version", ""),
    }


def _availability(client: dict) -> dict:
    """The connect message and LWT as availability, when the LWT is sent."""
    lwt = messages.connect_message(client, "lwt")
    if not lwt:
        return {}
    connected = messages.connect_message(client, "connect_message")
    return {
        "availability_topic": lwt[0],
        "payload_available": connected[1] if connected else "connected",
        "payload_not_available": lwt[1],
    }


def configs(
    entities: list[dict], client: dict, publication: dict, device: dict, remove: bool = False
) -> list[tuple[str, bytes]]:
    """(topic, payload) of every entity's retained config; empty payloads remove them."""
    serial = device["serial_number"]
    result = []
    for entity in entities:
        topic = config_topic(publication["discovery_prefix"], entity, serial)
        body = b"" if remove else json.dumps(config(entity, client, publication, device)).encode()
        result.append((topic, body))
    return result


def states(
    entities: list[dict], last: Callable[[tuple], dict | None], client: dict, publication: dict
) -> list[tuple[str, bytes]]:
    """(topic, payload) of each entity's state known so far (`last` gives an event's data)."""
    result = []
    for entity in entities:
        data = last(state_key(entity["event_topic"], entity["key"]))
        if data is not None:
            payload = entity["state"](data).encode()
            result.append((state_topic(entity, client, publication), payload))
    return result


def about(event: Event, entities: list[dict]) -> list[dict]:
    """The entities whose state `event` carries."""
    key = state_key(event.topic, event.key)
    return [e for e in entities if state_key(e["event_topic"], e["key"]) == key]
