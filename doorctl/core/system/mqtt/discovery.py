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

from doorctl.core.system.mqtt import messages

DATA = "value_json.message.data"


def _state_of(source: str, value: str, expression: str) -> str:
    """A template showing `expression` for events of one door or reader (`source` is
    `value`, a Jinja literal) that keeps the last state for the others' events."""
    return (
        f"{{% if value_json.message.source.{source} == {value} %}}{{{{ {expression} }}}}"
        "{% else %}{{ this.state }}{% endif %}"
    )


def _on_off(condition: str) -> str:
    return f"'ON' if {condition} else 'OFF'"


def default_entities(door: int = 1) -> list[dict]:
    """A door's lock, position, tamper and alarm, from the door engine's state events."""
    sensors = [
        (
            "position",
            "Door position",
            "tns1:Door/State/DoorPosition",
            "door",
            f"{DATA}.door_position == 'open'",
        ),
        (
            "tamper",
            "Tamper",
            "tns1:Door/State/DoorTamper",
            "tamper",
            f"{DATA}.state == 'TamperDetected'",
        ),
        ("alarm", "Alarm", "tns1:Door/State/DoorAlarm", "problem", f"{DATA}.state != 'Normal'"),
    ]
    entities = [
        {
            "component": "lock",
            "object_id": f"door{door}_lock",
            "name": f"door{door} lock",
            "event_topic": "tns1:Door/State/LockPhysicalState",
            "value_template": _state_of(
                "door", str(door), f"'LOCKED' if {DATA}.lock == 'locked' else 'UNLOCKED'"
            ),
            "door": door,
        }
    ]
    for suffix, name, topic, device_class, condition in sensors:
        entities.append(
            {
                "component": "binary_sensor",
                "object_id": f"door{door}_{suffix}",
                "name": f"door{door} {name.lower()}",
                "event_topic": topic,
                "value_template": _state_of("door", str(door), _on_off(condition)),
                "device_class": device_class,
            }
        )
    return entities


def reader_entities(reader_ids: list[str]) -> list[dict]:
    """Each OSDP reader's online state, from tns1:Device/Reader/Online (issue 7)."""
    return [
        {
            "component": "binary_sensor",
            "object_id": f"reader_{reader_id}_online",
            "name": f"reader {reader_id} online",
            "event_topic": "tns1:Device/Reader/Online",
            "value_template": _state_of("reader", f"'{reader_id}'", _on_off(f"{DATA}.online")),
            "device_class": "connectivity",
        }
        for reader_id in reader_ids
    ]


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
