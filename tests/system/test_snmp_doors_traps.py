"""doorctl's notifications reach net-snmp's snmptrapd, a receiver of the SNMP settings,
through doorctl's snmpd, with the door's (reader's, alarm's) objects: a door forced open
and held open too long, a door monitor cut, a casing opened, an OSDP reader going
offline and coming back; v3 traps and informs; a receiver that is down costs nothing."""

from __future__ import annotations

import pytest
from snmp_peers import free_udp_port
from support_osdp import wait_until
from support_snmp_doors import snmp_on, start_snmptrapd

from doorctl.core.system.snmp import mib

pytestmark = pytest.mark.peer

FAST = {"open_too_long_time": 0.3, "pre_alarm_time": 0.0, "access_time": 0.2}


@pytest.fixture
def trapd(tmp_path):
    receiver = start_snmptrapd(tmp_path / "trapd")
    yield receiver
    receiver.stop()


@pytest.fixture
def receiving(doorctl, admin_api, trapd):
    """The snmptrapd is the trap receiver of the SNMP settings (v2c)."""
    receivers = [f"127.0.0.1:{trapd.port}"]
    snmp_on(admin_api, doorctl, trap_community="public", trap_receivers=receivers)
    return trapd


def notifications(trapd) -> list[str]:
    """Each notification snmptrapd logged, as one line of its varbinds."""
    text = trapd.output()
    return [part for part in text.split("\n") if "= OID: ." in part]


def received(trapd, notification: mib.Notification, count: int = 1) -> list[str]:
    """Wait for `count` notifications of this type; their lines."""
    marker = f"= OID: .{notification.oid}"

    def found():
        lines = [line for line in notifications(trapd) if marker in line]
        return lines if len(lines) >= count else None

    return wait_until(found, 15, f"{notification.name} at snmptrapd")


def varbind(notification: mib.Notification, column: str, index: int, value: str) -> str:
    table = notification.table
    return f".{mib.instance(table, table.column(column), index)} = {value}"


def test_a_forced_open_door_reaches_snmptrapd_with_the_doors_objects(doorctl, receiving):
    name = doorctl.doors[1].status()["name"]
    doorctl.simulator.set_door("open")
    (line,) = received(receiving, mib.DOOR_FORCED_OPEN)
    notification = mib.DOOR_FORCED_OPEN
    assert varbind(notification, "doorctlDoorName", 1, f'STRING: "{name}"') in line
    assert varbind(notification, "doorctlDoorForcedOpen", 1, "INTEGER: 1") in line
    assert varbind(notification, "doorctlDoorPosition", 1, "INTEGER: 2") in line
    assert varbind(notification, "doorctlDoorLock", 1, "INTEGER: 1") in line
    doorctl.simulator.set_door("closed")
    doorctl.simulator.set_door("open")
    assert len(received(receiving, mib.DOOR_FORCED_OPEN, 2)) == 2  # once per opening


def test_a_door_held_open_too_long(doorctl, receiving):
    doorctl.settings.update("door", FAST)
    doorctl.doors[1].command("access")
    doorctl.simulator.set_door("open")
    (line,) = received(receiving, mib.DOOR_OPEN_TOO_LONG)
    assert varbind(mib.DOOR_OPEN_TOO_LONG, "doorctlDoorOpenTooLong", 1, "INTEGER: 1") in line
    assert f".{mib.DOOR_FORCED_OPEN.oid}" not in receiving.output()


def test_casing_open_is_a_tamper_notification(doorctl, receiving):
    alarms = [a["alarm"] for a in doorctl.alarms.status()["alarms"]]
    doorctl.simulator.set_input("casing_open", True)
    (line,) = received(receiving, mib.TAMPER)
    place = alarms.index("casing_open") + 1
    assert varbind(mib.TAMPER, "doorctlTamperAlarmName", place, 'STRING: "Casing open"') in line
    assert varbind(mib.TAMPER, "doorctlTamperAlarmTriggered", place, "INTEGER: 1") in line


def test_a_cut_door_monitor_is_a_door_tamper_notification(doorctl, receiving):
    doorctl.settings.update("io_ports", {"door_monitor_supervised": True})
    doorctl.simulator.set_resistance("door_monitor", "cut")
    (line,) = received(receiving, mib.DOOR_TAMPER)
    assert varbind(mib.DOOR_TAMPER, "doorctlDoorTampered", 1, "INTEGER: 1") in line


