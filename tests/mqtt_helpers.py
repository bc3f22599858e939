"""Helpers of the MQTT tests: an observing client and waiting while the hub runs."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
from support_osdp import wait_until

__all__ = ["Observer", "publish", "wait_until"]


class Observer:
    """A plain paho client on its own thread that records what the broker delivers."""

    def __init__(self, port: int, topic: str = "#", qos: int = 2, client_id: str = ""):
        self.messages: list[mqtt.MQTTMessage] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        persistent = bool(client_id)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._record
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        assert self.subscribed.wait(10), "observer did not subscribe"

    def _record(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append(message)

    def on(self, topic: str) -> list[mqtt.MQTTMessage]:
        with self.lock:
            return [m for m in self.messages if m.topic == topic]

    def payloads(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.on(topic)]

    def json(self, topic: str) -> list[dict]:
        return [json.loads(p) for p in self.payloads(topic)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(port: int, topic: str, payload: str, retain: bool = False, qos: int = 1) -> None:
    """Publish one message from outside, as another client would."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos, retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()
