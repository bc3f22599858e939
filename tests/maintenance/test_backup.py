"""Maintenance > Backup: a backup restores on a replacement unit (another device key)
with every secret usable; a wrong password or a damaged file changes nothing."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
import time
from pathlib import Path

import gevent
import gevent.event
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from support import ROOT_PASSWORD, ApiClient, basic, csrf_token
from support_osdp import Line

from doorctl.app import create_app
from doorctl.core.access_control.access import GRANTED_TOPIC, NOT_FOUND_PIN
from doorctl.core.maintenance import backup_file
from doorctl.core.maintenance.backup import collect
from doorctl.core.maintenance.backup_file import Cost
from doorctl.core.secrets import Sealer
from doorctl.core.store import connect, migrations, secret_key

LOW = {"n": 1024, "r": 8, "p": 1}  # the KDF's cost in tests (the product's: Cost())
PASSWORD = "backup password 1"
RULE = "8 to 128 printable ASCII characters (codes 32 to 126)"
KEY = "8badf00d0123456789abcdeffedcba98"
BROKER_PASSWORD = "broker secret 42"
GUARD = ("guard", "guard password 1")
CARD = {"format": "H10301", "facility": 12, "number": 345}


@contextlib.contextmanager
def unit(data_dir: Path):
    """Another appliance on its own data directory: its own device key."""
    config = {"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True}
    app = create_app(
        {**config, "ENGINE_PROCESS": False, "BACKUP_COST": LOW, "READER_TEST_PORTS": True}
    )
    appliance = app.extensions["doorctl"]
    appliance.start()
    try:
        yield app
    finally:
        appliance.stop()
        appliance.store.close()


@pytest.fixture
def low_cost(app):
    app.config["BACKUP_COST"] = LOW
    return app


@pytest.fixture
def line():
    pty = Line()
    yield pty
    pty.close()


def seed(api: ApiClient, line: Line) -> dict:
    """Settings, a user, cardholders with a card+PIN and a PIN-only credential, a group,
    a schedule, rules, a reader with its key, an MQTT password and a certificate."""
    api.put("/api/v1/doors/1/settings", {"name": "Front door", "access_time": 9})
    ann = api.post("/api/v1/cardholders", {"name": "Ann"}).json
    bo = api.post("/api/v1/cardholders", {"name": "Bo"}).json
    api.post("/api/v1/credentials", {"cardholder_id": ann["id"], "card": CARD, "pin": "1234"})
    api.post("/api/v1/credentials", {"cardholder_id": bo["id"], "pin": "4321"})
    group = api.post("/api/v1/cardholder-groups", {"name": "Staff"}).json
    api.put(
        f"/api/v1/cardholder-groups/{group['id']}", {"name": "Staff", "cardholder_ids": [ann["id"]]}
    )
    hours = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "18:30"}
    schedule = api.post("/api/v1/schedules", {"name": "Office", "intervals": [hours]}).json
    api.post(
        "/api/v1/access-rules",
        {"name": "PIN", "door_id": 1, "cardholder_ids": [bo["id"]], "authentication": "pin"},
    )
    api.post(
        "/api/v1/access-rules",
        {"name": "Staff", "door_id": 1, "group_ids": [group["id"]], "schedule_id": schedule["id"]},
    )
    reader = {"id": "front", "port": line.path, "address": 1, "secure_channel": "required"}
    assert api.post("/api/v1/readers", {**reader, "secure_channel_key": KEY}).status_code == 201
    assert (
        api.put(
            "/api/v1/mqtt/client", {"username": "door", "password": BROKER_PASSWORD}
        ).status_code
        == 200
    )
    cert = {"id": "door-tls", "self_signed": {"common_name": "door"}}
    assert api.post("/api/v1/certificates", cert).status_code == 201
    assert (
        api.post(
            "/api/v1/users", {"username": GUARD[0], "password": GUARD[1], "role": "viewer"}
        ).status_code
        == 201
    )
    return {"ann": ann, "bo": bo}


def make_backup(api: ApiClient, password: str = PASSWORD) -> bytes:
    answer = api.post("/api/v1/maintenance/backup", {"password": password})
    assert answer.status_code == 200, answer.json
    assert answer.mimetype == "application/octet-stream"
    return answer.data


def restore(api: ApiClient, data: bytes, password: str = PASSWORD, keep: str = "true"):
    form = {"file": (io.BytesIO(data), "unit.backup"), "password": password, "keep_network": keep}
    return api.client.post("/api/v1/maintenance/restore", data=form, headers=api.headers)


def dump(data_dir: Path) -> dict:
    """Every table's rows, and the certificates' key files: what a refusal must not change."""
    conn = connect(data_dir / "doorctl.sqlite3")
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {
            n: [tuple(r) for r in conn.execute(f"SELECT * FROM {n}")]
            for n in names
            if n != "events"
        }
    finally:
        conn.close()
    keys = {p.name: p.read_bytes() for p in (data_dir / "certificates").glob("*")}
    return {"rows": rows, "keys": keys}


def signs(certificates, cert_id: str) -> bool:
    """The certificate's private key signs what its public key verifies."""
    key, public = certificates.private_key(cert_id), certificates.chain(cert_id)[0].public_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        public.verify(
            key.sign(b"door", ec.ECDSA(hashes.SHA256())), b"door", ec.ECDSA(hashes.SHA256())
        )
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        public.verify(
            key.sign(b"door", padding.PKCS1v15(), hashes.SHA256()),
            b"door",
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    return True


def test_a_backup_restores_on_a_replacement_unit_with_every_secret_usable(
    low_cost, admin_api, doorctl, line, tmp_path
):
    seeded = seed(admin_api, line)
    data = make_backup(admin_api)
    for secret in (KEY, BROKER_PASSWORD, GUARD[1], "1234", "4321", "PRIVATE KEY", "Ann"):
        assert secret.encode() not in data
    assert bytes.fromhex(KEY) not in data
    public_key = doorctl.certificates.chain("door-tls")[0].public_key()
    with unit(tmp_path / "replacement") as other:
        b = other.extensions["doorctl"]
        assert secret_key(b.data_dir) != secret_key(doorctl.data_dir)
        b.users.set_root_password("other root password")
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
            "certificates": 1,
            "readers": 2,
        }
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


