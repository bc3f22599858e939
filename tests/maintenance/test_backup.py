"""Maintenance > Backup: a backup restores on a replacement unit (another device key)
with every secret usable, from an older schema too; the engine and a real broker use it."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import gevent
import gevent.event
import pytest
from support import ROOT_PASSWORD, ApiClient, basic
from support_backup import (
    BROKER_PASSWORD,
    GUARD,
    KEY,
    KIOSK_PIN,
    LOW,
    PASSWORD,
    SNMP_USER,
    SYSLOG,
    make_backup,
    restore,
    seed,
    signs,
    unit,
)

from doorctl.core.access_control.access import GRANTED_TOPIC, NOT_FOUND_PIN
from doorctl.core.maintenance import backup_file
from doorctl.core.maintenance.backup import collect
from doorctl.core.maintenance.backup_file import Cost
from doorctl.core.secrets import Sealer
from doorctl.core.store import connect, migrations, secret_key
from doorctl.core.system.kiosk import WrongPin


def test_a_backup_restores_on_a_replacement_unit_with_every_secret_usable(
    low_cost, admin_api, doorctl, reader_line, tmp_path
):
    seeded = seed(admin_api, reader_line, tmp_path / "pki")
    data = make_backup(admin_api)
    secrets = (KEY, BROKER_PASSWORD, GUARD[1], "1234", "4321", "PRIVATE KEY", "Ann")
    for secret in (*secrets, SNMP_USER["auth_key"], SNMP_USER["privacy_key"], KIOSK_PIN):
        assert secret.encode() not in data
    assert bytes.fromhex(KEY) not in data
    public_key = doorctl.certificates.chain("door-tls")[0].public_key()
    with unit(tmp_path / "replacement") as other:
        b = other.extensions["doorctl"]
        assert secret_key(b.data_dir) != secret_key(doorctl.data_dir)
        b.users.set_root_password("other root password")
        b.store.write(lambda tx: tx.execute("UPDATE kiosk SET sessions = 3, pin_wrong = 2"))
        api_b = ApiClient(other.test_client(), basic("root", "other root password"))
        answer = restore(api_b, data)
        assert answer.status_code == 200, answer.json
        assert answer.json["counts"] == {
            "users": 2,
            "cardholders": 2,
            "credentials": 2,
            "schedules": 1,
            "rules": 2,
            "groups": 1,
            "certificates": 2,
            "readers": 2,
            "syslog_servers": 1,
            "snmp_users": 1,
        }
        assert answer.json["restart_needed"] is False
        [server] = b.remote_syslog.list()
        assert {k: server[k] for k in SYSLOG} == SYSLOG
        [user] = b.snmp_users.opened()
        assert {k: user[k] for k in SNMP_USER} == SNMP_USER
        stored = b.store.execute("SELECT auth_key, privacy_key FROM snmp_users").fetchone()
        assert not {SNMP_USER["auth_key"], SNMP_USER["privacy_key"]} & set(stored)
        # the operator PIN lets a kiosk action through; this unit's kiosk login generation
        # (the restored kiosk settings end its logins: one more) and wrong-PIN count stay
        # its own
        b.kiosk.check_pin(KIOSK_PIN, "127.0.0.1")
        with pytest.raises(WrongPin):
            b.kiosk.check_pin("135792", "127.0.0.1")
        kiosk = b.store.execute("SELECT sessions, pin_wrong FROM kiosk").fetchone()
        assert kiosk["sessions"] >= 3 and kiosk["pin_wrong"] == 1
        assert b.readers.keys.get("front") == bytes.fromhex(KEY)
        assert signs(b.certificates, "door-tls")
        assert b.certificates.chain("door-tls")[0].public_key() == public_key
        assert b.settings.get("mqtt_client")["password"] == BROKER_PASSWORD
        # the backup's users log in with their passwords; the replacement's root password is gone
        client_b = other.test_client()
        assert client_b.get("/api/v1/device", headers=basic(*GUARD)).status_code == 200
        old_root = basic("root", "other root password")
        assert client_b.get("/api/v1/device", headers=old_root).status_code == 401
        api_root = ApiClient(client_b, basic("root", ROOT_PASSWORD))
        holders = api_root.get("/api/v1/cardholders").json
        assert sorted(h["name"] for h in holders["cardholders"]) == ["Ann", "Bo"]
        assert api_root.get("/api/v1/doors/1/settings").json["name"] == "Front door"
        # PINs work under the replacement's own device key, old and new ones alike
        assert b.access.keys("wiegand", "4321#").granted
        assert not b.access.keys("wiegand", "4322#").granted
        ann = seeded["ann"]["id"]
        clash = api_root.post("/api/v1/credentials", {"cardholder_id": ann, "pin": "4321"})
        assert clash.status_code == 409, clash.json
        topics = [e["topic"] for e in api_root.get("/api/v1/events?limit=50").json["events"]]
        assert "tns1:Device/Maintenance/Backup/Restored" in topics
        # and the replacement's own backup opens its secrets again
        again = ApiClient(client_b, basic("root", ROOT_PASSWORD))
        content = backup_file.open_file(make_backup(again), PASSWORD)
        assert content["pin_key"] == secret_key(doorctl.data_dir).hex()


def https_port(doorctl, port: int) -> None:
    """This unit's HTTP port stored (the network settings a restore may keep)."""
    doorctl.https.ensure_device_certificate()
    doorctl.settings.update("https", {"http_port": port})


