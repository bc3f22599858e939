"""What the backup tests share: a second unit, a seeded configuration, backups and
restores through the REST API, and the database as a refusal must leave it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from brokers import Pki
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from support import ApiClient
from support_osdp import Line

from doorctl.app import create_app
from doorctl.core.store import connect

LOW = {"n": 1024, "r": 8, "p": 1}  # the KDF's cost in tests (the product's: Cost())
PASSWORD = "backup password 1"
RULE = "8 to 128 printable ASCII characters (codes 32 to 126)"
KEY = "8badf00d0123456789abcdeffedcba98"
BROKER_PASSWORD = "broker secret 42"
GUARD = ("guard", "guard password 1")
CARD = {"format": "H10301", "facility": 12, "number": 345}
# Where nothing listens on loopback (port 1): no traffic leaves the machine.
SYSLOG = {"host": "127.0.0.1", "protocol": "tls", "port": 1, "ca_certificate": "syslog-ca"}
SNMP_USER = {"name": "nms", "auth_key": "nms auth pass", "privacy_key": "nms privacy pass"}
KIOSK_PIN = "246813"


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


def seed(api: ApiClient, line: Line, pki_dir: Path) -> dict:
    """Settings, a user, cardholders with a card+PIN and a PIN-only credential, a group,
    a schedule, rules, a reader with its key, an MQTT password, a certificate, a remote
    syslog server trusting it, an SNMP v3 user and the kiosk's operator PIN."""
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
    ca = {"id": "syslog-ca", "data": Pki.make(pki_dir).ca.read_text()}
    assert api.post("/api/v1/certificates", ca).status_code == 201
    answer = api.post("/api/v1/logs/remote-syslog/servers", SYSLOG)
    assert answer.status_code == 201, answer.json
    assert api.post("/api/v1/snmp/users", SNMP_USER).status_code == 201
    kiosk = {"operator_actions": True, "pin": KIOSK_PIN}
    assert api.put("/api/v1/kiosk", kiosk).status_code == 200
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
    return api.client.post("/api/v1/maintenance/backup/restore", data=form, headers=api.headers)


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