def test_a_backup_of_a_newer_schema_is_refused(low_cost, admin_api, doorctl):
    content = backup_file.open_file(make_backup(admin_api), PASSWORD)
    content["schema"] = doorctl.store.version + 1
    before = dump(doorctl.data_dir)
    answer = restore(admin_api, backup_file.seal(content, PASSWORD, Cost(**LOW)))
    assert answer.status_code == 400
    assert answer.json["fields"] == {"file": "This backup was made by a newer version of doorctl."}
    assert dump(doorctl.data_dir) == before


def with_header(data: bytes, **changes) -> bytes:
    """The file with header fields changed (and its length with them)."""
    start = len(backup_file.MAGIC) + backup_file.PREFIX.size
    version, size = backup_file.PREFIX.unpack_from(data, len(backup_file.MAGIC))
    header = json.loads(data[start : start + size]) | changes
    head = json.dumps(header).encode()
    prefix = backup_file.MAGIC + backup_file.PREFIX.pack(version, len(head))
    return prefix + head + data[start + size :]


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


REFUSALS = {
    "wrong password": (
        lambda d: d,
        "wrong password 1",
        "password",
        "The password does not open this backup.",
    ),
    "a flipped byte": (
        lambda d: flipped(d, len(d) - 40),
        PASSWORD,
        "file",
        "The file was changed or damaged after it was made; nothing was restored.",
    ),
    "a flipped header": (
        lambda d: d.replace(b'"r":8', b'"r":9'),
        PASSWORD,
        "password",
        "The password does not open this backup.",
    ),
    "a truncated file": (
        lambda d: d[: len(d) // 2],
        PASSWORD,
        "file",
        "The file is cut short: download the backup again.",
    ),
    "a cut header": (
        lambda d: d[:30],
        PASSWORD,
        "file",
        "The file is cut short: download the backup again.",
    ),
    "not a backup": (
        lambda d: b"name,card\nAnn,345\n",
        PASSWORD,
        "file",
        "This file is not a doorctl backup.",
    ),
    "an empty password": (
        lambda d: d,
        "",
        "password",
        "Enter the password the backup was made with.",
    ),
    "an empty file": (lambda d: b"", PASSWORD, "file", "Choose a backup file."),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_restore_is_refused_with_its_reason_and_changes_nothing(
    low_cost, admin_api, doorctl, line, case
):
    seed(admin_api, line)
    data = make_backup(admin_api)
    admin_api.post("/api/v1/cardholders", {"name": "Added after the backup"})
    change, password, field, message = REFUSALS[case]
    before = dump(doorctl.data_dir)
    answer = restore(admin_api, change(data), password)
    assert answer.status_code == 400
    assert answer.json["fields"] == {field: message}
    assert dump(doorctl.data_dir) == before
    preview = admin_api.client.post(
        "/api/v1/maintenance/backup/preview",
        data={"file": (io.BytesIO(change(data)), "x.backup"), "password": password},
        headers=admin_api.headers,
    )
    assert preview.status_code == 400 and preview.json["fields"] == {field: message}
    if field == "file" and message != "Choose a backup file.":
        events = admin_api.get("/api/v1/events?limit=5").json["events"]
        assert events[0]["topic"] == "tns1:Device/Maintenance/Backup/RestoreFailed"
        assert events[0]["data"]["reason"] == message


def test_a_file_asking_for_too_costly_a_key_derivation_is_refused_before_deriving(
    low_cost, admin_api
):
    data = with_header(make_backup(admin_api), n=2**20, r=32)
    answer = restore(admin_api, data)
    assert answer.json["fields"] == {"file": "This backup was made by a newer version of doorctl."}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {},
            "password",
            f"Enter a password: {RULE}.",
        ),
        (
            {"password": "short"},
            "password",
            f"The password is 5 characters long: {RULE}.",
        ),
        (
            {"password": "pässwörd long"},
            "password",
            f"The password has a character that is not allowed: {RULE}.",
        ),
        (
            {"password": 12345678},
            "password",
            f"Enter a password: {RULE}.",
        ),
        (
            {"password": PASSWORD, "password_repeat": "other"},
            "password_repeat",
            "The passwords don't match.",
        ),
    ],
)
def test_a_backup_password_must_follow_the_rule(low_cost, admin_api, body, field, message):
    answer = admin_api.post("/api/v1/maintenance/backup", body)
    assert answer.status_code == 400
    assert answer.json["fields"] == {field: message}


