"""SNMP (System > SNMP) against net-snmp's own tools: snmpd run by doorctl answers
snmpget and snmpwalk over v1, v2c and v3 with the settings of the page, refuses a wrong
community, user or key, sends its cold-start trap to snmptrapd, and runs only while
SNMP is on."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
from pathlib import Path

import gevent
import pytest
from snmp_peers import (
    COLD_START,
    SNMP_TRAP_OID,
    SYS_CONTACT,
    SYS_DESCR,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYSTEM,
    TrapReceiver,
    free_udp_port,
    snmp,
    v2c,
    v3,
    values,
)
from support import csrf_token, require, start_set_up

from doorctl import __version__
from doorctl.core.system.snmp.engine import SYS_OBJECT_ID as OUR_OBJECT_ID

V3_USER = {"name": "nms", "auth_key": "auth-pass-1", "privacy_key": "priv-pass-1"}


@pytest.fixture
def snmp_on_loopback(doorctl):
    """snmpd listens on loopback only, on a port nothing else uses."""
    require("snmpd", "net-snmp's agent (Debian snmpd)")
    doorctl.snmp.address = "127.0.0.1"
    return free_udp_port()


def post(client, **fields):
    form = {"csrf_token": csrf_token(client, "/snmp"), "version": "off", "port": "161"}
    return client.post("/snmp", data={**form, **fields})


def test_v1_and_v2c_read_the_system_group_set_on_the_page(logged_in, snmp_on_loopback, doorctl):
    port = snmp_on_loopback
    fields = {"version": "v1_v2c", "port": str(port), "read_community": "door-public"}
    fields |= {"sys_contact": "ops@example.com", "sys_name": "door-3", "sys_location": "Hall A"}
    assert post(logged_in, **fields).status_code == 303
    got = values(snmp("snmpwalk", port, v2c("door-public"), SYSTEM).stdout)
    assert got[SYS_DESCR].startswith(f"doorctl {__version__}")
    assert got[SYS_OBJECT_ID] == OUR_OBJECT_ID
    assert (got[SYS_CONTACT], got[SYS_NAME], got[SYS_LOCATION]) == (
        "ops@example.com",
        "door-3",
        "Hall A",
    )
    v1 = snmp("snmpget", port, ["-v", "1", "-c", "door-public"], SYS_NAME)
    assert values(v1.stdout) == {SYS_NAME: "door-3"}
    wrong = snmp("snmpget", port, v2c("public"), SYS_NAME)
    assert wrong.returncode != 0 and "Timeout" in wrong.stderr
    outside = snmp("snmpget", port, v2c("door-public"), ".1.3.6.1.2.1.2.1.0")  # ifNumber
    assert "No Such Object" in outside.stdout  # only the system group is in the view


@pytest.mark.parametrize("authentication", ["SHA", "SHA-256"])
def test_v3_needs_the_user_and_both_keys(admin_api, snmp_on_loopback, authentication):
    port = snmp_on_loopback
    user = {**V3_USER, "authentication": authentication}
    assert admin_api.post("/api/v1/snmp/users", json=user).status_code == 201
    settings = {"version": "v3", "port": port}
    assert admin_api.put("/api/v1/snmp", json=settings).status_code == 200

    def get(user: str, auth_key: str, privacy_key: str):
        return snmp("snmpget", port, v3(user, authentication, auth_key, privacy_key), SYS_DESCR)

    good = get("nms", "auth-pass-1", "priv-pass-1")
    assert values(good.stdout)[SYS_DESCR].startswith("doorctl")
    unknown = get("intruder", "auth-pass-1", "priv-pass-1")
    assert unknown.returncode != 0 and "Unknown user name" in unknown.stderr
    bad_auth = get("nms", "auth-pass-2", "priv-pass-1")
    assert bad_auth.returncode != 0 and "Authentication failure" in bad_auth.stderr
    bad_privacy = get("nms", "auth-pass-1", "priv-pass-2")
    assert bad_privacy.returncode != 0 and SYS_DESCR not in bad_privacy.stdout
    community = snmp("snmpget", port, v2c("public"), SYS_DESCR)
    assert community.returncode != 0 and "Timeout" in community.stderr


def test_off_means_nothing_listens(admin_api, snmp_on_loopback, doorctl):
    port = snmp_on_loopback
    on = {"version": "v1_v2c", "port": port, "read_community": "door-public"}
    assert admin_api.put("/api/v1/snmp", json=on).status_code == 200
    assert admin_api.get("/api/v1/snmp/status").json["state"] == "running"
    snmpd = doorctl.snmp.process
    assert admin_api.put("/api/v1/snmp", json={"version": "off"}).status_code == 200
    assert snmpd.poll() is not None and doorctl.snmp.process is None
    assert admin_api.get("/api/v1/snmp/status").json["state"] == "off"
    answer = snmp("snmpget", port, v2c("door-public"), SYS_DESCR)
    assert answer.returncode != 0 and "Timeout" in answer.stderr


def test_an_snmpd_that_ends_is_started_again(admin_api, snmp_on_loopback, doorctl):
    port = snmp_on_loopback
    on = {"version": "v1_v2c", "port": port, "read_community": "door-public"}
    admin_api.put("/api/v1/snmp", json=on)
    first = doorctl.snmp.process
    os.kill(first.pid, signal.SIGKILL)
    with gevent.Timeout(15):
        while doorctl.snmp.process is first or not doorctl.snmp.status()["running"]:
            gevent.sleep(0.05)
    assert values(snmp("snmpget", port, v2c("door-public"), SYS_NAME).stdout)[SYS_NAME]


def test_the_cold_start_trap_reaches_the_receivers(admin_api, snmp_on_loopback, tmp_path):
    receiver = TrapReceiver(tmp_path / "trapd", ["authCommunity log door-traps"])
    try:
        settings = {"version": "v1_v2c", "port": snmp_on_loopback, "read_community": "door-ro"}
        settings |= {"trap_community": "door-traps"}
        settings["trap_receivers"] = [f"127.0.0.1:{receiver.port}"]
        assert admin_api.put("/api/v1/snmp", json=settings).status_code == 200
        line = receiver.wait_for(SNMP_TRAP_OID)
        assert f"{SNMP_TRAP_OID} = OID: {COLD_START}" in line
    finally:
        receiver.stop()


@pytest.mark.parametrize("kind", ["trap", "inform"])
def test_v3_notifications_reach_a_receiver_that_knows_the_user(
    admin_api, snmp_on_loopback, tmp_path, doorctl, kind
):
    # a v3 trap comes from the unit's engine ID, shown on the page; an inform finds it
    engine = f"-e {doorctl.snmp.engine_id} " if kind == "trap" else ""
    user = f'createUser {engine}nms SHA-256 "auth-pass-1" AES "priv-pass-1"'
    receiver = TrapReceiver(tmp_path / "trapd", [user, "authUser log nms priv"])
    try:
        assert admin_api.post("/api/v1/snmp/users", json=V3_USER).status_code == 201
        settings = {"version": "v3", "port": snmp_on_loopback, "v3_notification": kind}
        settings |= {"trap_receivers": [f"127.0.0.1:{receiver.port}"]}
        assert admin_api.put("/api/v1/snmp", json=settings).status_code == 200
        assert f"{SNMP_TRAP_OID} = OID: {COLD_START}" in receiver.wait_for(SNMP_TRAP_OID)
    finally:
        receiver.stop()
    target = doorctl.snmp.targets()[0]
    assert target["inform"] == (kind == "inform")
    assert target["engine_id"] == doorctl.snmp.engine_id


def test_a_port_in_use_is_told_on_the_page(logged_in, snmp_on_loopback, doorctl):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        fields = {"version": "v1_v2c", "port": str(port), "read_community": "door-public"}
        assert post(logged_in, **fields).status_code == 303
        page = logged_in.get("/snmp").get_data(as_text=True)
    assert doorctl.snmp.status()["state"] == "failed"
    status = re.search(r'id="snmp-status"[^>]*>(.*?)</p>', page, re.S)[1]
    assert "Not running" in status and f"udp:127.0.0.1:{port}" in status


def test_without_snmpd_saving_still_works_and_says_why(admin_api, doorctl):
    doorctl.snmp.snmpd = "/nonexistent/snmpd"
    on = {"version": "v1_v2c", "port": free_udp_port(), "read_community": "door-public"}
    assert admin_api.put("/api/v1/snmp", json=on).status_code == 200
    status = admin_api.get("/api/v1/snmp/status").json
    assert status["state"] == "failed" and "install Debian's snmpd" in status["problem"]


def snmpd_children(parent: int) -> list[int]:
    """The pids of the snmpd processes whose parent is `parent`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if name.endswith("(snmpd") and int(fields.split()[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def ended(pid: int, seconds: float = 10) -> bool:
    """Whether the process `pid` (not our child) ends within `seconds` (a pidfd)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([handle], [], [], seconds)[0])
    finally:
        os.close(handle)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_snmpd_runs_under_doorctl_serve_and_ends_with_it(tmp_path, how):
    require("snmpd", "net-snmp's agent (Debian snmpd)")
    with start_set_up(tmp_path / "data") as server:
        port = free_udp_port()
        on = {"version": "v1_v2c", "port": port, "read_community": "door-public"}
        server.call("PUT", "/api/v1/snmp", on)
        got = values(snmp("snmpget", port, v2c("door-public"), SYS_DESCR).stdout)
        assert got[SYS_DESCR].startswith("doorctl")
        (snmpd,) = snmpd_children(server.process.pid)
        server.stop(how)
    assert ended(snmpd)


def test_a_failing_configuration_hook_leaves_the_system_group_answering(
    admin_api, snmp_on_loopback, doorctl
):
    doorctl.snmp.extra_config.append(lambda record: 1 / 0)
    on = {"version": "v1_v2c", "port": snmp_on_loopback, "read_community": "door-public"}
    assert admin_api.put("/api/v1/snmp", json=on).status_code == 200
    got = snmp("snmpget", snmp_on_loopback, v2c("door-public"), SYS_DESCR)
    assert values(got.stdout)[SYS_DESCR].startswith("doorctl")
