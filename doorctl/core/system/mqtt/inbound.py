"""What arrives over MQTT: subscription messages and remote door commands, as events.

A door command is published as the event `tns1:Door/Command` whatever happens to
it, with the device's MQTT client ID in the source, so the log shows every request.
Retained commands are ignored: a broker restart must never unlock a door.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from paho.mqtt.client import MQTTMessage

from doorctl.core.errors import DoorctlError
from doorctl.core.events import EventBus
from doorctl.core.system.mqtt import messages

log = logging.getLogger(__name__)

DoorCommands = Callable[[str, str, dict], None]
"""door_commands(door_id, action, source): raise DoorctlError to refuse with a reason."""


def subscription_event(
    bus: EventBus, mqtt_filter: str, client_id: str, stateful: bool, message: MQTTMessage
) -> None:
    """A received message as a stateless event, or a stateful one (a property)."""
    bus.publish(
        messages.STATEFUL if stateful else messages.STATELESS,
        {"subscription": mqtt_filter, "client_id": client_id},
        {
            "payload": messages.message_text(message.payload),
            "qos": message.qos,
            "retain": bool(message.retain),
        },
        {"topic": message.topic},
        property=stateful,
    )


def door_command(
    bus: EventBus, door_commands: DoorCommands | None, client: dict, message: MQTTMessage
) -> None:
    """Run a remote door command through the door engine's hook and log it as an event."""
    door = message.topic.split("/")[-2]
    action = messages.door_command(message.payload)
    source = {
        "subscription": messages.door_command_filter(client),
        "client_id": client["client_id"],
        "mqtt_topic": message.topic,
    }
    result, reason = _run(door_commands, door, action, source, message.retain)
    data = {"action": action or messages.message_text(message.payload)[:64], "result": result}
    if reason:
        data["reason"] = reason
    bus.publish(messages.DOOR_COMMAND, source, data, {"door": door})


def _run(door_commands, door, action, source, retain) -> tuple[str, str]:
    """(result, reason): ignored, rejected, requested (no door engine yet) or accepted."""
    if retain:
        return "ignored", "Retained commands are ignored, so a broker restart never acts."
    if action is None:
        return "rejected", f"Unknown action; use one of {', '.join(messages.DOOR_ACTIONS)}."
    if door_commands is None:
        return "requested", ""
    try:
        door_commands(door, action, source)
    except DoorctlError as error:
        return "rejected", error.message
    except Exception:
        log.exception("door command %s on %s failed", action, door)
        return "rejected", "The door engine failed; see the system log."
    return "accepted", ""