def test_only_administrators_back_up_or_restore(low_cost, operator_api, logged_in):
    assert (
        operator_api.post("/api/v1/maintenance/backup", {"password": PASSWORD}).status_code == 403
    )
    form = {"file": (io.BytesIO(b"x"), "x.backup"), "password": PASSWORD}
    restored = operator_api.client.post(
        "/api/v1/maintenance/restore", data=form, headers=operator_api.headers
    )
    assert restored.status_code == 403


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


def csrf(client) -> str:
    return csrf_token(client, "/maintenance/backup")


def test_the_page_downloads_previews_and_restores(low_cost, logged_in, admin_api, doorctl):
    page = logged_in.get("/maintenance/backup").get_data(as_text=True)
    assert (
        "Download backup" in page and "The event log and the access log are not in a backup" in page
    )
    token = csrf(logged_in)
    short = logged_in.post(
        "/maintenance/backup",
        data={"csrf_token": token, "password": "short", "password_repeat": "short"},
    )
    assert short.status_code == 422
    assert "The password is 5 characters long" in short.get_data(as_text=True)
    form = {"csrf_token": token, "password": PASSWORD, "password_repeat": PASSWORD}
    download = logged_in.post("/maintenance/backup", data=form)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="doorctl-')
    data = download.data
    admin_api.post("/api/v1/cardholders", {"name": "Added after the backup"})

    wrong = logged_in.post(
        "/maintenance/backup/preview",
        data={"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": "nope nope"},
    )
    assert wrong.status_code == 422
    assert "The password does not open this backup." in wrong.get_data(as_text=True)
    shown = logged_in.post(
        "/maintenance/backup/preview",
        data={"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": PASSWORD},
    )
    text = shown.get_data(as_text=True)
    assert (
        shown.status_code == 200 and "Restore this backup?" in text and 'id="keep_network"' in text
    )
    held = list((doorctl.data_dir / "tmp").iterdir())
    assert [p.read_bytes() for p in held] == [data]  # kept as uploaded: still encrypted
    assert oct(held[0].stat().st_mode & 0o777) == "0o600"
    upload = re.search(r'name="token" value="([^"]+)"', text).group(1)
    done = logged_in.post(
        "/maintenance/backup/restore",
        data={"csrf_token": token, "token": upload, "keep_network": "on"},
    )
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "The backup was restored and is in use." in page
    assert "log in again" not in page  # root's password is the same: its session stays
    assert not list((doorctl.data_dir / "tmp").iterdir())
    names = [h["name"] for h in admin_api.get("/api/v1/cardholders").json["cardholders"]]
    assert "Added after the backup" not in names
    assert logged_in.get("/maintenance/backup").status_code == 200
    again = logged_in.post(
        "/maintenance/backup/restore", data={"csrf_token": token, "token": upload}
    )
    assert again.status_code == 422
    assert "The uploaded backup is no longer kept: upload it again." in again.get_data(as_text=True)


