"""doorctl's objects for SNMP: a snapshot of the doors, readers, I/O ports and tamper alarms.

snmpd asks its pass_persist child (pass_persist.py) for each object; the child is a
process of its own, so it reads a small snapshot file that this service writes
whenever a door, reader, port or alarm event says their state changed. A walk costs
the hub nothing: the child only stats the file and reads it again when it was
replaced. A change costs the hub one call per changed part to the services that hold
the state (in the engine process when it runs apart), and a write of a few kilobytes
on the hub's threadpool (os.replace, so the child never reads half a file), made only
when the content differs. Changes that arrive while a snapshot is being made are taken
by the next. While SNMP is off nothing is read or written.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import gevent
import gevent.event

from doorctl.core.events import EventBus, Listeners

from . import mib
from .engine import VIEW
from .settings import OFF
from .settings import SECTION as SNMP

log = logging.getLogger(__name__)

# Which part of the snapshot each event topic changes (a saved setting: SECTIONS).
PARTS = {
    "doors": ("tns1:Door/State/",),
    "readers": (
        "tns1:Device/Reader/Online",
        "tns1:Device/Reader/SecureChannel",
        "tns1:Device/Reader/Tamper",
        "tns1:Device/Reader/PortError",
        "tns1:Configuration/Reader/",
    ),
    "ports": ("tns1:Device/Trigger/", "tns1:Device/IO/"),
    "alarms": ("tns1:Device/Tamper",),
}
ENGINE_TOPIC = "tns1:Device/DoorEngine"
# Settings sections whose change renames or re-wires a part. Their listeners run after
# the engine's (registered first), so the part is read once the engine applied them.
SECTIONS = {"door": "doors", "io_ports": "ports", "alarms": "alarms"}


def read_parts(appliance) -> dict[str, Callable[[], list[dict]]]:
    """How to read each part's rows from the services that hold the state."""
    return {
        "doors": lambda: [door.status() for door in appliance.doors.values()],
        "readers": lambda: appliance.readers.list(),
        "ports": lambda: appliance.io_ports.status()["ports"],
        "alarms": lambda: appliance.alarms.status()["alarms"],
    }


def rows(table: mib.Table, found: list[dict]) -> list[dict]:
    """The rows of `table` as the snapshot keeps them: only the keys its columns read,
    and each row's index (a door's id; the others by their place in the list)."""
    keys = table.keys()
    kept = []
    for place, row in enumerate(found, start=1):
        index = row["id"] if table is mib.DOORS else place
        kept.append({"index": index, **{k: row[k] for k in keys if k in row}})
    return kept


