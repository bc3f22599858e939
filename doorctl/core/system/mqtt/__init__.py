"""MQTT (manual: "MQTT"): the client, publication, subscriptions and Home Assistant.

Hooks for the door engine: `MqttService.door_commands` (a callable
`(door_id, action, source)`) and `MqttService.entities` (a callable returning the
Home Assistant entity description, see discovery.py).
"""

from doorctl.core.system.mqtt.service import MqttService

__all__ = ["MqttService"]
