"""Home Assistant on a real broker: current discovery keys, states that wait retained
for a Home Assistant that restarts, and configs and states again on its birth message.
"""

from __future__ import annotations

import json

import pytest
from brokers import Broker
from mqtt_helpers import Observer, publish, wait_until

from doorctl.core.system.mqtt import discovery

pytestmark = pytest.mark.peer

PREFIX = "dc/ha"
BIRTH = "homeassistant/status"
STATES = f"{PREFIX}/state/#"

# Home Assistant's documented configuration keys (2025.10 and later; the pages are
# named in test_every_entity_config_uses_documented_keys). `object_id` is deprecated
# since 2025.10 (it stops working in 2026.4), so it is left out.
COMMON = {
    "availability", "availability_mode", "availability_template", "availability_topic",
    "default_entity_id", "device", "enabled_by_default", "encoding", "entity_category",
    "entity_picture", "icon", "json_attributes_template", "json_attributes_topic", "name",
    "origin", "payload_available", "payload_not_available", "platform", "qos", "unique_id",
    "value_template",
}  # fmt: skip
DOCUMENTED = {
    "lock": {
        "allowed": COMMON | {
            "code_format", "command_template", "command_topic", "optimistic", "payload_lock",
            "payload_open", "payload_reset", "payload_unlock", "retain", "state_jammed",
            "state_locked", "state_locking", "state_open", "state_opening", "state_topic",
            "state_unlocked", "state_unlocking",
        },
        "required": {"command_topic"},
        "states": {"LOCKED", "UNLOCKED"},  # state_locked / state_unlocked defaults
    },
    "binary_sensor": {
        "allowed": COMMON | {
            "device_class", "expire_after", "force_update", "off_delay", "payload_off",
            "payload_on", "state_topic",
        },
        "required": {"state_topic"},
        "states": {"ON", "OFF"},  # payload_on / payload_off defaults
    },
}  # fmt: skip
DEVICE_KEYS = {
    "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model",
    "model_id", "name", "serial_number", "suggested_area", "sw_version", "via_device",
}  # fmt: skip
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
BINARY_SENSOR_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound",
    "tamper", "update", "vibration", "window",
}  # fmt: skip


def check_documented(component: str, config: dict) -> None:
    """Fail unless `config` uses only the keys Home Assistant documents for `component`."""
    documented = DOCUMENTED[component]
    assert set(config) <= documented["allowed"], set(config) - documented["allowed"]
    assert documented["required"] <= set(config)
    assert set(config["device"]) <= DEVICE_KEYS
    assert config["device"]["identifiers"], "a device needs at least one identifier"
    assert set(config["origin"]) <= ORIGIN_KEYS and config["origin"]["name"]
    object_id = config["unique_id"].split("_", 2)[2]
    assert config["default_entity_id"] == f"{component}.{object_id}"
    if component == "binary_sensor":
        assert config["device_class"] in BINARY_SENSOR_CLASSES


@pytest.fixture
def broker(tmp_path):
    """A broker of each test's own: what it retains comes from that test's appliance."""
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def mqtt(doorctl, root, broker):
    """The appliance connected with Home Assistant discovery on."""
    client = {"connect": True, "host": "127.0.0.1", "port": broker.port, "topic_prefix": PREFIX}
    doorctl.settings.update("mqtt_client", client)
    doorctl.settings.update("mqtt_publication", {"home_assistant": True})
    wait_until(lambda: doorctl.mqtt.connected, what="connected")
    return doorctl


@pytest.fixture
def subscriber(broker):
    """subscriber(topic, retained=0): a client connecting now, closed after the test;
    what it receives at once (`retained` messages at least) is what the broker retained."""
    made = []

    def subscribe(topic: str, retained: int = 0) -> Observer:
        made.append(watch := Observer(broker.port, topic))
        wait_until(lambda: len(watch.messages) >= retained, what=f"{retained} on {topic}")
        return watch

    yield subscribe
    for watch in made:
        watch.close()