class SnmpObjects:
    """Keeps the objects' snapshot file current from the bus; `snapshot` is its content."""

    def __init__(self, bus: EventBus, parts: dict[str, Callable[[], list[dict]]], path: Path):
        self.bus = bus
        self.parts = parts
        self.path = path
        self.snapshot: dict[str, list[dict]] = {table.rows: [] for table in mib.TABLES}
        self.writes = 0
        # whether snmpd runs to read the file: while it does not, nothing is read or written
        self.active: Callable[[], bool] = lambda: True
        self._dirty: set[str] = set()
        self._wake = gevent.event.Event()
        self._fresh = gevent.event.Event()
        self._listeners = Listeners()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Make the first snapshot and follow the events that change it."""
        for part, prefixes in PARTS.items():
            self._listeners.add(self.bus.subscribe(lambda e, p=part: self.changed(p), *prefixes))
        self._listeners.add(self.bus.subscribe(lambda e: self.changed(*PARTS), ENGINE_TOPIC))
        self._greenlet = gevent.spawn(self._run)
        self.changed(*PARTS)

    def stop(self) -> None:
        """Stop following events (the file stays: snmpd stops with doorctl)."""
        self._listeners.clear()
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def settings_changed(self, section: str, record: dict | None = None) -> None:
        """A saved door, I/O or alarm setting may rename what a part shows."""
        self.changed(SECTIONS[section])

    def changed(self, *parts: str) -> None:
        """These parts changed: the writer greenlet makes a new snapshot soon."""
        self._dirty.update(parts)
        self._fresh.clear()
        self._wake.set()

    def current(self, timeout: float = 5.0) -> dict[str, list[dict]]:
        """The snapshot once the changes known now are in it (or the last one after
        `timeout`: a restarting engine can't be asked)."""
        self._fresh.wait(timeout)
        return self.snapshot

    def row(self, table: mib.Table, **match) -> dict | None:
        """The current row of `table` whose keys have these values."""
        for row in self.current()[table.rows]:
            if all(row.get(k) == v for k, v in match.items()):
                return row
        return None

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if not self.active():
                self._fresh.set()  # nobody reads it: the changes wait until SNMP is on
                continue
            parts, self._dirty = self._dirty, set()
            try:
                self._refresh(parts)
            except Exception:  # a bug must not end the snapshots for good
                log.exception("SNMP objects: the snapshot failed")
            if not self._dirty:
                self._fresh.set()

    def _refresh(self, parts: set[str]) -> None:
        """Read the changed parts and write the file if its content changed."""
        snapshot = dict(self.snapshot)
        tables = {table.rows: table for table in mib.TABLES}
        for part in sorted(parts):
            try:
                snapshot[part] = rows(tables[part], self.parts[part]())
            except Exception as error:  # the engine restarting: its event brings us back
                log.info("SNMP objects: %s not read (%s)", part, error)
        if snapshot != self.snapshot or self.writes == 0:
            self.snapshot = snapshot
            try:  # on a thread: the SD card's write (and rename) does not hold the hub
                gevent.get_hub().threadpool.apply(self._write, (snapshot,))
            except OSError as error:
                log.warning("SNMP objects: %s not written (%s)", self.path, error)

    def _write(self, snapshot: dict) -> None:
        """Replace the file whole, so that the reading child never sees half of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        unfinished = self.path.with_name(self.path.name + ".new")
        unfinished.write_bytes(json.dumps(snapshot, separators=(",", ":")).encode())
        os.replace(unfinished, self.path)
        self.writes += 1


def snmpd_lines(path: Path, agentx: Path, view: str | None = None) -> list[str]:
    """snmpd.conf lines that serve doorctl's objects from the snapshot at `path` through
    the pass_persist child, with this interpreter (doorctl's venv), and take doorctl's
    notifications on the AgentX socket `agentx` (traps.py); with `view`, the subtree
    joins that view (the managers' view of the SNMP settings)."""
    command = f"{sys.executable} -m doorctl.core.system.snmp.pass_persist {path}"
    lines = [f"pass_persist .{mib.OBJECTS} {command}"]
    lines += ["master agentx", f"agentXSocket unix:{agentx}", "agentXPerms 0600 0700"]
    return [*lines, f"view {view} included .{mib.MODULE}"] if view else lines


def agentx_socket(data_dir: Path) -> Path:
    """Where snmpd takes doorctl's notifications (AgentX, a Unix socket only we open)."""
    return data_dir / "snmp" / "agentx.sock"


def attach(appliance) -> SnmpObjects:
    """The appliance's objects, its snapshot in the data directory's snmp folder."""
    path = appliance.data_dir / "snmp" / "objects.json"
    objects = SnmpObjects(appliance.bus, read_parts(appliance), path)
    for section in SECTIONS:
        appliance.settings.on_change(section, partial(objects.settings_changed, section))
    agentx = agentx_socket(appliance.data_dir)
    appliance.snmp.extra_config.append(lambda record: snmpd_lines(path, agentx, VIEW))
    objects.active = lambda: appliance.snmp.record["version"] != OFF
    appliance.settings.on_change(SNMP, lambda record: objects.changed(*PARTS))
    return objects
