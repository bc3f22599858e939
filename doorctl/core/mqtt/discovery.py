"""Home Assistant MQTT discovery, built from a description of entities.

The description is a list of dicts, one per entity:
  component      "lock", "binary_sensor" or "sensor"
  object_id      unique within the device, e.g. "door1_lock"
  name           what Home Assistant shows
  event_topic    the event whose publications carry the state, e.g. "tns1:Door/State/DoorMode"
  value_template Jinja that turns the published JSON into the entity's state
  door           (lock only) the door id the lock's commands go to
  any other key  copied into the config as is (payload_on, device_class, ...)
The door engine supplies the real doors; until then default_entities() describes door1.
Availability is the connect/LWT topic, so an unplugged device shows unavailable.
"""

from __future__ import annotations

import json

from doorctl.core.mqtt import messages

SOURCE_IS = "value_json.message.source.door == '{door}'"


def _door_state(door: str, expression: str) -> str:
    """A template for door `door` that keeps the last state for other doors' events."""
    return (
        f"{{% if {SOURCE_IS.format(door=door)} %}}{{{{ {expression} }}}}"
        "{% else %}{{ this.state }}{% endif %}"
    )


def default_entities(door: str = "door1") -> list[dict]:
    """One door with its lock, door position, tamper and alarm, until the door engine exists."""
    locked = (
        "'LOCKED' if value_json.message.data.state in ('Locked', 'Blocked', 'LockedDown') "
        "else 'UNLOCKED'"
    )
    on_off = "'ON' if value_json.message.data.state else 'OFF'"
    sensors = [
        ("position", "Door position", "tns1:Door/State/DoorPhysicalState", "door"),
        ("tamper", "Tamper", "tns1:Door/State/DoorTamper", "tamper"),
        ("alarm", "Alarm", "tns1:Door/State/DoorAlarm", "problem"),
    ]
    entities = [
        {
            "component": "lock",
            "object_id": f"{door}_lock",
            "name": f"{door} lock",
            "event_topic": "tns1:Door/State/DoorMode",
            "value_template": _door_state(door, locked),
            "door": door,
        }
    ]
    for suffix, name, topic, device_class in sensors:
        entities.append(
            {
                "component": "binary_sensor",
                "object_id": f"{door}_{suffix}",
                "name": f"{door} {name.lower()}",
                "event_topic": topic,
                "value_template": _door_state(door, on_off),
                "device_class": device_class,
            }
        )
    return entities


def config_topic(discovery_prefix: str, entity: dict, serial: str) -> str:
    """`<discovery prefix>/<component>/doorctl_<serial>/<object_id>/config`."""
    return f"{discovery_prefix}/{entity['component']}/doorctl_{serial}/{entity['object_id']}/config"


def config(entity: dict, client: dict, publication: dict, device: dict) -> dict:
    """The discovery config of one entity."""
    lwt = messages.connect_message(client, "lwt")
    extra = {k: v for k, v in entity.items() if k not in ("component", "event_topic", "door")}
    body = {
        **extra,
        "unique_id": f"doorctl_{device['serial_number']}_{entity['object_id']}",
        "state_topic": messages.event_topic(entity["event_topic"], client, publication),
        "device": {
            "identifiers": [f"doorctl_{device['serial_number']}"],
            "name": f"doorctl {device['serial_number']}",
            "manufacturer": "doorctl",
            "model": device.get("hardware", ""),
            "sw_version": device.get("version", ""),
        },
    }
    if lwt:
        body.update(availability_topic=lwt[0], payload_not_available=lwt[1])
        connected = messages.connect_message(client, "connect_message")
        body["payload_available"] = connected[1] if connected else "connected"
    if entity["component"] == "lock":
        body.update(
            command_topic=f"{client['topic_prefix']}/door/{entity['door']}/command",
            payload_lock="lock",
            payload_unlock="unlock",
            payload_open="access",
        )
    return body


def publications(
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
