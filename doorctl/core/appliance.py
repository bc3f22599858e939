"""The appliance: every part of the controller, built from one data directory."""

from __future__ import annotations

import json
import logging
from functools import partial
from pathlib import Path

from doorctl.core import eventlog
from doorctl.core.access_control import access, alarms, door_settings
from doorctl.core.access_control.scheduled_unlock import ScheduledUnlock
from doorctl.core.access_control.schedules import KIND as SCHEDULE
from doorctl.core.accessories import io_ports
from doorctl.core.device import DeviceInfo
from doorctl.core.engine.parts import EngineParts
from doorctl.core.engine.process import EngineProcess
from doorctl.core.engine.proxy import Remote, RemoteSimulator, RemoteWithSettings
from doorctl.core.errors import NotFound
from doorctl.core.eventlog import EventLog
from doorctl.core.events import EventBus
from doorctl.core.logs import audit
from doorctl.core.logs.network_trace import NetworkTrace
from doorctl.core.logs.remote_syslog import RemoteSyslog
from doorctl.core.logs.system_log import SystemLog
from doorctl.core.maintenance.leds import FIRMWARE_TOPIC
from doorctl.core.maintenance.maintenance import Maintenance
from doorctl.core.secrets import Sealer
from doorctl.core.settings import Settings
from doorctl.core.store import Store, secret_key
from doorctl.core.system import proxy, security
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.date_time import settings as date_time
from doorctl.core.system.date_time.chrony import Chrony
from doorctl.core.system.date_time.service import DateTime
from doorctl.core.system.discovery import settings as discovery
from doorctl.core.system.discovery.service import Discovery
from doorctl.core.system.kiosk import Kiosk
from doorctl.core.system.mqtt import MqttService
from doorctl.core.system.mqtt.discovery import default_entities, reader_entities
from doorctl.core.system.network.http_https import SECTION as HTTP_HTTPS
from doorctl.core.system.network.http_https import HttpHttps
from doorctl.core.system.network.https import Https
from doorctl.core.system.network.ip import IpNetwork
from doorctl.core.system.network.sessions import EndedSessions
from doorctl.core.system.security.dot1x import Ieee8021x
from doorctl.core.system.security.firmware_key import FirmwareKey
from doorctl.core.system.snmp import Snmp
from doorctl.core.system.snmp import objects as snmp_objects
from doorctl.core.system.snmp import settings as snmp
from doorctl.core.system.snmp import traps as snmp_traps
from doorctl.core.system.snmp.users import SnmpUsers
from doorctl.core.system.users import SECTION as SESSIONS
from doorctl.core.system.users import SessionSettings, Users

log = logging.getLogger(__name__)


# The settings sections whose services run in the engine process.
ENGINE_SECTIONS = (
    door_settings.SECTION,
    io_ports.SECTION,
    alarms.SECTION,
    access.SECTION,
    date_time.SECTION,  # the time zone of schedules
)
# chrony's command socket and doorctl's sources file on Raspberry Pi OS (Debian's chrony)
CHRONY_SOCKET = "/run/chrony/chronyd.sock"
CHRONY_SOURCES = "/etc/chrony/sources.d/doorctl.sources"


