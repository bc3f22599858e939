"""doorctl's objects over SNMP: the snmpd doorctl runs (SNMP turned on through the REST
API) serves them through the pass_persist child, and snmpwalk reads the doors, readers,
I/O ports and tamper alarms of a running doorctl on the simulated board, following the
door as the simulator opens it."""

from __future__ import annotations

from dataclasses import dataclass

import gevent
import pytest
from gevent import subprocess
from support_snmp_doors import snmp_on, walk

from doorctl.core.accessories.io_ports import PORT_NAMES
from doorctl.core.system.snmp import mib

pytestmark = pytest.mark.peer


@dataclass
class Agent:
    port: int


@pytest.fixture
def agent(doorctl, admin_api):
    """doorctl's snmpd, v2c with the community "public"."""
    port = snmp_on(admin_api, doorctl)
    doorctl.snmp_objects.current()
    return Agent(port)


def cells(port: int) -> dict[str, str]:
    """The walk of doorctl's objects as {OID: value}."""
    found = {}
    for line in walk(port):
        oid, _, value = line.partition(" = ")
        found[oid] = value
    return found


def cell(found: dict, table: mib.Table, column: str, index: int) -> str:
    return found[f".{mib.instance(table, table.column(column), index)}"]


def test_a_walk_shows_the_door_and_follows_it_as_it_is_forced_open(doorctl, agent):
    door = doorctl.doors[1].status()
    found = cells(agent.port)
    assert cell(found, mib.DOORS, "doorctlDoorName", 1) == f'STRING: "{door["name"]}"'
    assert cell(found, mib.DOORS, "doorctlDoorMode", 1) == "INTEGER: 1"  # locked
    assert cell(found, mib.DOORS, "doorctlDoorPosition", 1) == "INTEGER: 1"  # closed
    assert cell(found, mib.DOORS, "doorctlDoorForcedOpen", 1) == "INTEGER: 2"  # false

    doorctl.simulator.set_door("open")
    doorctl.snmp_objects.current()
    found = cells(agent.port)
    assert cell(found, mib.DOORS, "doorctlDoorPosition", 1) == "INTEGER: 2"  # open
    assert cell(found, mib.DOORS, "doorctlDoorForcedOpen", 1) == "INTEGER: 1"  # true
    assert cell(found, mib.PORTS, "doorctlIoPortActive", 1) == "INTEGER: 1"  # door monitor

    doorctl.doors[1].command("unlock")
    doorctl.snmp_objects.current()
    assert cell(cells(agent.port), mib.DOORS, "doorctlDoorMode", 1) == "INTEGER: 2"  # unlocked


def test_every_port_alarm_and_reader_is_a_row(doorctl, agent):
    found = cells(agent.port)
    ids = [cell(found, mib.PORTS, "doorctlIoPortId", i + 1) for i in range(len(PORT_NAMES))]
    assert ids == [f'STRING: "{name}"' for name in PORT_NAMES]
    alarms = doorctl.alarms.status()["alarms"]
    names = [cell(found, mib.ALARMS, "doorctlTamperAlarmName", i + 1) for i in range(len(alarms))]
    assert names == [f'STRING: "{alarm["label"]}"' for alarm in alarms]
    readers = doorctl.readers.list()
    got = [cell(found, mib.READERS, "doorctlReaderId", i + 1) for i in range(len(readers))]
    assert got == [f'STRING: "{reader["id"]}"' for reader in readers]
    wiegand = [r["id"] for r in readers].index("wiegand") + 1
    assert cell(found, mib.READERS, "doorctlReaderAddress", wiegand) == "INTEGER: -1"
    assert cell(found, mib.READERS, "doorctlReaderOnline", wiegand) == "INTEGER: 3"  # none


def test_a_renamed_port_shows_its_new_name(doorctl, agent):
    doorctl.settings.update("io_ports", {"aux3_name": "Gate sensor"})
    doorctl.snmp_objects.current()
    place = PORT_NAMES.index("aux3") + 1
    assert cell(cells(agent.port), mib.PORTS, "doorctlIoPortName", place) == 'STRING: "Gate sensor"'


def test_a_walk_during_a_10_ms_ticker_leaves_the_hub_alone(doorctl, agent):
    """The walk is answered by snmpd and its child from the snapshot file: the hub makes
    no snapshot meanwhile and its ticker keeps ticking (tests/bench/bench_snmp.py
    measures the ticker's lateness)."""
    doorctl.snmp_objects.current()
    writes = doorctl.snmp_objects.writes
    reads = []
    parts = doorctl.snmp_objects.parts
    doorctl.snmp_objects.parts = {k: (lambda f=f: reads.append(1) or f()) for k, f in parts.items()}
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in iter(int, 1)])
    argv = ["snmpwalk", "-v2c", "-c", "public", "-m", "", "-On", f"127.0.0.1:{agent.port}"]
    for _ in range(10):  # each walk some 30 ms of snmpd and its child
        subprocess.run([*argv, f".{mib.OBJECTS}"], check=True, capture_output=True, timeout=60)
    ticker.kill()
    assert ticks  # the hub turned while snmpd answered (its lateness is the bench's)
    assert reads == [] and doorctl.snmp_objects.writes == writes


def test_every_served_oid_is_named_by_the_mib(agent):
    """snmpwalk with DOORCTL-MIB loaded names every OID the agent serves, and every
    column of the MIB is served."""
    lines = walk(agent.port, mibs=True)
    served = {line.split(" = ")[0].split("::")[-1].split(".")[0] for line in lines}
    assert all(line.startswith("DOORCTL-MIB::") for line in lines), lines
    assert served == {column.name for table in mib.TABLES for column in table.columns}


def test_no_snapshot_is_written_while_snmp_is_off(doorctl, admin_api):
    doorctl.simulator.set_door("open")
    doorctl.snmp_objects.current()
    assert not doorctl.snmp_objects.path.exists()  # the SD card is spared
    port = snmp_on(admin_api, doorctl)
    doorctl.snmp_objects.current()
    assert cell(cells(port), mib.DOORS, "doorctlDoorPosition", 1) == "INTEGER: 2"  # open
