"""What Home Assistant needs from doorctl's MQTT client, and when it needs it.

Home Assistant shows a door's real state right after it restarts only if the state is
waiting for it: the entities' states are published retained, on every connect (a
broker without persistence forgets retained messages when it restarts) and on every
change. Home Assistant announces itself with its birth message (`online` on
`homeassistant/status` unless changed there); doorctl answers with its configs and
states again, for brokers that lost the retained ones while Home Assistant was away.
With another discovery prefix, `<discovery prefix>/status` is heard as well, the
usual choice of whoever changes both.
States are kept from the bus whatever the settings, so that turning discovery on
publishes the state the door is in, not nothing until it changes.
"""

from __future__ import annotations

from paho.mqtt.client import MQTTMessage

from doorctl.core.events import Event
from doorctl.core.system.mqtt import discovery

BIRTH_PAYLOAD = b"online"
DEFAULT_BIRTH_TOPIC = "homeassistant/status"


def birth_topics(publication: dict) -> list[str]:
    """Where Home Assistant's birth message may arrive."""
    return sorted({DEFAULT_BIRTH_TOPIC, f"{publication['discovery_prefix']}/status"})


def is_birth(message: MQTTMessage, publication: dict) -> bool:
    """Home Assistant (re)started and wants the configs and states again."""
    return (
        publication["home_assistant"]
        and message.topic in birth_topics(publication)
        and message.payload.strip() == BIRTH_PAYLOAD
    )


class HomeAssistant:
    """The last state of each door and reader, and the publications Home Assistant needs."""

    def __init__(self) -> None:
        self.last: dict[tuple, dict] = {}

    def observe(self, event: Event) -> bool:
        """Keep a state event's data; True when it is one."""
        if event.topic not in discovery.STATE_TOPICS:
            return False
        self.last[discovery.state_key(event.topic, event.key)] = event.data
        return True

    def changed(
        self, event: Event, entities: list[dict], client: dict, publication: dict
    ) -> list[tuple[str, bytes]]:
        """The state publications an observed event changes."""
        about = discovery.about(event, entities)
        return discovery.states(about, self.last.get, client, publication)

    def everything(
        self, entities: list[dict], client: dict, old: dict | None, new: dict, device: dict
    ) -> list[tuple[str, bytes]]:
        """Configs and states, after removing those of the `old` publication settings.

        Removal (empty retained payloads) happens when discovery was on with `old` and is
        now off or moved (another prefix); with discovery on, configs come before states.
        """
        was_on, now_on = bool(old and old["home_assistant"]), new["home_assistant"]
        result = []
        if was_on and (not now_on or old != new):
            removed = discovery.configs(entities, client, old, device, remove=True)
            states = discovery.states(entities, self.last.get, client, old)
            result += removed + [(topic, b"") for topic, _ in states]
        if now_on:
            result += discovery.configs(entities, client, new, device)
            result += discovery.states(entities, self.last.get, client, new)
        return result
