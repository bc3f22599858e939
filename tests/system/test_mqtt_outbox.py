"""Store and forward: nothing queued is lost across a broker restart or a doorctl restart."""

from __future__ import annotations

import signal

import pytest
from brokers import Broker
from mqtt_helpers import Observer, wait_until
from support import ROOT_PASSWORD

from doorctl.app import create_app

pytestmark = pytest.mark.peer

PREFIX = "dc/outbox"
TOPIC = f"{PREFIX}/event/Device/Trigger/Counter"
COUNT = 1000


def connect(doorctl, broker, qos: int = 2) -> None:
    # Only the test's events: the settings changes below are events too.
    conditions = ["tns1:Device/Trigger/Counter"]
    doorctl.settings.update("mqtt_publication", {"qos": qos, "conditions": conditions})
    doorctl.settings.update(
        "mqtt_client",
        {
            "connect": True,
            "host": "127.0.0.1",
            "port": broker.port,
            "topic_prefix": PREFIX,
            "clean_session": False,
        },
    )
    wait_until(lambda: doorctl.mqtt.connected, what="connected")


def raise_events(doorctl, numbers) -> None:
    for n in numbers:
        doorctl.bus.publish("tns1:Device/Trigger/Counter", {}, {"n": n})


def numbers(observer: Observer) -> list[int]:
    return [body["message"]["data"]["n"] for body in observer.json(TOPIC)]


def test_broker_restart_loses_nothing_and_qos2_delivers_once(doorctl, root, tmp_path):
    broker = Broker(tmp_path / "broker").start()
    observer = Observer(broker.port, TOPIC, qos=2, client_id="outbox-observer")
    try:
        connect(doorctl, broker)
        raise_events(doorctl, range(200))
        broker.stop()
        raise_events(doorctl, range(200, COUNT))
        wait_until(lambda: doorctl.mqtt.status()["queued"] >= COUNT - 200, what="queued")
        gone = ("error", "connecting", "disconnected")  # the client has seen the broker go
        wait_until(lambda: doorctl.mqtt.status()["state"] in gone, what="the broker gone")
        broker.start()
        wait_until(lambda: len(numbers(observer)) >= COUNT, 60, what="all delivered")
        assert numbers(observer) == list(range(COUNT))
        wait_until(lambda: doorctl.mqtt.status()["queued"] == 0, what="outbox empty")
    finally:
        observer.close()
        broker.stop()


def test_doorctl_restart_loses_nothing(data_dir, tmp_path):
    broker = Broker(tmp_path / "broker").start()
    observer = Observer(broker.port, TOPIC, qos=2, client_id="restart-observer")
    first = create_app({"DATA_DIR": str(data_dir), "TESTING": True}).extensions["doorctl"]
    first.start()
    try:
        connect(first, broker)
        broker.stop()
        raise_events(first, range(COUNT))
        wait_until(lambda: first.mqtt.status()["queued"] == COUNT, what="queued")
    finally:
        first.stop()
        first.store.close()
    broker.start()
    second = create_app({"DATA_DIR": str(data_dir), "TESTING": True}).extensions["doorctl"]
    second.start()
    try:
        wait_until(lambda: len(numbers(observer)) >= COUNT, 60, what="all delivered")
        assert numbers(observer) == list(range(COUNT))
    finally:
        second.stop()
        second.store.close()
        observer.close()
        broker.stop()


def test_queue_limit_drops_the_oldest_and_counts_them(doorctl, root, tmp_path):
    broker = Broker(tmp_path / "broker").start()
    observer = Observer(broker.port, TOPIC, qos=2, client_id="limit-observer")
    try:
        connect(doorctl, broker, qos=1)
        doorctl.settings.update("mqtt_publication", {"queue_limit": 100})
        broker.stop()
        raise_events(doorctl, range(250))
        wait_until(lambda: doorctl.mqtt.status()["dropped"] == 150, what="150 dropped")
        assert doorctl.mqtt.status()["queued"] == 100
        broker.start()
        wait_until(lambda: doorctl.mqtt.status()["queued"] == 0, 30, what="sent")
        wait_until(lambda: len(numbers(observer)) >= 100, what="the newest 100 delivered")
        assert numbers(observer) == list(range(150, 250))
    finally:
        observer.close()
        broker.stop()


def test_lwt_arrives_when_served_doorctl_is_killed(served, tmp_path):
    broker = Broker(tmp_path / "broker").start()
    observer = Observer(broker.port, f"{PREFIX}/connect")
    try:
        pw = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        served.call("POST", "/api/v1/setup", pw, auth=None)
        settings = {"connect": True, "host": "127.0.0.1", "port": broker.port}
        served.call("PUT", "/api/v1/mqtt/client", {**settings, "topic_prefix": PREFIX})
        wait_until(lambda: observer.payloads(f"{PREFIX}/connect") == [b"connected"], 15)
        assert served.call("GET", "/api/v1/mqtt/status")["state"] == "connected"
        served.stop(signal.SIGKILL)
        wait_until(lambda: observer.payloads(f"{PREFIX}/connect")[-1:] == [b"disconnected"], 15)
        assert observer.on(f"{PREFIX}/connect")[-1].retain is False
    finally:
        observer.close()
        broker.stop()
