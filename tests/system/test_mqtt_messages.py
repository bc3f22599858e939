"""MQTT publication, subscriptions, door commands and Home Assistant on a real broker."""

from __future__ import annotations

import json

import gevent
import pytest
from brokers import Broker
from mqtt_helpers import Observer, publish, wait_until

pytestmark = pytest.mark.peer

PREFIX = "dc/test"
EVENT = "tns1:Device/Trigger/DigitalInput"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("broker")).start()
    yield b
    b.stop()


@pytest.fixture
def observer(broker):
    o = Observer(broker.port, f"{PREFIX}/#")
    yield o
    o.close()


@pytest.fixture
def mqtt(doorctl, root, broker):
    """The appliance connected to the broker with the test prefix."""
    doorctl.settings.update(
        "mqtt_client",
        {"connect": True, "host": "127.0.0.1", "port": broker.port, "topic_prefix": PREFIX},
    )
    wait_until(lambda: doorctl.mqtt.connected, what="connected")
    return doorctl


def publication(doorctl, **changes) -> None:
    doorctl.settings.update("mqtt_publication", changes)


def test_default_publication_topic_and_payload(mqtt, observer):
    event = mqtt.bus.publish(EVENT, {"port": "1"}, {"active": True}, {"input": 1}, property=True)
    topic = f"{PREFIX}/event/Device/Trigger/DigitalInput"
    wait_until(lambda: observer.on(topic))
    message = observer.on(topic)[0]
    assert message.retain is False
    assert json.loads(message.payload) == {
        "topic": EVENT,
        "timestamp": int(event.time * 1000),
        "serialNumber": mqtt.device.serial,
        "message": {"source": {"port": "1"}, "key": {"input": 1}, "data": {"active": True}},
    }


@pytest.mark.parametrize(
    ("changes", "topic"),
    [
        ({"include_namespaces": True}, f"{PREFIX}/event/tns1:Device/Trigger/DigitalInput"),
        ({"include_topic_name": False}, f"{PREFIX}/event"),
        (
            {"use_default_prefix": False, "custom_prefix": "site/a"},
            "site/a/event/Device/Trigger/DigitalInput",
        ),
    ],
)
def test_topic_options(mqtt, broker, changes, topic):
    watch = Observer(broker.port, "#")
    try:
        publication(mqtt, **changes)
        mqtt.bus.publish(EVENT, {}, {"active": True})
        wait_until(lambda: watch.on(topic), what=topic)
    finally:
        watch.close()


def test_serial_number_can_be_left_out(mqtt, observer):
    publication(mqtt, include_serial=False, qos=0)
    mqtt.bus.publish(EVENT, {}, {"active": True})
    topic = f"{PREFIX}/event/Device/Trigger/DigitalInput"
    body = wait_until(lambda: observer.json(topic))[0]
    assert "serialNumber" not in body


def test_retain_property_retains_stateful_events_only(mqtt, broker):
    publication(mqtt, retain="property", qos=2)
    mqtt.bus.publish(
        "tns1:Door/State/DoorMode", {"door": "door1"}, {"state": "Locked"}, property=True
    )
    mqtt.bus.publish("tns1:AccessControl/AccessGranted/Credential", {"door": "door1"}, {})
    wait_until(lambda: mqtt.mqtt.status()["published"] >= 3 and not mqtt.mqtt.status()["queued"])
    late = Observer(broker.port, f"{PREFIX}/event/#")
    try:
        wait_until(lambda: late.on(f"{PREFIX}/event/Door/State/DoorMode"), what="retained")
        assert all(m.retain for m in late.messages)
        assert not late.on(f"{PREFIX}/event/AccessControl/AccessGranted/Credential")
    finally:
        late.close()
        publish(broker.port, f"{PREFIX}/event/Door/State/DoorMode", "", retain=True)


def test_conditions_select_events(mqtt, observer):
    publication(mqtt, conditions=["tns1:AccessControl/", "tns1:Door/State/DoorMode"])
    mqtt.bus.publish(EVENT, {}, {})
    mqtt.bus.publish("tns1:AccessControl/Denied/Credential", {}, {})
    mqtt.bus.publish("tns1:Door/State/DoorMode", {}, {"state": "Unlocked"})
    wait_until(lambda: observer.on(f"{PREFIX}/event/Door/State/DoorMode"))
    # The settings change above is an event too, queued before its conditions applied.
    ours = ("/event/Device/", "/event/AccessControl/", "/event/Door/")
    topics = [m.topic for m in observer.messages if any(k in m.topic for k in ours)]
    assert topics == [
        f"{PREFIX}/event/AccessControl/Denied/Credential",
        f"{PREFIX}/event/Door/State/DoorMode",
    ]


def subscribe(doorctl, *subscriptions: dict, door_commands: bool = False) -> None:
    """Store the subscriptions and wait for the broker's SUBACK."""
    doorctl.settings.update(
        "mqtt_subscriptions",
        {"subscriptions": list(subscriptions), "door_commands": door_commands},
    )
    count = len(subscriptions) + door_commands
    wait_until(lambda: len(doorctl.mqtt.status()["subscribed"]) == count, what="SUBACK")


