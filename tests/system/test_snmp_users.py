"""SNMP v3 users (System > SNMP) against net-snmp's own tools: each user reads with its
own keys, a removed user or a wrong key is refused, traps go as the chosen user; the
keys are sealed and never shown back (page, API, database, report); bad input is
refused field by field with nothing changed; an earlier version's one user moves into
the table; sysObjectID is DOORCTL-MIB's doorctlController."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from snmp_peers import (
    COLD_START,
    QUIET,
    SNMP_TRAP_OID,
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYSTEM,
    TrapReceiver,
    free_udp_port,
    snmp,
    v3,
    values,
)
from support import csrf_token, require
from support_snmp_doors import mib_path

from doorctl.core.store import DB_NAME
from doorctl.core.system.snmp import mib

USERS = "/api/v1/snmp/users"
ALICE = {"name": "alice", "authentication": "SHA", "auth_key": "alice-auth-1"}
ALICE |= {"privacy_key": "alice-priv-1"}
BOB = {"name": "bob", "authentication": "SHA-256", "auth_key": "bob-auth-22"}
BOB |= {"privacy_key": "bob-priv-22"}
KEYS = ("alice-auth-1", "alice-priv-1", "bob-auth-22", "bob-priv-22")


@pytest.fixture
def port(doorctl):
    """snmpd listens on loopback only, on a port nothing else uses."""
    require("snmpd", "net-snmp's agent (Debian snmpd)")
    doorctl.snmp.address = "127.0.0.1"
    return free_udp_port()


def add(api, user: dict) -> dict:
    answer = api.post(USERS, json=user)
    assert answer.status_code == 201, answer.json
    return answer.json


def read(port: int, user: dict, **other) -> subprocess.CompletedProcess:
    """snmpget sysDescr.0 as the user (its keys, or the `other` ones given)."""
    user = {**user, **other}
    options = v3(user["name"], user["authentication"], user["auth_key"], user["privacy_key"])
    return snmp("snmpget", port, options, SYS_DESCR)


def reads(port: int, user: dict, **other) -> bool:
    return values(read(port, user, **other).stdout).get(SYS_DESCR, "").startswith("doorctl")


def test_two_users_read_with_their_own_keys_and_a_removed_one_is_refused(admin_api, port):
    add(admin_api, ALICE)
    bob = add(admin_api, BOB)
    assert admin_api.put("/api/v1/snmp", json={"version": "v3", "port": port}).status_code == 200
    assert reads(port, ALICE) and reads(port, BOB)
    wrong = read(port, ALICE, auth_key=BOB["auth_key"])
    assert wrong.returncode != 0 and "Authentication failure" in wrong.stderr
    assert not reads(port, BOB, privacy_key=ALICE["privacy_key"])
    assert admin_api.delete(f"{USERS}/{bob['id']}").status_code == 204
    gone = read(port, BOB)
    assert gone.returncode != 0 and "Unknown user name" in gone.stderr
    assert reads(port, ALICE)
    # a user that may not read is refused the system group
    assert admin_api.patch(f"{USERS}/1", json={"read": False}).json["read"] is False
    assert not reads(port, ALICE)


@pytest.mark.parametrize("kind", ["trap", "inform"])
def test_traps_and_informs_go_as_the_chosen_user(admin_api, port, tmp_path, doorctl, kind):
    add(admin_api, ALICE)  # the first user sends the traps ...
    bob = add(admin_api, BOB)
    chosen = admin_api.patch(f"{USERS}/{bob['id']}", json={"notify": True}).json
    assert chosen["notify"] and not admin_api.get(f"{USERS}/1").json["notify"]  # ... till now
    engine = f"-e {doorctl.snmp.engine_id} " if kind == "trap" else ""
    known = f'createUser {engine}bob SHA-256 "bob-auth-22" AES "bob-priv-22"'
    receiver = TrapReceiver(tmp_path / "trapd", [known, "authUser log bob priv"])
    try:
        settings = {"version": "v3", "port": port, "v3_notification": kind}
        settings["trap_receivers"] = [f"127.0.0.1:{receiver.port}"]
        assert admin_api.put("/api/v1/snmp", json=settings).status_code == 200
        assert f"{SNMP_TRAP_OID} = OID: {COLD_START}" in receiver.wait_for(SNMP_TRAP_OID)
    finally:
        receiver.stop()
    assert doorctl.snmp.targets()[0]["user"] == "bob"
    # the sending user stays while traps are sent as it
    refused = admin_api.delete(f"{USERS}/{bob['id']}")
    assert refused.status_code == 409 and "Traps are sent as this user" in refused.json["error"]
    assert len(admin_api.get(USERS).json) == 2


def test_keys_are_sealed_and_never_shown_back(admin_api, logged_in, port, doorctl, data_dir):
    add(admin_api, ALICE)
    bob = add(admin_api, BOB)
    assert admin_api.put("/api/v1/snmp", json={"version": "v3", "port": port}).status_code == 200
    assert doorctl.snmp.status()["running"]
    shown = json.dumps([admin_api.get(USERS).json, admin_api.get(f"{USERS}/{bob['id']}").json])
    assert all(u["auth_key_set"] and u["privacy_key_set"] for u in admin_api.get(USERS).json)
    page = logged_in.get("/snmp").get_data(as_text=True)
    assert "Stored; leave empty to keep it." in page and ">bob</td>" in page
    report = admin_api.get("/api/v1/logs/report").get_data(as_text=True)
    database = b"".join(p.read_bytes() for p in data_dir.glob(f"{DB_NAME}*"))
    files = b"".join(p.read_bytes() for p in (data_dir / "snmp").rglob("*") if p.is_file())
    for key in KEYS:
        assert key not in shown and key not in page and key not in report
        assert key.encode() not in database and key.encode() not in files
    # an empty key on a change keeps the stored one
    changed = admin_api.patch(f"{USERS}/{bob['id']}", json={"auth_key": "", "privacy_key": ""})
    assert changed.status_code == 200 and reads(port, BOB)


def page_error(page: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error"[^>]*>(?:<svg.*?</svg>)?(.*?)</small>', page, re.S)
    return found[1].strip() if found else ""


BAD = [
    ({"auth_key": "short"}, "auth_key", "At least 8 characters"),
    ({"privacy_key": "1234567"}, "privacy_key", "At least 8 characters"),
    ({"name": "alice"}, "name", "There is an SNMP user named alice already."),
    ({"authentication": "MD5"}, "authentication", "Choose one of: SHA, SHA-256."),
    ({"name": "a b"}, "name", "A user name has no spaces"),
    ({"read": "yes"}, "read", "Must be true or false."),
]


@pytest.mark.parametrize(("changes", "name", "message"), BAD)
def test_bad_users_are_refused_by_the_api_and_change_nothing(
    admin_api, doorctl, changes, name, message
):
    add(admin_api, ALICE)
    before, process = admin_api.get(USERS).json, doorctl.snmp.process
    answer = admin_api.post(USERS, json={**BOB, **changes})
    assert answer.status_code == 400 and message in answer.json["fields"][name]
    if changes != {"name": "alice"}:  # alice's own name is no duplicate of hers
        changed = admin_api.patch(f"{USERS}/1", json=changes)
        assert changed.status_code == 400 and message in changed.json["fields"][name]
    assert admin_api.get(USERS).json == before and doorctl.snmp.process is process


@pytest.mark.parametrize(("changes", "name", "message"), BAD[:4])
def test_bad_users_on_the_page_show_at_their_field(
    logged_in, admin_api, doorctl, changes, name, message
):
    add(admin_api, ALICE)
    before = admin_api.get(USERS).json
    form = {"csrf_token": csrf_token(logged_in, "/snmp"), **BOB, "read": "on", **changes}
    answer = logged_in.post("/snmp/users", data=form)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in page_error(page, f"new-{name}")
    assert admin_api.get(USERS).json == before


def test_the_page_adds_changes_and_removes_users(logged_in, admin_api):
    token = csrf_token(logged_in, "/snmp")
    form = {"csrf_token": token, **ALICE, "read": "on"}
    assert logged_in.post("/snmp/users", data=form).status_code == 303
    (alice,) = admin_api.get(USERS).json
    assert alice["read"] and alice["notify"]  # the first user sends the traps
    change = {"csrf_token": token, "name": "alice", "authentication": "SHA-256", "auth_key": ""}
    assert logged_in.post(f"/snmp/users/{alice['id']}", data=change).status_code == 303
    changed = admin_api.get(f"{USERS}/{alice['id']}").json
    assert changed["authentication"] == "SHA-256" and not changed["read"]
    assert changed["auth_key_set"]  # the empty key kept the stored one
    removed = logged_in.post(f"/snmp/users/{alice['id']}/delete", data={"csrf_token": token})
    assert removed.status_code == 303 and admin_api.get(USERS).json == []
    events = logged_in.get("/logs/events").get_data(as_text=True)
    assert f"SNMP v3 user {alice['id']} added" in events
    assert f"SNMP v3 user {alice['id']} removed" in events


def test_an_earlier_versions_user_moves_into_the_table(admin_api, port, doorctl):
    sealer = doorctl.sealer
    old = {"version": "v3", "port": port, "v3_user": "nms", "v3_authentication": "SHA-256"}
    old["v3_auth_key"] = sealer.seal("old-auth-key", "snmp.v3_auth_key")
    old["v3_privacy_key"] = sealer.seal("old-priv-key", "snmp.v3_privacy_key")
    doorctl.store.execute(
        "INSERT INTO settings (section, data) VALUES ('snmp', ?) "
        "ON CONFLICT (section) DO UPDATE SET data = excluded.data",
        (json.dumps(old),),
    )
    doorctl._adopt_snmp_user()  # what doorctl does when it starts
    (user,) = admin_api.get(USERS).json
    assert (user["name"], user["authentication"], user["read"], user["notify"]) == (
        "nms",
        "SHA-256",
        True,
        True,
    )
    (stored,) = doorctl.store.execute("SELECT data FROM settings WHERE section = 'snmp'").fetchone()
    assert "v3_" not in stored.replace("v3_notification", "")
    doorctl.snmp.apply(doorctl.settings.get("snmp"))
    nms = {"name": "nms", "authentication": "SHA-256", "auth_key": "old-auth-key"}
    assert reads(port, nms | {"privacy_key": "old-priv-key"})


def test_sys_object_id_is_doorctls_own_and_the_mib_names_it(admin_api, logged_in, port):
    add(admin_api, ALICE)
    assert admin_api.put("/api/v1/snmp", json={"version": "v3", "port": port}).status_code == 200
    alice = v3("alice", "SHA", "alice-auth-1", "alice-priv-1")
    walked = values(snmp("snmpwalk", port, alice, SYSTEM).stdout)
    assert walked[SYS_OBJECT_ID] == f".{mib.PRODUCT_OID}"
    named = subprocess.run(
        [require("snmpwalk", "net-snmp's tools (Debian snmp)"), "-t", "1", "-r", "0"]
        + ["-m", "DOORCTL-MIB", "-M", mib_path(), *alice]
        + [f"udp:127.0.0.1:{port}", SYSTEM],
        capture_output=True,
        text=True,
        env={**QUIET, "MIBDIRS": mib_path()},
        timeout=30,
    )
    assert "1.2.0 = OID: DOORCTL-MIB::doorctlController" in named.stdout, named.stderr
    translated = subprocess.run(
        [require("snmptranslate", "net-snmp's tools (Debian snmp)"), "-m", "DOORCTL-MIB"]
        + ["-M", mib_path(), f".{mib.PRODUCT_OID}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert translated.stdout.strip() == "DOORCTL-MIB::doorctlController"
    page = logged_in.get("/snmp").get_data(as_text=True)
    assert f"DOORCTL-MIB::doorctlController (.{mib.PRODUCT_OID})" in page


def test_no_clear_key_stays_on_disk_when_snmpd_can_not_start_or_stops(admin_api, doorctl, port):
    """snmpd turns each user's passwords into localised keys when it starts; where it
    never starts (not installed) or is stopped, doorctl takes them out itself."""
    doorctl.snmp.snmpd = "/nonexistent/snmpd"
    add(admin_api, ALICE)
    on = {"version": "v3", "port": port}
    assert admin_api.put("/api/v1/snmp", json=on).status_code == 200
    assert admin_api.get("/api/v1/snmp/status").json["state"] == "failed"
    written = [p.read_bytes() for p in doorctl.snmp.directory.rglob("*") if p.is_file()]
    assert written and not [k for k in KEYS if any(k.encode() in data for data in written)]