class Appliance(EngineParts):
    """Store, settings, users, event bus and services; start() runs the services.

    role "web" runs the web's part and starts the engine process (core/engine/parts.py
    builds that process's appliance), whose services it reaches through stand-ins;
    "whole" runs everything in this process (`doorctl serve --engine-in-process`).
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
        self.system_log = SystemLog(self.store)
        self.secret_key = secret_key(data_dir)
        self.sealer = Sealer(self.secret_key)
        self.settings = Settings(self.store, self.sealer)
        self.device = DeviceInfo(hardware, serial)
        self.settings.register(door_settings.SECTION, door_settings.DoorSettings)
        self.services = self._web_role(hardware, reader_test_ports)
        self.running = False

    def _web_role(self, hardware: str, reader_test_ports: bool) -> list:
        """Users, sessions, security, the event log, MQTT and HTTPS, with the engine's
        services here ("whole") or in the engine process ("web")."""
        self.bus = EventBus(first_id=eventlog.last_id(self.store) + 1)
        self.certificates = Certificates(self.store, self.sealer, self.data_dir)
        self.https = Https(self.certificates)
        self.http_https = HttpHttps(self.settings, self.https, self.bus)
        self.ip_network = IpNetwork(self.settings, self.bus)
        self.ieee8021x = Ieee8021x(
            self.settings,
            self.certificates,
            self.data_dir,
            ip_waiting=lambda: self.ip_network.pending is not None,
        )
        self.users = Users(self.store, self.bus)
        self.ended_sessions = EndedSessions(self.store)
        self._section(SESSIONS, SessionSettings, self.users)
        self.settings.register(security.SECTION, security.SecuritySettings)
        self.security = security.Security(self.bus, self.users, self.settings.get(security.SECTION))
        self.settings.on_change(security.SECTION, self.security.apply)
        self.kiosk = Kiosk(self.store, self.settings, self.bus, self.security.blocking, self.users)
        self.settings.register(date_time.SECTION, date_time.DateTimeSettings)
        chrony = Chrony(CHRONY_SOCKET, CHRONY_SOURCES)
        self.date_time = DateTime(self.settings, self.bus, chrony)
        self.settings.on_change(date_time.SECTION, self.date_time.apply)
        self.discovery = self._discovery()
        self.firmware_key = FirmwareKey(self.data_dir, self.store)
        self.event_log = EventLog(self.store, self.bus)
        self._section(eventlog.SECTION, eventlog.EventLogSettings, self.event_log)
        self.settings.register(proxy.SECTION, proxy.ProxySettings, secrets=proxy.SECRETS)
        self.maintenance = Maintenance(self.data_dir, self.bus)
        self.mqtt = MqttService(
            self.settings, self.store, self.bus, self.device, self.certificates, self.data_dir
        )
        self.remote_syslog = RemoteSyslog(
            self.store, self.settings, self.bus, self.certificates, self.system_log
        )
        self.mqtt.door_commands = self.door_command
        self.snmp = self._snmp()
        self.mqtt.entities = self._entities
        if self.role == "web":
            engine = self._engine_stand_ins(hardware, reader_test_ports)
        else:
            engine = self._engine_services(hardware)
            self.readers.test_ports = reader_test_ports
        services = [self.system_log, self.event_log, self.maintenance, *engine, self.mqtt]
        services += [self.remote_syslog]
        services += [self.https]
        self.snmp_objects = snmp_objects.attach(self)
        self.snmp_traps = snmp_traps.attach(self, self.snmp_objects)
        services += [self.snmp_objects, self.snmp_traps]
        services += [self.http_https, self.ip_network, self.date_time]
        self.network_trace = NetworkTrace(self.data_dir, self.bus.publish)
        return [*services, self.discovery, self.network_trace, self.snmp]

    def _snmp(self) -> Snmp:
        """SNMP: net-snmp's snmpd as a child, restarted on each saved change."""
        self.snmp_users = SnmpUsers(self.store, self.sealer, sending=self._snmp_sends_v3)
        self._adopt_snmp_user()
        self.settings.register(snmp.SECTION, snmp.SnmpSettings, secrets=snmp.SECRETS)
        users = self.snmp_users.opened
        service = Snmp(self.settings, self.data_dir, self.device.serial, users)
        self.snmp_users.changed = service.users_changed
        self.settings.check(snmp.SECTION, lambda record: snmp.sender_check(record, users()))
        self.settings.on_change(snmp.SECTION, service.apply)
        return service

    def _snmp_sends_v3(self) -> bool:
        """SNMP v3 sends traps now: the user they are sent as must stay."""
        record = self.settings.get(snmp.SECTION)
        return record["version"] == snmp.V3 and bool(record["trap_receivers"])

    def _adopt_snmp_user(self) -> None:
        """An earlier version's one v3 user (in the SNMP settings) into the users' table."""
        row = self.store.execute("SELECT data FROM settings WHERE section = ?", (snmp.SECTION,))
        stored = row.fetchone()
        if stored and any(name in json.loads(stored[0]) for name in snmp.MOVED):
            self.snmp_users.adopt(json.loads(stored[0]))

    def _discovery(self) -> Discovery:
        """Network discovery, its names' default the device name and MAC address."""
        self.settings.register(discovery.SECTION, discovery.NetworkDiscoverySettings)
        name = discovery.default_name()
        self.settings.set_defaults(discovery.SECTION, {"bonjour_name": name, "upnp_name": name})
        service = Discovery(self.settings, self.device.serial, lambda: self.http_https.in_force)
        self.settings.on_change(discovery.SECTION, service.apply)
        self.settings.on_change(HTTP_HTTPS, service.served_changed)
        return service

    def _engine_stand_ins(self, hardware: str, reader_test_ports: bool) -> list:
        """The engine process, and stand-ins for its services under their usual names;
        a saved engine section is re-read and applied there."""
        self.engine = EngineProcess(self.data_dir, hardware, self.bus, reader_test_ports)
        self.engine.on_log = self.system_log.relay
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
            self.store, self.bus, self.doors, self.pin_secret(), self.settings.get(access.SECTION)
        )
        self.settings.on_change(access.SECTION, self.access.apply)
        # the time zone of the web's checks and logs
        self.access.apply_zone(self.settings.get(date_time.SECTION))
        self.settings.on_change(date_time.SECTION, self.access.apply_zone)
        # checks only (a door's schedule exists, a schedule in use is kept): the engine's runs
        self.scheduled_unlock = ScheduledUnlock(
            self.doors, self.access.schedules, lambda: self.access.tz
        )
        self.settings.check(door_settings.SECTION, self.scheduled_unlock.check)
        for section in ENGINE_SECTIONS:
            self.settings.on_change(section, partial(self.engine.apply, section))
        self.bus.subscribe(self._schedules_changed, f"{audit.PREFIX}{SCHEDULE}/")
        self.bus.subscribe(self._firmware_phase, FIRMWARE_TOPIC)
        return [self.engine]

    def _schedules_changed(self, event) -> None:
        """The engine decides with its own copy of the schedules: it reads them again."""
        self.engine.tell("schedules", "forget")

    def _firmware_phase(self, event) -> None:
        """The engine holds the LEDs: it shows the upgrade's phase on them."""
        self.engine.tell("leds", "firmware", event.data)

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

    def _entities(self) -> list[dict]:
        """Home Assistant entities: each door's, and each OSDP reader's online state."""
        osdp = [r["id"] for r in self.readers.list() if r["protocol"] == "osdp"]
        return [e for d in self.doors for e in default_entities(d)] + reader_entities(osdp)
