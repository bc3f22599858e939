"""DOORCTL-MIB in Python: every OID doorctl serves or sends, and how a row's value maps to it.

The MIB module itself is DOORCTL-MIB.txt beside this file; tests/system/test_snmp_mib.py
checks that the two agree (each name here translates to its OID there). doorctl has no
IANA Private Enterprise Number yet: ENTERPRISE_ARC is net-snmp's "playpen" arc for
experiments (NET-SNMP-MIB::netSnmpPlaypen); once a number is registered, it changes here
and in the MIB's MODULE-IDENTITY, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIB_FILE = Path(__file__).with_name("DOORCTL-MIB.txt")
MODULE_NAME = "DOORCTL-MIB"

# Placeholder until doorctl has a Private Enterprise Number: NET-SNMP-MIB::netSnmpPlaypen.
ENTERPRISE_ARC = "1.3.6.1.4.1.8072.9999.9999"
MODULE = f"{ENTERPRISE_ARC}.3667"  # doorctlMIB
NOTIFICATIONS = f"{MODULE}.0"
OBJECTS = f"{MODULE}.1"
PRODUCTS = f"{MODULE}.3"  # doorctlProducts
PRODUCT_OID = f"{PRODUCTS}.1"  # doorctlController: the unit's sysObjectID

TRUTH = {True: 1, False: 2}  # SNMPv2-TC TruthValue
DOOR_MODES = {
    "locked": 1,
    "unlocked": 2,
    "accessed": 3,
    "blocked": 4,
    "locked_down": 5,
    "locked_open": 6,
}
LOCK = {"locked": 1, "unlocked": 2}
POSITION = {"closed": 1, "open": 2}
PROTOCOLS = {"osdp": 1, "wiegand": 2}
DIRECTIONS = {"entry": 1, "exit": 2}
ONLINE = {True: 1, False: 2, None: 3}  # online, offline, notMonitored (Wiegand)
SECURE_CHANNEL = {"off": 1, "down": 2, "up": 3, "unsupported": 4, None: 5}
READER_TAMPER = {None: 1, False: 2, True: 3}  # unknown, normal, tampered
PORT_DIRECTIONS = {"input": 1, "output": 2}
CIRCUITS = {"open": 1, "closed": 2}
SUPERVISION = {None: 1, "closed": 2, "open": 3, "cut": 4, "short": 5}


@dataclass(frozen=True)
class Column:
    """One column of a table: its name in the MIB, sub-identifier, SNMP type and value."""

    name: str
    number: int
    kind: str  # pass_persist's type word: "integer", "string", "gauge"
    value: Callable[[dict], object]
    keys: tuple[str, ...]  # what the value reads from the row (the snapshot keeps only these)


@dataclass(frozen=True)
class Table:
    """A conceptual table: its entry's OID, the snapshot's list it shows, its columns."""

    name: str
    entry: str
    rows: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        """The column called `name` in the MIB."""
        return next(c for c in self.columns if c.name == name)

    def keys(self) -> set[str]:
        """Every key of a row that some column reads."""
        return {key for column in self.columns for key in column.keys}


def _key(key: str, mapping: dict | None = None, kind: str = "integer", default=None):
    """A column value read from one key of the row, through `mapping` when given."""

    def value(row: dict):
        found = row.get(key, default)
        return mapping.get(found, mapping.get(default)) if mapping is not None else found

    return kind, value, (key,)


def _flag(key: str, member: str):
    """TruthValue: whether `member` is in the row's list under `key` (a door's alarms)."""
    return "integer", (lambda row: TRUTH[member in row.get(key, ())]), (key,)


def _bus_address():
    """An OSDP reader's address on its bus; -1 for Wiegand, which has none."""

    def value(row: dict) -> int:
        return row.get("address", -1) if row.get("protocol") == "osdp" else -1

    return "integer", value, ("address", "protocol")


def _col(name: str, number: int, spec: tuple) -> Column:
    kind, value, keys = spec
    return Column(name, number, kind, value, keys)


