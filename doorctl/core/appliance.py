"""The appliance: every part of the controller, built from one data directory."""

from __future__ import annotations

import logging
from pathlib import Path

from doorctl.core.device import DeviceInfo
from doorctl.core.eventlog import EventLog
from doorctl.core.events import EventBus
from doorctl.core.mqtt import MqttService
from doorctl.core.settings import Settings
from doorctl.core.store import Store, secret_key
from doorctl.core.users import Users

log = logging.getLogger(__name__)


class Appliance:
    """Store, settings, users, event bus and services; start() runs the services."""

    def __init__(self, data_dir: Path, hardware: str = "sim", serial: str | None = None):
        self.data_dir = data_dir
        self.store = Store(data_dir)
        self.secret_key = secret_key(data_dir)
        self.settings = Settings(self.store)
        self.users = Users(self.store)
        last_id = self.store.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        self.bus = EventBus(first_id=last_id + 1)
        self.event_log = EventLog(self.store, self.bus)
        self.device = DeviceInfo(hardware, serial)
        self.mqtt = MqttService(self.settings, self.store, self.bus, self.device, data_dir)
        self.services: list = [self.event_log, self.mqtt]
        self.running = False

    def start(self) -> None:
        """Start every service in order (greenlets; nothing here blocks)."""
        for service in self.services:
            service.start()
        self.running = True
        log.info("doorctl started on the %s board, data in %s", self.device.hardware, self.data_dir)

    def stop(self) -> None:
        """Stop the services in reverse order; outputs go back to their normal state."""
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:
                log.exception("stopping %r failed", service)
        self.running = False
