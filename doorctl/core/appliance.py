"""The appliance: every part of the controller, built from one data directory."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from doorctl.core import eventlog
from doorctl.core.access_control import access, alarms, door, door_settings
from doorctl.core.access_control.door_modes import DoorModes
from doorctl.core.access_control.readers import Readers
from doorctl.core.access_control.scheduled_unlock import ScheduledUnlock
from doorctl.core.access_control.schedules import KIND as SCHEDULE
from doorctl.core.accessories import io_ports
from doorctl.core.board import BoardService, Simulator, open_appliance_board
from doorctl.core.device import DeviceInfo
from doorctl.core.engine.process import EngineProcess
from doorctl.core.engine.proxy import Remote, RemoteSimulator, RemoteWithSettings
from doorctl.core.engine.writes import EngineWrites
from doorctl.core.errors import NotFound
from doorctl.core.eventlog import EventLog
from doorctl.core.events import EventBus
from doorctl.core.logs import audit
from doorctl.core.secrets import Sealer
from doorctl.core.settings import Settings
from doorctl.core.store import Store, secret_key
from doorctl.core.system import security
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.mqtt import MqttService
from doorctl.core.system.mqtt.discovery import default_entities, reader_entities
from doorctl.core.system.network.http_https import HttpHttps
from doorctl.core.system.network.https import Https
from doorctl.core.system.network.sessions import EndedSessions
from doorctl.core.system.users import SECTION as SESSIONS
from doorctl.core.system.users import SessionSettings, Users

log = logging.getLogger(__name__)


# The settings sections whose services run in the engine process.
ENGINE_SECTIONS = (door_settings.SECTION, io_ports.SECTION, alarms.SECTION, access.SECTION)


class Appliance:
    """Store, settings, users, event bus and services; start() runs the services.

    role "whole" runs everything in this process; "web" runs the web's part and
    starts the engine process, whose services it reaches through stand-ins; "engine"
    is that process: the board, readers, door and decisions (core/engine/).
    """

    def __init__(
        self,
        data_dir: Path,
        hardware: str = "sim",
        serial: str | None = None,
        role: str = "whole",
        reader_test_ports: bool = False,
    ):
        self.role = role
        self.data_dir = data_dir
        self.store = Store(data_dir)
        self.secret_key = secret_key(data_dir)
        self.sealer = Sealer(self.secret_key)
        self.settings = Settings(self.store, self.sealer)
        self.device = DeviceInfo(hardware, serial)
        self.settings.register(door_settings.SECTION, door_settings.DoorSettings)
        if role == "engine":
            self.services = self._engine_role(hardware)
        else:
            self.services = self._web_role(hardware, reader_test_ports)
        self.running = False

    def _engine_role(self, hardware: str) -> list:
        """The engine process: its services, and the store writes it makes (readers,
        keys) on a disk writer's thread; no users, event log, MQTT or HTTPS."""
        self.bus = EventBus()
        self.writes = EngineWrites(self.store, self.bus)
        self.store.writer = self.writes
        return [self.writes, *self._engine_services(hardware)]

    def _web_role(self, hardware: str, reader_test_ports: bool) -> list:
        """Users, sessions, security, the event log, MQTT and HTTPS, with the engine's
        services here ("whole") or in the engine process ("web")."""
        self.bus = EventBus(first_id=eventlog.last_id(self.store) + 1)
        self.certificates = Certificates(self.store, self.sealer, self.data_dir)
        self.https = Https(self.certificates)
        self.http_https = HttpHttps(self.settings, self.https, self.bus)
        self.users = Users(self.store, self.bus)
        self.ended_sessions = EndedSessions(self.store)
        self._section(SESSIONS, SessionSettings, self.users)
        self.settings.register(security.SECTION, security.SecuritySettings)
        self.security = security.Security(self.bus, self.users, self.settings.get(security.SECTION))
        self.settings.on_change(security.SECTION, self.security.apply)
        self.event_log = EventLog(self.store, self.bus)
        self._section(eventlog.SECTION, eventlog.EventLogSettings, self.event_log)
        self.mqtt = MqttService(
            self.settings, self.store, self.bus, self.device, self.certificates, self.data_dir
        )
        self.mqtt.door_commands = self.door_command
        self.mqtt.entities = self._entities
        if self.role == "web":
            engine = self._engine_stand_ins(hardware, reader_test_ports)
        else:
            engine = self._engine_services(hardware)
            self.readers.test_ports = reader_test_ports
        return [self.event_log, *engine, self.mqtt, self.https, self.http_https]

    def _engine_services(self, hardware: str) -> list:
        """The board, doors, readers and decisions, running in this process."""
        lock_type = self.settings.get(door_settings.SECTION)["lock_type"]
        self.board = open_appliance_board(self.data_dir, hardware, lock_type)
        door_services = self._door_services()
        return [*door_services, *self._access_service(), self._readers_service(self.data_dir)]

    def _engine_stand_ins(self, hardware: str, reader_test_ports: bool) -> list:
        """The engine process, and stand-ins for its services under their usual names;
        a saved engine section is re-read and applied there."""
        self.engine = EngineProcess(self.data_dir, hardware, self.bus, reader_test_ports)
        call = self.engine.call
        for section, form in (
            (io_ports.SECTION, io_ports.IoPortSettings),
            (alarms.SECTION, alarms.AlarmSettings),
            (access.SECTION, access.AccessSettings),
        ):
            self.settings.register(section, form)
        door_record = lambda: self.settings.get(door_settings.SECTION)  # noqa: E731
        self.doors = {1: RemoteWithSettings(call, "door", door_record, id=1)}
        self.io_ports = RemoteWithSettings(
            call, "io_ports", lambda: self.settings.get(io_ports.SECTION)
        )
        for name in ("alarms", "board_service", "readers"):
            setattr(self, name, Remote(call, name))
        self.simulator = RemoteSimulator(call, "simulator", hardware)
        self.access = access.AccessControl(
            self.store, self.bus, self.doors, self.secret_key, self.settings.get(access.SECTION)
        )
        # checks only (a door's schedule exists, a schedule in use is kept): the engine's runs
        self.scheduled_unlock = ScheduledUnlock(
            self.doors, self.access.schedules, lambda: self.access.tz
        )
        self.settings.check(door_settings.SECTION, self.scheduled_unlock.check)
        for section in ENGINE_SECTIONS:
            self.settings.on_change(section, partial(self.engine.apply, section))
        self.bus.subscribe(self._schedules_changed, f"{audit.PREFIX}{SCHEDULE}/")
        return [self.engine]

    def _schedules_changed(self, event) -> None:
        """The engine decides with its own copy of the schedules: it reads them again."""
        self.engine.tell("schedules", "forget")

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
        self.simulator = Simulator(self.board, lambda: the_door.settings)
        self.io_ports.after_reset(lambda: the_door.running and the_door.reset_outputs())
        for section, service in (
            (door_settings.SECTION, the_door),
            (io_ports.SECTION, self.io_ports),
            (alarms.SECTION, self.alarms),
        ):
            self.settings.on_change(section, service.apply)
        return [self.board_service, self.io_ports, self.door_modes, the_door, self.alarms]

    def door_command(self, door_id: str, action: str, source: dict) -> None:
        """Run a door action named from outside (MQTT); raise NotFound or Invalid."""
        door = self.doors.get(int(door_id)) if str(door_id).isdigit() else None
        if door is None:
            raise NotFound(f"There is no door {door_id!r}.")
        door.command(action, source)

    def door_engine(self) -> dict:
        """Where the door engine runs, whether it runs, and why it last ended (Status)."""
        if self.role == "web":
            return {"apart": True, **self.engine.status()}
        state = "running" if self.running else "starting"
        return {"apart": False, "running": self.running, "state": state, "restarts": 0}

    def _section(self, section: str, form, service) -> None:
        """Register a settings section and hand its stored record to the service."""
        self.settings.register(section, form)
        service.apply(self.settings.get(section))
        self.settings.on_change(section, service.apply)

    def _access_service(self):
        """Access control over the doors; the Wiegand reader is door 1's entry reader."""
        self.settings.register(access.SECTION, access.AccessSettings)
        settings = self.settings.get(access.SECTION)
        self.access = access.AccessControl(
            self.store, self.bus, self.doors, self.secret_key, settings
        )
        self.settings.on_change(access.SECTION, self.access.apply)
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

    def _entities(self) -> list[dict]:
        """Home Assistant entities: each door's, and each OSDP reader's online state."""
        osdp = [r["id"] for r in self.readers.list() if r["protocol"] == "osdp"]
        return [e for d in self.doors for e in default_entities(d)] + reader_entities(osdp)

    def start(self) -> None:
        """Start every service in order (greenlets; nothing here blocks)."""
        for service in self.services:
            service.start()
        self.running = True
        if self.role != "web":
            self.board_service.ready()
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