def test_a_restore_that_changes_your_password_logs_you_out(low_cost, logged_in, admin_api, doorctl):
    data = make_backup(admin_api)
    doorctl.users.update("root", password="a newer root password")
    login = {"username": "root", "password": "a newer root password"}
    logged_in.post("/login", data={**login, "csrf_token": csrf_token(logged_in)})
    token = csrf(logged_in)
    form = {"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": PASSWORD}
    text = logged_in.post("/maintenance/backup/preview", data=form).get_data(as_text=True)
    upload = re.search(r'name="token" value="([^"]+)"', text).group(1)
    done = logged_in.post(
        "/maintenance/backup/restore", data={"csrf_token": token, "token": upload}
    )
    assert "log in again with the backup" in done.get_data(as_text=True)
    assert logged_in.get("/maintenance/backup").status_code in (302, 303)
    assert doorctl.users.authenticate("root", ROOT_PASSWORD)


def test_cancel_deletes_the_upload(low_cost, logged_in, admin_api, doorctl):
    data = make_backup(admin_api)
    token = csrf(logged_in)
    form = {"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": PASSWORD}
    text = logged_in.post("/maintenance/backup/preview", data=form).get_data(as_text=True)
    upload = re.search(r'name="token" value="([^"]+)"', text).group(1)
    cancelled = logged_in.post(
        "/maintenance/backup/cancel", data={"csrf_token": token, "token": upload}
    )
    assert cancelled.status_code == 303
    assert not list((doorctl.data_dir / "tmp").iterdir())


def test_the_page_names_every_missing_field_at_once(low_cost, logged_in):
    token = csrf(logged_in)
    answer = logged_in.post(
        "/maintenance/backup/preview", data={"csrf_token": token, "password": ""}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert (
        "Choose a backup file." in text and "Enter the password the backup was made with." in text
    )


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
