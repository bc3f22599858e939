"""MQTT benchmark, run on demand: `python tests/bench/bench_mqtt.py` (pytest ignores it).

Events per second from the event bus to a subscriber through a local mosquitto, at
QoS 0 and QoS 1, against a plain paho client publishing the same payloads as the
reference; and the loss count when the broker restarts mid-stream (must be 0).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path[:0] = [str(HERE.parents[2]), str(HERE.parents[1])]

import paho.mqtt.client as mqtt  # noqa: E402
from brokers import Broker  # noqa: E402
from mqtt_helpers import Observer, wait_until  # noqa: E402

from doorctl.core.appliance import Appliance  # noqa: E402

EVENTS = 5000
RESTART_EVENTS = 2000
PREFIX = "bench"
TOPIC = f"{PREFIX}/event/Device/Trigger/Counter"


def appliance(broker: Broker, qos: int) -> Appliance:
    """An appliance over a fresh data directory, connected to `broker`."""
    doorctl = Appliance(Path(tempfile.mkdtemp(prefix="bench-")), serial="BENCH")
    doorctl.start()
    doorctl.settings.update("mqtt_publication", {"qos": qos, "queue_limit": 100000})
    doorctl.settings.update(
        "mqtt_client",
        {"connect": True, "host": "127.0.0.1", "port": broker.port, "topic_prefix": PREFIX},
    )
    wait_until(lambda: doorctl.mqtt.connected, what="connected")
    return doorctl


def doorctl_rate(broker: Broker, qos: int) -> float:
    """Events per second from bus.publish to the observer's receipt."""
    doorctl = appliance(broker, qos)
    observer = Observer(broker.port, TOPIC, qos=qos)
    start = time.perf_counter()
    for n in range(EVENTS):
        doorctl.bus.publish("tns1:Device/Trigger/Counter", {}, {"n": n})
    wait_until(lambda: len(observer.messages) >= EVENTS, 120, what="all received")
    elapsed = time.perf_counter() - start
    observer.close()
    doorctl.stop()
    return EVENTS / elapsed


def paho_rate(broker: Broker, qos: int) -> float:
    """The reference: a plain paho client with its own thread publishing the same count."""
    observer = Observer(broker.port, TOPIC, qos=qos)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages = 100
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    body = b'{"topic":"tns1:Device/Trigger/Counter","timestamp":0,"message":{"data":{"n":0}}}'
    start = time.perf_counter()
    for _ in range(EVENTS):
        client.publish(TOPIC, body, qos)
    wait_until(lambda: len(observer.messages) >= EVENTS, 120, what="reference received")
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    observer.close()
    return EVENTS / elapsed


def loss_across_restart(broker: Broker) -> tuple[int, int]:
    """(lost, duplicated) QoS 1 events when the broker restarts halfway through."""
    doorctl = appliance(broker, 1)
    observer = Observer(broker.port, TOPIC, qos=1, client_id="bench-observer")
    for n in range(RESTART_EVENTS):
        if n == RESTART_EVENTS // 2:
            broker.stop()
        doorctl.bus.publish("tns1:Device/Trigger/Counter", {}, {"n": n})
    broker.start()
    wait_until(lambda: doorctl.mqtt.status()["queued"] == 0, 120, what="outbox drained")
    wait_until(lambda: len({m.payload for m in observer.messages}) >= RESTART_EVENTS, 30)
    received = [m.payload for m in observer.messages]
    observer.close()
    doorctl.stop()
    return RESTART_EVENTS - len(set(received)), len(received) - len(set(received))


def main() -> None:
    """Run the measurements and print them as a table."""
    broker = Broker(Path(tempfile.mkdtemp(prefix="bench-broker-"))).start()
    try:
        rows = []
        for qos in (0, 1):
            ours, reference = doorctl_rate(broker, qos), paho_rate(broker, qos)
            rows.append(
                (f"events/s QoS {qos}", f"{ours:.0f}", f"{reference:.0f}", ours / reference)
            )
        lost, duplicated = loss_across_restart(broker)
        rows.append(("lost across broker restart", str(lost), "0", None))
        rows.append(("duplicates (QoS 1, allowed)", str(duplicated), "-", None))
    finally:
        broker.stop()
    print(f"{'measure':<30} {'doorctl':>9} {'reference':>10} {'ratio':>6}")
    for name, ours, reference, ratio in rows:
        shown = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"{name:<30} {ours:>9} {reference:>10} {shown:>6}")
    print(f"reference: plain paho (loop_start thread) publishing {EVENTS} messages")


if __name__ == "__main__":
    main()
