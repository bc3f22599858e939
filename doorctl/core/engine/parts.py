"""The engine's parts: the board, the door, I/O ports, alarms, access decisions and
readers, and the engine process's appliance built from them.

`EngineParts` builds them on an appliance that has a store, settings and a bus: the
engine process's own (`Engine`, below), or the whole appliance in one process
(`doorctl serve --engine-in-process`, core/appliance.py). `Engine` builds nothing
else: no users, sessions, certificates, HTTPS, event log or MQTT, and it imports none
of them, so that it starts (and restarts) quickly.
"""

from __future__ import annotations

import logging
from pathlib import Path

from doorctl.core.access_control import access, alarms, door, door_settings
from doorctl.core.access_control.door_modes import DoorModes
from doorctl.core.access_control.pin_key import pin_secret
from doorctl.core.access_control.readers import Readers
from doorctl.core.access_control.scheduled_unlock import ScheduledUnlock
from doorctl.core.accessories import io_ports
from doorctl.core.board import BoardService, Simulator, open_appliance_board
from doorctl.core.device import DeviceInfo
from doorctl.core.engine.writes import EngineWrites
from doorctl.core.events import EventBus
from doorctl.core.maintenance.leds import Leds, upgrade_failed
from doorctl.core.secrets import Sealer
from doorctl.core.settings import Settings
from doorctl.core.store import Store, secret_key
from doorctl.core.system.date_time import settings as date_time

log = logging.getLogger(__name__)


class EngineParts:
    """Builds the engine's services on `self` (store, settings, bus, data_dir, sealer,
    secret_key), and starts and stops `self.services` in order."""

    role = "whole"

    def _engine_services(self, hardware: str) -> list:
        """The board, doors, readers and decisions, running in this process."""
        lock_type = self.settings.get(door_settings.SECTION)["lock_type"]
        self.board = open_appliance_board(self.data_dir, hardware, lock_type)
        door_services = self._door_services()
        return [*door_services, *self._access_service(), self._readers_service(self.data_dir)]

    def pin_secret(self) -> bytes:
        """The key of the PIN hashes: the device secret, or a restored backup's."""
        return pin_secret(self.store, self.sealer, self.secret_key)

    def engine_targets(self) -> dict:
        """The services the web process calls by name in the engine process."""
        return {
            "door": self.doors[1],
            "io_ports": self.io_ports,
            "alarms": self.alarms,
            "board_service": self.board_service,
            "simulator": self.simulator,
            "readers": self.readers,
            "settings": self.settings,
            "schedules": self.access.schedules,
            "leds": self.leds,
        }

    def _door_services(self) -> list:
        """The board, I/O ports, the door and the alarms, wired to their settings."""
        self.settings.register(io_ports.SECTION, io_ports.IoPortSettings)
        self.settings.register(alarms.SECTION, alarms.AlarmSettings)
        self.door_modes = DoorModes(self.store)
        door_record = self.settings.get(door_settings.SECTION)
        the_door = door.Door(1, self.board, self.bus, door_record, self.door_modes)
        self.doors = {the_door.id: the_door}
        self.io_ports = io_ports.IoPorts(
            self.board, self.bus, self.settings.get(io_ports.SECTION), lambda: the_door.settings
        )
        self.alarms = alarms.Alarms(
            self.board, self.bus, self.settings.get(alarms.SECTION), self.io_ports.is_active
        )
        self.board_service = BoardService(self.board, lambda: the_door.settings)
        self.leds = Leds(self.board, self.bus, upgrade_failed(self.data_dir))
        self.simulator = Simulator(self.board, lambda: the_door.settings)
        self.io_ports.after_reset(lambda: the_door.running and the_door.reset_outputs())
        for section, service in (
            (door_settings.SECTION, the_door),
            (io_ports.SECTION, self.io_ports),
            (alarms.SECTION, self.alarms),
        ):
            self.settings.on_change(section, service.apply)
        return [
            self.board_service,
            self.leds,
            self.io_ports,
            self.door_modes,
            the_door,
            self.alarms,
        ]

    def _access_service(self):
        """Access control over the doors; the Wiegand reader is door 1's entry reader."""
        self.settings.register(access.SECTION, access.AccessSettings)
        settings = self.settings.get(access.SECTION)
        self.access = access.AccessControl(
            self.store, self.bus, self.doors, self.pin_secret(), settings
        )
        self.settings.on_change(access.SECTION, self.access.apply)
        self.settings.register(date_time.SECTION, date_time.DateTimeSettings)
        self.access.apply_zone(self.settings.get(date_time.SECTION))
        self.settings.on_change(date_time.SECTION, self.access.apply_zone)
        self.scheduled_unlock = ScheduledUnlock(
            self.doors, self.access.schedules, lambda: self.access.tz
        )
        self.settings.check(door_settings.SECTION, self.scheduled_unlock.check)
        # the door's restored scheduled unlock is checked before any reader is heard
        return [self.scheduled_unlock, access.WiegandReader(self.board, self.access)]

    def _readers_service(self, data_dir: Path) -> Readers:
        """The OSDP readers and the Wiegand reader (Peripherals), deciding through access."""
        self.readers = Readers(
            self.store, self.bus, self.access, self.doors, data_dir, self.sealer, board=self.board
        )
        return self.readers

    def start(self) -> None:
        """Start every service in order (greenlets; nothing here blocks)."""
        for service in self.services:
            service.start()
        self.running = True
        if self.role != "web":
            self.board_service.ready()
            self.leds.ready()
        log.info(
            "doorctl (%s) started on the %s board, data in %s",
            self.role,
            self.device.hardware,
            self.data_dir,
        )

    def stop(self) -> None:
        """Stop the services in reverse order; outputs go back to their normal state."""
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:
                log.exception("stopping %r failed", service)
        self.running = False


class Engine(EngineParts):
    """The engine process's appliance: store, settings, bus and the engine's services;
    its store writes (readers, keys) commit on a disk writer's thread."""

    role = "engine"

    def __init__(self, data_dir: Path, hardware: str, reader_test_ports: bool = False):
        self.data_dir = data_dir
        self.store = Store(data_dir)
        self.secret_key = secret_key(data_dir)
        self.sealer = Sealer(self.secret_key)
        self.settings = Settings(self.store, self.sealer)
        self.device = DeviceInfo(hardware)
        self.settings.register(door_settings.SECTION, door_settings.DoorSettings)
        self.bus = EventBus()
        self.writes = EngineWrites(self.store, self.bus)
        self.store.writer = self.writes
        self.services = [self.writes, *self._engine_services(hardware)]
        self.readers.test_ports = reader_test_ports
        self.running = False