DOORS = Table(
    "doorctlDoorTable",
    f"{OBJECTS}.1.1",
    "doors",
    (
        _col("doorctlDoorName", 2, _key("name", kind="string", default="")),
        _col("doorctlDoorMode", 3, _key("mode", DOOR_MODES)),
        _col("doorctlDoorLock", 4, _key("lock", LOCK)),
        _col("doorctlDoorPosition", 5, _key("door_position", POSITION)),
        _col("doorctlDoorForcedOpen", 6, _flag("alarms", "forced_open")),
        _col("doorctlDoorOpenTooLong", 7, _flag("alarms", "open_too_long")),
        _col("doorctlDoorPreAlarm", 8, _flag("alarms", "open_too_long_pre_alarm")),
        _col("doorctlDoorTampered", 9, _flag("alarms", "door_monitor_tampered")),
    ),
)
READERS = Table(
    "doorctlReaderTable",
    f"{OBJECTS}.2.1",
    "readers",
    (
        _col("doorctlReaderId", 2, _key("id", kind="string", default="")),
        _col("doorctlReaderProtocol", 3, _key("protocol", PROTOCOLS)),
        _col("doorctlReaderPort", 4, _key("port", kind="string", default="")),
        _col("doorctlReaderAddress", 5, _bus_address()),
        _col("doorctlReaderDoor", 6, _key("door_id", kind="gauge", default=0)),
        _col("doorctlReaderDirection", 7, _key("direction", DIRECTIONS)),
        _col("doorctlReaderEnabled", 8, _key("enabled", TRUTH)),
        _col("doorctlReaderOnline", 9, _key("online", ONLINE)),
        _col("doorctlReaderSecureChannel", 10, _key("sc", SECURE_CHANNEL)),
        _col("doorctlReaderTamper", 11, _key("tamper", READER_TAMPER)),
    ),
)
PORTS = Table(
    "doorctlIoPortTable",
    f"{OBJECTS}.3.1",
    "ports",
    (
        _col("doorctlIoPortId", 2, _key("port", kind="string", default="")),
        _col("doorctlIoPortName", 3, _key("name", kind="string", default="")),
        _col("doorctlIoPortDirection", 4, _key("direction", PORT_DIRECTIONS)),
        _col("doorctlIoPortNormalState", 5, _key("normal_state", CIRCUITS)),
        _col("doorctlIoPortCircuit", 6, _key("circuit", CIRCUITS)),
        _col("doorctlIoPortActive", 7, _key("active", TRUTH)),
        _col("doorctlIoPortSupervision", 8, _key("supervised_state", SUPERVISION)),
    ),
)
ALARMS = Table(
    "doorctlTamperAlarmTable",
    f"{OBJECTS}.4.1",
    "alarms",
    (
        _col("doorctlTamperAlarmId", 2, _key("alarm", kind="string", default="")),
        _col("doorctlTamperAlarmName", 3, _key("label", kind="string", default="")),
        _col("doorctlTamperAlarmEnabled", 4, _key("enabled", TRUTH)),
        _col("doorctlTamperAlarmTriggered", 5, _key("triggered", TRUTH)),
    ),
)
TABLES = (DOORS, READERS, PORTS, ALARMS)


@dataclass(frozen=True)
class Notification:
    """A NOTIFICATION-TYPE: its OID, the table its objects come from and which columns."""

    name: str
    number: int
    table: Table
    objects: tuple[str, ...]

    @property
    def oid(self) -> str:
        return f"{NOTIFICATIONS}.{self.number}"


_DOOR_STATE = ("doorctlDoorName", "doorctlDoorMode", "doorctlDoorLock", "doorctlDoorPosition")
_READER = ("doorctlReaderId", "doorctlReaderPort", "doorctlReaderAddress", "doorctlReaderOnline")
DOOR_FORCED_OPEN = Notification(
    "doorctlDoorForcedOpenAlarm", 1, DOORS, (*_DOOR_STATE, "doorctlDoorForcedOpen")
)
DOOR_OPEN_TOO_LONG = Notification(
    "doorctlDoorOpenTooLongAlarm", 2, DOORS, (*_DOOR_STATE, "doorctlDoorOpenTooLong")
)
DOOR_TAMPER = Notification(
    "doorctlDoorTamperAlarm", 3, DOORS, ("doorctlDoorName", "doorctlDoorTampered")
)
TAMPER = Notification(
    "doorctlTamperAlarm", 4, ALARMS, ("doorctlTamperAlarmName", "doorctlTamperAlarmTriggered")
)
READER_OFFLINE = Notification("doorctlReaderWentOffline", 5, READERS, _READER)
READER_ONLINE = Notification("doorctlReaderCameOnline", 6, READERS, _READER)
NOTIFICATION_TYPES = (
    DOOR_FORCED_OPEN,
    DOOR_OPEN_TOO_LONG,
    DOOR_TAMPER,
    TAMPER,
    READER_OFFLINE,
    READER_ONLINE,
)


def instance(table: Table, column: Column, index: int) -> str:
    """The OID of one cell: entry, column, row index."""
    return f"{table.entry}.{column.number}.{index}"


def varbinds(snapshot: dict) -> list[tuple[tuple[int, ...], str, object]]:
    """Every object the snapshot gives, as (OID, type, value), in OID order."""
    found = []
    for table in TABLES:
        entry = tuple(int(part) for part in table.entry.split("."))
        for row in snapshot.get(table.rows, ()):
            for column in table.columns:
                oid = (*entry, column.number, int(row["index"]))
                found.append((oid, column.kind, column.value(row)))
    found.sort(key=lambda binding: binding[0])
    return found