@pytest.mark.parametrize("keep", [True, False])
def test_keep_network_keeps_this_units_ports_or_takes_the_backups(
    low_cost, admin_api, doorctl, tmp_path, keep
):
    https_port(doorctl, 8080)
    data = make_backup(admin_api)
    with unit(tmp_path / "replacement") as other:
        b = other.extensions["doorctl"]
        https_port(b, 8081)
        b.users.set_root_password("other root password")
        api_b = ApiClient(other.test_client(), basic("root", "other root password"))
        answer = restore(api_b, data, keep="true" if keep else "false")
        assert answer.status_code == 200, answer.json
        assert b.settings.get("https")["http_port"] == (8081 if keep else 8080)
        assert answer.json["kept_network"] is keep
        assert answer.json["ports_at_restart"] is not keep


def old_database(path: Path, schema: int) -> sqlite3.Connection:
    """A database as an older version left it: migrated only up to `schema`."""
    conn = connect(path)
    for number, script in migrations():
        if number <= schema:
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return conn


def test_a_backup_of_an_older_schema_is_migrated_as_it_restores(
    low_cost, admin_api, doorctl, tmp_path
):
    """Schema 5: before user sessions (9), certificates (10), reader keys (12), the
    Wiegand reader's `enabled` (15) and users' language (16)."""
    from werkzeug.security import generate_password_hash

    old_dir = tmp_path / "old"
    old_dir.mkdir()
    conn = old_database(old_dir / "doorctl.sqlite3", 5)
    sealer = Sealer(secret_key(old_dir))
    sealed = sealer.seal(BROKER_PASSWORD, "mqtt_client.password")
    conn.execute(
        "INSERT INTO settings VALUES ('mqtt_client', ?)", (json.dumps({"password": sealed}),)
    )
    hashed = generate_password_hash("old root password")
    conn.execute("INSERT INTO users VALUES ('root', ?, 'administrator', 0)", (hashed,))
    conn.execute("INSERT INTO cardholders (id, name) VALUES (7, 'Old Ann')")
    zone = json.dumps({"time_zone": "Europe/Stockholm"})
    conn.execute("INSERT INTO settings VALUES ('access', ?)", (zone,))
    conn.execute(
        "INSERT INTO readers (id, protocol, port, address) "
        "VALUES ('side', 'osdp', '/dev/ttyUSB0', 2)"
    )
    content = collect(conn, sealer, secret_key(old_dir), {}, {"hostname": "old-unit"})
    conn.close()
    assert content["schema"] == 5 and "reader_keys" not in content["tables"]
    data = backup_file.seal(content, PASSWORD, Cost(**LOW))
    answer = restore(admin_api, data)
    assert answer.status_code == 200, answer.json
    assert doorctl.settings.get("mqtt_client")["password"] == BROKER_PASSWORD
    # migration 21 moved the zone of Access settings to Date and time, as on an upgrade
    assert doorctl.settings.get("date_time")["time_zone"] == "Europe/Stockholm"
    root = doorctl.users.get("root")
    assert root.language is None and doorctl.users.authenticate("root", "old root password")
    readers = {r["id"]: r for r in doorctl.readers.list()}
    assert readers["side"]["address"] == 2 and readers["wiegand"]["enabled"] is True
    assert [
        h["name"]
        for h in admin_api.client.get(
            "/api/v1/cardholders", headers=basic("root", "old root password")
        ).json["cardholders"]
    ] == ["Old Ann"]