def test_subscription_messages_become_events(mqtt, broker):
    seen = []
    mqtt.bus.subscribe(seen.append, "tns1:MQTT/")
    subscribe(
        mqtt,
        {"filter": "sensors/+/temp", "type": "stateful", "qos": 1},
        {"filter": "cmd/#", "use_prefix": True, "type": "stateless", "qos": 0},
    )
    publish(broker.port, "sensors/hall/temp", "21.5")
    publish(broker.port, f"{PREFIX}/cmd/x", "hello")
    wait_until(lambda: len(seen) == 2, what="two subscription events")
    stateful, stateless = seen
    assert (stateful.topic, stateful.property) == ("tns1:MQTT/Message/Stateful", True)
    assert stateful.key == {"topic": "sensors/hall/temp"}
    assert stateful.data["payload"] == "21.5"
    assert stateless.topic == "tns1:MQTT/Message/Stateless"
    assert stateless.source["subscription"] == f"{PREFIX}/cmd/#"
    assert mqtt.mqtt.status()["states"] == {"sensors/hall/temp": "21.5"}


def test_own_subscription_events_are_not_published_back(mqtt, broker, observer):
    seen = []
    mqtt.bus.subscribe(seen.append, "tns1:MQTT/")
    subscribe(mqtt, {"filter": f"{PREFIX}/#"})
    publish(broker.port, f"{PREFIX}/hello", "x")
    wait_until(lambda: seen, what="subscription event")
    mqtt.bus.publish(EVENT, {}, {})
    wait_until(lambda: observer.on(f"{PREFIX}/event/Device/Trigger/DigitalInput"))
    wait_until(lambda: len(seen) >= 2, what="own publication received once")
    gevent.sleep(0.5)
    assert not [m.topic for m in observer.messages if "/event/MQTT/" in m.topic]
    assert mqtt.mqtt.status()["loop_guarded"] == len(seen)


def test_door_commands_reach_the_door_engine_and_retained_ones_do_not(mqtt, broker):
    calls, logged = [], []
    mqtt.mqtt.door_commands = lambda door, action, source: calls.append((door, action, source))
    mqtt.bus.subscribe(logged.append, "tns1:Door/Command")
    publish(broker.port, f"{PREFIX}/door/door2/command", "unlock", retain=True)
    subscribe(mqtt, door_commands=True)
    wait_until(lambda: logged, what="retained command logged")
    assert logged[0].data["result"] == "ignored" and calls == []
    publish(broker.port, f"{PREFIX}/door/door1/command", json.dumps({"action": "access"}))
    publish(broker.port, f"{PREFIX}/door/door1/command", "explode")
    wait_until(lambda: len(logged) == 3, what="three command events")
    assert [(d, a) for d, a, _ in calls] == [("door1", "access")]
    assert calls[0][2]["client_id"] == mqtt.mqtt.client["client_id"]
    assert [e.data["result"] for e in logged] == ["ignored", "accepted", "rejected"]
    assert logged[1].source["client_id"] == mqtt.mqtt.client["client_id"]
    publish(broker.port, f"{PREFIX}/door/door2/command", "", retain=True)


def test_door_commands_are_off_by_default_and_drive_the_real_door(mqtt, broker):
    logged = []
    mqtt.bus.subscribe(logged.append, "tns1:Door/Command")
    assert mqtt.mqtt.status()["subscribed"] == []
    subscribe(mqtt, door_commands=True)
    publish(broker.port, f"{PREFIX}/door/front/command", "lockdown")
    wait_until(lambda: logged, what="command event")
    assert logged[0].data == {
        "action": "lockdown",
        "result": "rejected",
        "reason": "There is no door 'front'.",
    }
    assert logged[0].key == {"door": "front"}
    publish(broker.port, f"{PREFIX}/door/1/command", "lockdown")
    # the command is accepted once the held mode is on disk, a moment after it applies
    wait_until(lambda: len(logged) == 2, what="the second command's event")
    assert logged[-1].data["result"] == "accepted"
    assert mqtt.doors[1].mode() == "locked_down"


def test_home_assistant_discovery_and_removal(mqtt, broker):
    watch = Observer(broker.port, "homeassistant/#")
    try:
        publication(mqtt, home_assistant=True)
        serial = mqtt.device.serial
        lock = f"homeassistant/lock/doorctl_{serial}/door1_lock/config"
        wait_until(lambda: len(watch.messages) == 4, what="four configs")
        config = json.loads(watch.payloads(lock)[0])
        assert config["command_topic"] == f"{PREFIX}/door/1/command"
        assert config["state_topic"] == f"{PREFIX}/state/door1_lock"
        assert config["availability_topic"] == f"{PREFIX}/connect"
        assert config["payload_open"] == "access"
        sensors = {m.topic.split("/")[3] for m in watch.messages if "binary_sensor" in m.topic}
        assert sensors == {"door1_position", "door1_tamper", "door1_alarm"}
        publication(mqtt, home_assistant=False)
        wait_until(lambda: watch.payloads(lock)[-1:] == [b""], what="config removed")
    finally:
        watch.close()


def test_turning_connect_off_publishes_the_lwt_payload(mqtt, broker, observer):
    mqtt.settings.update("mqtt_client", {"connect": False})
    wait_until(lambda: observer.payloads(f"{PREFIX}/connect")[-1:] == [b"disconnected"])
    assert mqtt.mqtt.status()["state"] == "disconnected"
