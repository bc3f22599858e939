"""doorctl's notifications (DOORCTL-MIB): door forced open, open too long, tamper, readers.

A bus subscriber turns the events that start such a condition into notifications and
only queues them; a sender greenlet fills in the object's row from the objects'
snapshot and runs net-snmp's `snmptrap` (or `snmpinform`) once per receiver, as gevent
child processes, so the hub never waits for a receiver: one that is down costs a
logged failure. The community and v3 passphrases go to the child in a snmp.conf of its
own (mode 0600, removed after), never on its command line where `ps` would show them.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import gevent
import gevent.pool
import gevent.queue
from gevent import subprocess

from doorctl.core.events import Event, EventBus, Listeners

from . import mib
from .objects import SnmpObjects

log = logging.getLogger(__name__)

DOOR_ALARM = "tns1:Door/State/DoorAlarm"
DOOR_TAMPER = "tns1:Door/State/DoorTamper"
DEVICE_TAMPER = "tns1:Device/Tamper"
READER_ONLINE = "tns1:Device/Reader/Online"
QUEUE_LIMIT = 1000  # notifications waiting to be sent; past that they are dropped and counted
SENDERS = 4  # children at once
# each try waits TRY_SECONDS for an inform's answer, RETRIES times more after the first
TRY_SECONDS, RETRIES = 1, 2
SEND_TIMEOUT = 30.0  # the child's tries end well before
VARBIND_TYPES = {"integer": "i", "string": "s", "gauge": "u"}
# a notification's key in the row: the door's id, the reader's and the alarm's
ROW_KEYS = {"doors": ("index", "door"), "readers": ("id", "reader"), "alarms": ("alarm", "alarm")}

DOOR_ALARMS = (("forced_open", mib.DOOR_FORCED_OPEN), ("open_too_long", mib.DOOR_OPEN_TOO_LONG))
# a trap receiver with its credentials: engine.notification_targets' plain data
Target = dict


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


def command(target: Target, notification: mib.Notification, bindings: list) -> list[str]:
    """snmptrap's (snmpinform's) arguments for one target; the secrets are in its snmp.conf.
    A v3 trap goes with the unit's engine ID; an inform finds the receiver's."""
    program = "snmpinform" if target["inform"] else "snmptrap"
    args = [program, "-m", "", "-On", "-t", str(TRY_SECONDS), "-r", str(RETRIES)]
    if target["version"] == "3" and not target["inform"] and target.get("engine_id"):
        args += ["-e", target["engine_id"]]
    args += [target["address"], "", f".{notification.oid}"]
    for oid, kind, value in bindings:
        args += [f".{oid}", VARBIND_TYPES[kind], str(value)]
    return args


def snmp_conf(target: Target) -> str:
    """The child's snmp.conf: the version and community, or the v3 user and its keys."""
    lines = [f"defVersion {target['version']}"]
    if target["version"] == "3":
        lines += [
            f"defSecurityName {target['user']}",
            "defSecurityLevel authPriv",
            f"defAuthType {target['authentication']}",
            f"defAuthPassphrase {target['auth_key']}",
            f"defPrivType {target['privacy']}",
            f"defPrivPassphrase {target['privacy_key']}",
        ]
    else:
        lines.append(f"defCommunity {target['community']}")
    return "\n".join(lines) + "\n"


class SnmpTraps:
    """Sends DOORCTL-MIB notifications to the receivers `receivers()` gives."""

    def __init__(self, bus: EventBus, objects: SnmpObjects, work_dir: Path):
        self.bus = bus
        self.objects = objects
        self.work_dir = work_dir
        self.receivers: Callable[[], list[Target]] = list
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
            receivers = self.receivers()
            if not receivers:
                continue
            try:
                bindings = self._bindings(notification, event)
            except Exception:  # a bug must not end the notifications for good
                log.exception("SNMP: %s not made", notification.name)
                continue
            if bindings is None:
                continue
            for target in receivers:
                self._pool.spawn(self._send, target, notification, bindings)

    def _bindings(self, notification: mib.Notification, event: Event) -> list | None:
        """The notification's objects: the row from the snapshot, with the event's news."""
        key, source_key = ROW_KEYS[notification.table.rows]
        wanted = event.key.get(source_key, event.source.get(source_key))
        row = self.objects.row(notification.table, **{key: wanted})
        if row is None:
            log.warning("SNMP: no %s %r to notify %s about", source_key, wanted, notification.name)
            return None
        return varbinds(notification, {**row, **event_row(notification, event)})

    def _send(self, target: Target, notification: mib.Notification, bindings: list) -> None:
        """One child for one receiver; a failure is counted and logged, never raised."""
        threadpool = gevent.get_hub().threadpool  # files on the SD card: off the hub
        conf_dir = threadpool.apply(self._conf_dir, (target,))
        try:
            # engineBoots of v3 traps persist, so receivers see them grow
            persistent = self.work_dir / "persistent"
            env = {"SNMPCONFPATH": str(conf_dir), "SNMP_PERSISTENT_DIR": str(persistent)}
            done = subprocess.run(
                command(target, notification, bindings),
                env={**env, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
                capture_output=True,
                text=True,
                timeout=SEND_TIMEOUT,
            )
            failed, why = done.returncode != 0, done.stderr.strip()
        except (OSError, subprocess.TimeoutExpired) as error:
            failed, why = True, str(error)
        finally:
            threadpool.apply(shutil.rmtree, (conf_dir, True))
        self.counts["failed" if failed else "sent"] += 1
        if failed:
            log.warning("SNMP: %s to %s failed: %s", notification.name, target["address"], why)

    def _conf_dir(self, target: Target) -> Path:
        """A folder of its own (0700) with the child's snmp.conf (0600)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        conf_dir = Path(tempfile.mkdtemp(prefix="trap-", dir=self.work_dir))
        conf = conf_dir / "snmp.conf"
        conf.touch(mode=0o600)
        conf.write_text(snmp_conf(target))
        return conf_dir


def attach(appliance, objects: SnmpObjects) -> SnmpTraps:
    """The appliance's notifications, sent to the receivers of the SNMP settings."""
    traps = SnmpTraps(appliance.bus, objects, appliance.data_dir / "snmp" / "traps")
    traps.receivers = appliance.snmp.targets
    return traps
