"""DOORCTL-MIB: libsmi's strictest check passes, net-snmp reads it with the OIDs mib.py
serves and sends, the pass_persist child speaks net-snmp's protocol, and the page and
the REST API hand the module out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support_snmp_doors import mib_path

from doorctl.core.system.snmp import mib

pytestmark = pytest.mark.peer

# smilint's levels run 1 (errors) to 6 (every warning and note); 9 asks for all of them.
SMILINT_LEVEL = "9"


def test_smilint_at_its_strictest_finds_nothing():
    from support import require

    smilint = require("smilint", "libsmi's MIB checker (Debian package smitools)")
    env = {**os.environ, "SMIPATH": mib_path()}
    argv = [smilint, "-l", SMILINT_LEVEL, "-s", str(mib.MIB_FILE)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert (done.stdout + done.stderr).strip() == ""  # smilint exits 0 even on errors


def names() -> dict[str, str]:
    """Every name mib.py knows, with its OID."""
    found = {"doorctlMIB": mib.MODULE, "doorctlObjects": mib.OBJECTS}
    found |= {"doorctlProducts": mib.PRODUCTS, "doorctlController": mib.PRODUCT_OID}
    for table in mib.TABLES:
        found[table.name] = table.entry.rsplit(".", 1)[0]
        for column in table.columns:
            found[column.name] = f"{table.entry}.{column.number}"
    for notification in mib.NOTIFICATION_TYPES:
        found[notification.name] = notification.oid
    return found


def test_net_snmp_finds_each_name_at_the_oid_doorctl_uses():
    from support import require

    snmptranslate = require("snmptranslate", "net-snmp's snmptranslate (Debian package snmp)")
    wanted = names()
    argv = [snmptranslate, "-m", "DOORCTL-MIB", "-M", mib_path(), "-On"]
    argv += [f"DOORCTL-MIB::{name}" for name in wanted]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == [f".{oid}" for oid in wanted.values()], done.stderr


def test_every_notification_carries_objects_of_its_table():
    for notification in mib.NOTIFICATION_TYPES:
        for name in notification.objects:
            assert notification.table.column(name)


def child(snapshot: dict, tmp_path) -> subprocess.Popen:
    path = tmp_path / "objects.json"
    path.write_text(json.dumps(snapshot))
    argv = [sys.executable, "-m", "doorctl.core.system.snmp.pass_persist", str(path)]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def ask(process: subprocess.Popen, *lines: str, answer_lines: int = 1) -> list[str]:
    process.stdin.write("".join(f"{line}\n" for line in lines))
    process.stdin.flush()
    return [process.stdout.readline().rstrip("\n") for _ in range(answer_lines)]


def test_the_pass_persist_child_speaks_net_snmps_protocol(tmp_path):
    door = {"index": 1, "name": "Front\ndoor", "mode": "locked_down", "alarms": ["forced_open"]}
    process = child({"doors": [door]}, tmp_path)
    name = f".{mib.instance(mib.DOORS, mib.DOORS.column('doorctlDoorName'), 1)}"
    mode = f".{mib.instance(mib.DOORS, mib.DOORS.column('doorctlDoorMode'), 1)}"
    try:
        assert ask(process, "PING") == ["PONG"]
        assert ask(process, "get", name, answer_lines=3) == [name, "string", "Front door"]
        assert ask(process, "getnext", name, answer_lines=3) == [mode, "integer", "5"]
        assert ask(process, "getnext", f".{mib.OBJECTS}", answer_lines=3)[0] == name
        assert ask(process, "get", f"{name}0") == ["NONE"]
        assert ask(process, "getnext", f".{mib.OBJECTS}.9") == ["NONE"]
        assert ask(process, "set", mode, "integer 1") == ["not-writable"]
        assert ask(process, "get", "not an oid") == ["NONE"]
    finally:
        process.stdin.close()
        assert process.wait(10) == 0
        process.stdout.close()


def test_the_child_reads_a_replaced_snapshot(tmp_path):
    process = child({"doors": [{"index": 1, "name": "A"}]}, tmp_path)
    name = f".{mib.instance(mib.DOORS, mib.DOORS.column('doorctlDoorName'), 1)}"
    try:
        assert ask(process, "get", name, answer_lines=3)[2] == "A"
        replacement = tmp_path / "new.json"
        replacement.write_text(json.dumps({"doors": [{"index": 1, "name": "B"}]}))
        replacement.replace(tmp_path / "objects.json")
        assert ask(process, "get", name, answer_lines=3)[2] == "B"
        (tmp_path / "objects.json").unlink()
        assert ask(process, "get", name) == ["NONE"]
    finally:
        process.stdin.close()
        process.wait(10)
        process.stdout.close()


def downloaded(answer) -> bool:
    disposition = answer.headers.get("Content-Disposition", "")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert disposition == "attachment; filename=DOORCTL-MIB.txt"
    return answer.data == mib.MIB_FILE.read_bytes()


def test_the_mib_downloads_from_the_page_and_the_api(logged_in, viewer_api):
    assert 'href="/system/snmp/DOORCTL-MIB.txt"' in logged_in.get("/snmp").get_data(as_text=True)
    assert downloaded(logged_in.get("/system/snmp/DOORCTL-MIB.txt"))
    assert downloaded(viewer_api.get("/api/v1/snmp/mib"))


def test_a_stranger_gets_no_mib(client, root):
    assert client.get("/system/snmp/DOORCTL-MIB.txt").status_code == 303  # to the login page
    assert client.get("/api/v1/snmp/mib").status_code == 401
