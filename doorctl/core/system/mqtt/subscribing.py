"""MQTT subscriptions and door commands (manual: "MQTT subscriptions"): what the
service subscribes to, and what becomes of a message that arrives.

A message on a subscription becomes an event; one on the door command topic commands
a door; Home Assistant's birth message has the discovery published again. Part of
MqttService (service.py), kept apart to keep each module readable.
"""

from __future__ import annotations

from paho.mqtt.client import MQTTMessage, topic_matches_sub
from paho.mqtt.subscribeoptions import SubscribeOptions

from doorctl.core.system.mqtt import inbound, messages
from doorctl.core.system.mqtt.home_assistant import birth_topics, is_birth


class Subscribing:
    """The subscribing half of MqttService: filters, SUBSCRIBE, and incoming messages."""

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        pending_mid, filters = self._pending_subscribe
        if mid == pending_mid:
            self.subscribed = [
                f for f, rc in zip(filters, reason_codes, strict=False) if not rc.is_failure
            ]

    def _on_message(self, client, userdata, message: MQTTMessage) -> None:
        self.counts["received"] += 1
        if is_birth(message, self.publication):
            self._publish_discovery(None)
            return
        commands = messages.door_command_filter(self.client)
        if self.subscriptions["door_commands"] and topic_matches_sub(commands, message.topic):
            inbound.door_command(self.bus, self.door_commands, self.client, message)
            return
        for subscription in self.subscriptions["subscriptions"]:
            mqtt_filter = messages.subscription_filter(subscription, self.client)
            if topic_matches_sub(mqtt_filter, message.topic):
                stateful = subscription["type"] == "stateful"
                if stateful:
                    self.states[message.topic] = messages.message_text(message.payload)
                inbound.subscription_event(
                    self.bus, mqtt_filter, self.client["client_id"], stateful, message
                )
                return

    def _filters(self) -> list[tuple[str, int]]:
        filters = [
            (messages.subscription_filter(s, self.client), s["qos"])
            for s in self.subscriptions["subscriptions"]
        ]
        if self.subscriptions["door_commands"]:
            filters.append((messages.door_command_filter(self.client), 1))
        if self.publication["home_assistant"]:
            filters += [(topic, 1) for topic in birth_topics(self.publication)]
        return filters

    def _subscribe(self) -> None:
        """Subscribe to every filter (again: a clean session forgets them), drop removed ones."""
        filters = self._filters()
        client = self._link.client
        gone = sorted(set(self.subscribed) - {f for f, _ in filters})
        if gone:
            client.unsubscribe(gone)
            self.subscribed = [f for f in self.subscribed if f not in gone]
        if not filters:
            return
        if self.client["mqtt_version"] == "5":
            _, mid = client.subscribe(
                [(f, SubscribeOptions(qos=q, noLocal=True)) for f, q in filters]
            )
        else:
            _, mid = client.subscribe(filters)
        self._pending_subscribe = (mid, [f for f, _ in filters])
