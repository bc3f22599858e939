"""doorctl's notifications (DOORCTL-MIB): door forced open, open too long, tamper, readers.

A bus subscriber turns the events that start such a condition into notifications and
only queues them; a sender greenlet fills in the object's row from the objects'
snapshot and hands the notification to doorctl's snmpd with net-snmp's `agentxtrap`
(a gevent child process, over snmpd's AgentX socket). snmpd sends it to every trap
receiver of the SNMP settings as it sends its cold-start trap: v2c with the trap
community, v3 traps with the unit's engine ID or informs with their retries. So the
credentials never leave snmpd, and doorctl never waits for a receiver: one that is
down costs snmpd's retries and a line in its log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import gevent
import gevent.pool
import gevent.queue
from gevent import subprocess

from doorctl.core.events import Event, EventBus, Listeners

from . import mib
from .objects import SnmpObjects, agentx_socket

log = logging.getLogger(__name__)

DOOR_ALARM = "tns1:Door/State/DoorAlarm"
DOOR_TAMPER = "tns1:Door/State/DoorTamper"
DEVICE_TAMPER = "tns1:Device/Tamper"
READER_ONLINE = "tns1:Device/Reader/Online"
QUEUE_LIMIT = 1000  # notifications waiting to be sent; past that they are dropped and counted
SENDERS = 4  # agentxtrap children at once
SEND_TIMEOUT = 10.0  # agentxtrap answers at once unless snmpd is stuck
VARBIND_TYPES = {"integer": "i", "string": "s", "gauge": "u"}
# a notification's key in the row: the door's id, the reader's and the alarm's
ROW_KEYS = {"doors": ("index", "door"), "readers": ("id", "reader"), "alarms": ("alarm", "alarm")}

DOOR_ALARMS = (("forced_open", mib.DOOR_FORCED_OPEN), ("open_too_long", mib.DOOR_OPEN_TOO_LONG))


class Transitions:
    """Which notifications an event starts, given what earlier events said."""

    def __init__(self) -> None:
        self.door_alarms: dict[int, set[str]] = {}
        self.door_tamper: dict[int, bool] = {}
        self.offline: set[str] = set()

    def of(self, event: Event) -> list[mib.Notification]:
        """The notifications `event` starts (none when it only repeats or clears)."""
        if event.topic == DOOR_ALARM:
            door = event.key["door"]
            now = set(event.data.get("alarms", ()))
            before = self.door_alarms.get(door, set())
            self.door_alarms[door] = now
            started = now - before
            return [notification for alarm, notification in DOOR_ALARMS if alarm in started]
        if event.topic == DOOR_TAMPER:
            door = event.key["door"]
            tampered = event.data.get("state") == "TamperDetected"
            started = tampered and not self.door_tamper.get(door, False)
            self.door_tamper[door] = tampered
            return [mib.DOOR_TAMPER] if started else []
        if event.topic == DEVICE_TAMPER:
            return [mib.TAMPER] if event.data.get("state") else []
        if event.topic == READER_ONLINE:
            return self._reader(event.key["reader"], bool(event.data.get("online")))
        return []

    def _reader(self, reader: str, online: bool) -> list[mib.Notification]:
        """Offline each time; online only when it comes back after being offline."""
        if not online:
            self.offline.add(reader)
            return [mib.READER_OFFLINE]
        if reader in self.offline:
            self.offline.discard(reader)
            return [mib.READER_ONLINE]
        return []


def event_row(notification: mib.Notification, event: Event) -> dict:
    """What the event itself says of the row, newer than any snapshot."""
    if notification.table is mib.DOORS and event.topic == DOOR_ALARM:
        return {"alarms": list(event.data.get("alarms", ()))}
    if notification.table is mib.DOORS:
        tampered = event.data.get("state") == "TamperDetected"
        return {"alarms": ["door_monitor_tampered"] if tampered else []}
    if notification.table is mib.READERS:
        return {"online": bool(event.data.get("online"))}
    return {"triggered": bool(event.data.get("state"))}


def varbinds(notification: mib.Notification, row: dict) -> list[tuple[str, str, object]]:
    """The notification's objects at the row's index: (OID, type, value)."""
    table = notification.table
    found = []
    for name in notification.objects:
        column = table.column(name)
        found.append((mib.instance(table, column, row["index"]), column.kind, column.value(row)))
    return found


def command(socket: Path, notification: mib.Notification, bindings: list) -> list[str]:
    """agentxtrap's arguments: the notification and its objects to snmpd's AgentX socket."""
    args = ["agentxtrap", "-m", "", "-x", f"unix:{socket}", f".{notification.oid}"]
    for oid, kind, value in bindings:
        args += [f".{oid}", VARBIND_TYPES[kind], str(value)]
    return args


class SnmpTraps:
    """Sends DOORCTL-MIB notifications through snmpd while `receivers()` gives any."""

    def __init__(self, bus: EventBus, objects: SnmpObjects, socket: Path):
        self.bus = bus
        self.objects = objects
        self.socket = socket
        self.receivers: Callable[[], list] = list
        self.counts = {"sent": 0, "failed": 0, "dropped": 0}
        self._transitions = Transitions()
        self._queue: gevent.queue.Queue = gevent.queue.Queue(QUEUE_LIMIT)
        self._pool = gevent.pool.Pool(SENDERS)
        self._listeners = Listeners()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Follow the events that start a notification."""
        topics = (DOOR_ALARM, DOOR_TAMPER, DEVICE_TAMPER, READER_ONLINE)
        self._listeners.add(self.bus.subscribe(self._on_event, *topics))
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop following events; sends under way are ended."""
        self._listeners.clear()
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None
        self._pool.kill()

    def status(self) -> dict:
        """How many notifications were sent, failed and dropped since the start."""
        return dict(self.counts)

    def _on_event(self, event: Event) -> None:
        for notification in self._transitions.of(event):
            try:
                self._queue.put_nowait((notification, event))
            except gevent.queue.Full:
                self.counts["dropped"] += 1

    def _run(self) -> None:
        for notification, event in self._queue:
            if not self.receivers():
                continue
            try:
                bindings = self._bindings(notification, event)
            except Exception:  # a bug must not end the notifications for good
                log.exception("SNMP: %s not made", notification.name)
                continue
            if bindings is None:
                continue
            self._pool.spawn(self._send, notification, bindings)

    def _bindings(self, notification: mib.Notification, event: Event) -> list | None:
        """The notification's objects: the row from the snapshot, with the event's news."""
        key, source_key = ROW_KEYS[notification.table.rows]
        wanted = event.key.get(source_key, event.source.get(source_key))
        row = self.objects.row(notification.table, **{key: wanted})
        if row is None:
            log.warning("SNMP: no %s %r to notify %s about", source_key, wanted, notification.name)
            return None
        return varbinds(notification, {**row, **event_row(notification, event)})

    def _send(self, notification: mib.Notification, bindings: list) -> None:
        """One agentxtrap child; a failure (snmpd restarting) is counted and logged."""
        try:
            done = subprocess.run(
                command(self.socket, notification, bindings),
                env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "MIBS": ""},
                capture_output=True,
                text=True,
                timeout=SEND_TIMEOUT,
            )
            failed, why = done.returncode != 0, done.stderr.strip()
        except (OSError, subprocess.TimeoutExpired) as error:
            failed, why = True, str(error)
        self.counts["failed" if failed else "sent"] += 1
        if failed:
            log.warning("SNMP: %s not handed to snmpd: %s", notification.name, why)


def attach(appliance, objects: SnmpObjects) -> SnmpTraps:
    """The appliance's notifications, sent to the receivers of the SNMP settings."""
    traps = SnmpTraps(appliance.bus, objects, agentx_socket(appliance.data_dir))
    traps.receivers = appliance.snmp.targets
    return traps