def test_a_restored_snmp_user_reads_from_the_replacements_snmpd(low_cost, admin_api, tmp_path):
    """The SNMP v3 user's keys, sealed again with the replacement's device key, are the
    ones its snmpd takes: snmpget reads with them."""
    from snmp_peers import SYS_DESCR, free_udp_port, snmp, v3, values
    from support import require

    require("snmpd", "net-snmp's agent (Debian snmpd)")
    user = {**SNMP_USER, "authentication": "SHA-256"}
    assert admin_api.post("/api/v1/snmp/users", user).status_code == 201
    port = free_udp_port()
    assert admin_api.put("/api/v1/snmp", {"version": "v3", "port": port}).status_code == 200
    options = v3(*(user[k] for k in ("name", "authentication", "auth_key", "privacy_key")))
    data = make_backup(admin_api)
    assert admin_api.put("/api/v1/snmp", {"version": "off"}).status_code == 200
    with unit(tmp_path / "replacement") as other:
        b = other.extensions["doorctl"]
        b.snmp.address = "127.0.0.1"
        b.users.set_root_password("other root password")
        api_b = ApiClient(other.test_client(), basic("root", "other root password"))
        assert restore(api_b, data).status_code == 200
        read = snmp("snmpget", port, options, SYS_DESCR)
        assert values(read.stdout).get(SYS_DESCR, "").startswith("doorctl"), read.stderr


def test_a_backup_made_before_syslog_snmp_users_and_kiosk_were_in_it_restores(
    low_cost, admin_api, doorctl, reader_line, tmp_path
):
    """A backup of the version before: the unit keeps its own servers, users and PIN
    (the backup says nothing of them), and takes everything else from it."""
    seed(admin_api, reader_line, tmp_path / "pki")
    content = backup_file.open_file(make_backup(admin_api), PASSWORD)
    for table in ("remote_syslog_servers", "snmp_users", "kiosk"):
        del content["tables"][table]
    admin_api.post("/api/v1/cardholders", {"name": "Added after the backup"})
    answer = restore(admin_api, backup_file.seal(content, PASSWORD, Cost(**LOW)))
    assert answer.status_code == 200, answer.json
    assert [s["host"] for s in doorctl.remote_syslog.list()] == [SYSLOG["host"]]
    assert [u["privacy_key"] for u in doorctl.snmp_users.opened()] == [SNMP_USER["privacy_key"]]
    doorctl.kiosk.check_pin(KIOSK_PIN, "127.0.0.1")
    holders = admin_api.get("/api/v1/cardholders").json["cardholders"]
    assert sorted(h["name"] for h in holders) == ["Ann", "Bo"]


@pytest.mark.engine_apart
def test_the_door_engine_decides_with_the_restored_access_data(low_cost, admin_api, doorctl):
    """The engine runs in its own process (as `doorctl serve` runs it): it reads the
    restored cardholders, PINs and rules afresh."""
    bo = admin_api.post("/api/v1/cardholders", {"name": "Bo"}).json
    admin_api.post("/api/v1/credentials", {"cardholder_id": bo["id"], "pin": "4321"})
    rule = {"name": "PIN", "door_id": 1, "cardholder_ids": [bo["id"]], "authentication": "pin"}
    admin_api.post("/api/v1/access-rules", rule)
    data = make_backup(admin_api)
    admin_api.delete(f"/api/v1/cardholders/{bo['id']}")
    assert decision(admin_api, doorctl, "4321#") == NOT_FOUND_PIN
    assert restore(admin_api, data).status_code == 200
    assert doorctl.engine.status()["running"]
    assert decision(admin_api, doorctl, "4321#") == GRANTED_TOPIC