def test_a_receiver_that_is_down_costs_the_others_and_doorctl_nothing(doorctl, admin_api, trapd):
    """doorctl hands the notification to snmpd once; snmpd sends it to each receiver."""
    receivers = [f"127.0.0.1:{free_udp_port()}", f"127.0.0.1:{trapd.port}"]  # the first is down
    snmp_on(admin_api, doorctl, trap_community="public", trap_receivers=receivers)
    doorctl.simulator.set_door("open")
    received(trapd, mib.DOOR_FORCED_OPEN)
    assert doorctl.snmp_traps.status() == {"sent": 1, "failed": 0, "dropped": 0}


def test_a_notification_snmpd_can_not_take_is_counted_and_logged(doorctl, admin_api, caplog):
    receivers = [f"127.0.0.1:{free_udp_port()}"]
    snmp_on(admin_api, doorctl, trap_community="public", trap_receivers=receivers)
    doorctl.snmp_traps.socket = doorctl.snmp_traps.socket.with_name("elsewhere.sock")
    doorctl.simulator.set_door("open")
    wait_until(lambda: doorctl.snmp_traps.status()["failed"] == 1, 15, "the failure")
    assert "doorctlDoorForcedOpenAlarm not handed to snmpd" in caplog.text


@pytest.mark.parametrize("notification", ["inform", "trap"])
def test_v3_with_authentication_and_privacy(doorctl, admin_api, tmp_path, notification):
    user = ("doorctl-nms", "SHA-256", "auth pass phrase", "AES", "priv pass phrase")
    engine = f"-e {doorctl.snmp.engine_id} " if notification == "trap" else ""
    create = f'createUser {engine}{user[0]} {user[1]} "{user[2]}" {user[3]} "{user[4]}"'
    trapd = start_snmptrapd(tmp_path / "v3", extra=(create, f"authUser log {user[0]} priv"))
    try:
        body = {"name": user[0], "authentication": user[1], "auth_key": user[2]}
        body |= {"privacy_key": user[4], "read": False, "notify": True}
        assert admin_api.post("/api/v1/snmp/users", json=body).status_code == 201
        settings = {"v3_notification": notification}
        receivers = [f"127.0.0.1:{trapd.port}"]
        snmp_on(admin_api, doorctl, version="v3", trap_receivers=receivers, **settings)
        doorctl.simulator.set_door("open")
        (line,) = received(trapd, mib.DOOR_FORCED_OPEN)
        assert varbind(mib.DOOR_FORCED_OPEN, "doorctlDoorForcedOpen", 1, "INTEGER: 1") in line
        wait_until(lambda: doorctl.snmp_traps.status()["sent"] == 1, 15, "snmptrap's end")
    finally:
        trapd.stop()


@pytest.mark.engine_in_process  # offline_after is set on the readers service itself
def test_a_reader_going_offline_and_coming_back(doorctl, receiving, admin_api, line, spawn):
    doorctl.readers.offline_after = 0.5
    first = spawn({"address": 1, "secure": False})
    body = {"id": "front", "port": line.path, "baud": 115200, "address": 1}
    assert admin_api.post("/api/v1/readers", body).status_code == 201
    wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"], what="online")
    place = [r["id"] for r in doorctl.readers.list()].index("front") + 1
    first.kill()
    (offline,) = received(receiving, mib.READER_OFFLINE)
    assert varbind(mib.READER_OFFLINE, "doorctlReaderId", place, 'STRING: "front"') in offline
    assert varbind(mib.READER_OFFLINE, "doorctlReaderOnline", place, "INTEGER: 2") in offline
    assert varbind(mib.READER_OFFLINE, "doorctlReaderAddress", place, "INTEGER: 1") in offline
    # its first coming online was not a return
    assert f".{mib.READER_ONLINE.oid}" not in receiving.output()
    spawn({"address": 1, "secure": False})
    (back,) = received(receiving, mib.READER_ONLINE)
    assert varbind(mib.READER_ONLINE, "doorctlReaderOnline", place, "INTEGER: 1") in back