def current(watch: Observer) -> dict[str, bytes]:
    """The last payload of each entity's state topic, by object_id."""
    return {m.topic.rsplit("/", 1)[1]: m.payload for m in watch.messages}


def test_every_entity_config_uses_documented_keys(doorctl):
    """Door and reader entities, checked against the keys Home Assistant documents:
    https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery (device, origin),
    https://www.home-assistant.io/integrations/lock.mqtt/,
    https://www.home-assistant.io/integrations/binary_sensor.mqtt/ and
    https://www.home-assistant.io/integrations/binary_sensor/#device-class.

    Home Assistant's own schemas can't run here: its releases since 2024.4 need
    Python 3.12 or newer, and the last one for this Python (2024.3) predates
    `default_entity_id`.
    """
    client = doorctl.settings.get("mqtt_client")
    publication = {**doorctl.settings.get("mqtt_publication"), "home_assistant": True}
    entities = discovery.default_entities(1) + discovery.reader_entities(["front"])
    device = doorctl.device.to_dict()
    for entity in entities:
        check_documented(entity["component"], discovery.config(entity, client, publication, device))
    assert len(entities) == 5


def test_states_wait_retained_for_a_home_assistant_that_restarts(mqtt, subscriber):
    live = subscriber(STATES)
    mqtt.doors[1].command("unlock", {"test": "home assistant"})
    mqtt.simulator.set_door("open")
    expected = {
        "door1_lock": b"UNLOCKED",
        "door1_position": b"ON",
        "door1_tamper": b"OFF",
        "door1_alarm": b"OFF",
    }
    wait_until(lambda: current(live) == expected, what="the states after the changes")
    watch = subscriber(STATES, 4)
    assert all(m.retain for m in watch.messages)
    assert current(watch) == expected
    configs = subscriber("homeassistant/#", 4)
    for message in configs.messages:
        config = json.loads(message.payload)
        component = message.topic.split("/")[1]
        check_documented(component, config)
        state = current(watch)[config["default_entity_id"].split(".")[1]]
        assert state.decode() in DOCUMENTED[component]["states"]
    mqtt.doors[1].command("lock", {"test": "home assistant"})
    wait_until(lambda: current(watch)["door1_lock"] == b"LOCKED", what="locked")


@pytest.mark.parametrize(
    ("discovery_prefix", "birth"),
    [
        ("homeassistant", BIRTH),
        ("site/ha", "site/ha/status"),
        ("site/ha", BIRTH),
    ],
)
def test_the_birth_message_brings_configs_and_states_again(
    mqtt, broker, subscriber, discovery_prefix, birth
):
    """A broker that lost its retained messages gets them back when Home Assistant starts."""
    mqtt.settings.update("mqtt_publication", {"discovery_prefix": discovery_prefix})
    serial = mqtt.device.serial
    lock_config = f"{discovery_prefix}/lock/doorctl_{serial}/door1_lock/config"
    subscriber(lock_config, 1)
    subscriber(STATES, 4)
    publish(broker.port, lock_config, "", retain=True)
    for object_id in ("door1_lock", "door1_position", "door1_tamper", "door1_alarm"):
        publish(broker.port, f"{PREFIX}/state/{object_id}", "", retain=True)
    watch = subscriber("#")
    publish(broker.port, birth, "offline")
    publish(broker.port, birth, "online")
    wait_until(lambda: watch.payloads(lock_config) and len(current_states(watch)) == 4)
    config = json.loads(watch.payloads(lock_config)[-1])
    assert config["state_topic"] == f"{PREFIX}/state/door1_lock"
    assert current_states(watch)["door1_lock"] == b"LOCKED"
    assert len(subscriber(STATES, 4).messages) == 4


def current_states(watch: Observer) -> dict[str, bytes]:
    return {
        m.topic.rsplit("/", 1)[1]: m.payload
        for m in watch.messages
        if m.topic.startswith(f"{PREFIX}/state/") and m.payload
    }