def decision(api: ApiClient, doorctl, keys: str) -> str:
    """The topic of the engine's decision on a PIN typed at the Wiegand keypad."""
    decided = gevent.event.AsyncResult()
    unsubscribe = doorctl.bus.subscribe(lambda e: decided.set(e.topic), "tns1:AccessControl/")
    try:
        api.post("/api/v1/sim/wiegand", {"keys": keys})
        return decided.get(timeout=10)
    finally:
        unsubscribe()


@pytest.mark.peer
def test_the_restored_broker_password_logs_in_to_a_real_broker(low_cost, admin_api, tmp_path):
    from brokers import Broker
    from mqtt_helpers import wait_until

    broker = Broker(tmp_path / "broker", users={"door": BROKER_PASSWORD}).start()
    try:
        settings = {"host": "127.0.0.1", "port": broker.port, "username": "door"}
        admin_api.put("/api/v1/mqtt/client", {**settings, "password": BROKER_PASSWORD})
        data = make_backup(admin_api)
        with unit(tmp_path / "replacement") as other:
            other.extensions["doorctl"].users.set_root_password("other root password")
            api_b = ApiClient(other.test_client(), basic("root", "other root password"))
            assert restore(api_b, data).status_code == 200
            api_b = ApiClient(other.test_client(), basic("root", ROOT_PASSWORD))
            assert api_b.put("/api/v1/mqtt/client", {"connect": True}).status_code == 200
            state = lambda: api_b.get("/api/v1/mqtt/status").json["state"]  # noqa: E731
            wait_until(lambda: state() == "connected", what="logged in with the restored password")
    finally:
        broker.stop()


def test_the_product_cost_opens_and_says_how_long_it_takes(admin_api, doorctl):
    """The product's default cost, end to end once (the other tests lower it)."""
    started = time.perf_counter()
    data = make_backup(admin_api)
    made = time.perf_counter() - started
    header = data[: data.index(b"}") + 1]
    assert b'"n":131072' in header and b'"r":8' in header and b'"p":1' in header
    started = time.perf_counter()
    preview = admin_api.client.post(
        "/api/v1/maintenance/backup/preview",
        data={"file": (io.BytesIO(data), "unit.backup"), "password": PASSWORD},
        headers=admin_api.headers,
    )
    opened = time.perf_counter() - started
    assert preview.status_code == 200 and preview.json["counts"]["users"] == 1
    print(f"\nbackup at the product's cost: made in {made:.2f} s, opened in {opened:.2f} s")


def test_the_key_a_backup_carries_makes_no_session_cookie(low_cost, app, admin_api):
    """A backup carries the PIN hashes' key (the device secret); session cookies are
    signed with a key derived from it, so the file can't log anybody in on its unit."""
    from flask.sessions import SecureCookieSessionInterface

    from doorctl.core.secrets import session_key

    content = backup_file.open_file(make_backup(admin_api), PASSWORD)
    fields = {"_user_id": "root:0", "_fresh": True, "seen": time.time(), "sid": "forged"}

    def cookie(key: bytes) -> str:
        signer = SecureCookieSessionInterface().get_signing_serializer(_with_key(app, key))
        return signer.dumps(fields)

    client = app.test_client()
    client.set_cookie("session", cookie(bytes.fromhex(content["pin_key"])))
    assert client.get("/users").status_code in (302, 303)
    client.set_cookie("session", cookie(session_key(bytes.fromhex(content["pin_key"]))))
    assert client.get("/users").status_code == 200  # the unit's own key does sign one


def _with_key(app, key: bytes):
    """The app as the serializer reads it, with another secret key."""

    class Keyed:
        secret_key = key
        config = app.config

    return Keyed
