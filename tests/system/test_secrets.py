"""Secrets at rest: the MQTT broker password sealed with the device key; file modes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from doorctl.app import create_app
from doorctl.core.secrets import Sealer, Unsealable
from doorctl.core.store import DB_NAME, Store

PASSWORD = "broker-Pa55word-6d1f"


def database_bytes(data_dir: Path) -> bytes:
    """Everything SQLite keeps on disk for the database: the file, its WAL and shm."""
    names = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm")
    return b"".join((data_dir / n).read_bytes() for n in names if (data_dir / n).exists())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_broker_password_is_not_in_the_database_files(admin_api, doorctl, data_dir):
    admin_api.put("/api/v1/mqtt/client", json={"username": "u", "password": PASSWORD})
    doorctl.event_log.flush()
    assert PASSWORD.encode() not in database_bytes(data_dir)
    assert doorctl.settings.get("mqtt_client")["password"] == PASSWORD
    body = admin_api.get("/api/v1/mqtt/client")
    assert body.json["password_set"] is True and PASSWORD not in body.get_data(as_text=True)


def test_the_mqtt_page_shows_only_that_a_password_is_set(logged_in, doorctl):
    doorctl.settings.update("mqtt_client", {"password": PASSWORD})
    page = logged_in.get("/mqtt").get_data(as_text=True)
    assert PASSWORD not in page


def test_a_password_stored_in_clear_is_sealed_at_start(data_dir):
    store = Store(data_dir)
    record = json.dumps({"username": "u", "password": PASSWORD})
    store.execute("INSERT INTO settings VALUES ('mqtt_client', ?)", (record,))
    store.close()
    app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True})
    doorctl = app.extensions["doorctl"]
    try:
        assert doorctl.settings.get("mqtt_client")["password"] == PASSWORD
        assert PASSWORD.encode() not in database_bytes(data_dir)
    finally:
        doorctl.store.close()


def test_a_sealed_secret_opens_only_with_its_key_and_in_its_place():
    sealer = Sealer(b"k" * 32)
    sealed = sealer.seal(PASSWORD, "mqtt_client.password")
    assert sealer.open(sealed, "mqtt_client.password") == PASSWORD
    assert sealer.seal("", "x") == ""
    with pytest.raises(Unsealable):
        sealer.open(sealed, "snmp.community")
    with pytest.raises(Unsealable):
        Sealer(b"o" * 32).open(sealed, "mqtt_client.password")


@pytest.fixture
def open_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_data_directory_and_database_are_private(tmp_path, open_umask):
    data_dir = tmp_path / "data"
    store = Store(data_dir)
    store.execute("INSERT INTO settings VALUES ('x', '{}')")
    assert mode(data_dir) == 0o700
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        assert mode(data_dir / name) == 0o600, name
    store.close()


def test_an_older_readable_data_directory_is_made_private(tmp_path, open_umask):
    data_dir = tmp_path / "data"
    Store(data_dir).close()
    os.chmod(data_dir, 0o755)
    for path in data_dir.iterdir():
        os.chmod(path, 0o644)
    store = Store(data_dir)
    assert mode(data_dir) == 0o700
    assert {p.name: mode(p) for p in data_dir.iterdir() if p.name.startswith(DB_NAME)} == {
        p.name: 0o600 for p in data_dir.iterdir() if p.name.startswith(DB_NAME)
    }
    store.close()


def test_a_password_sealed_by_another_device_is_not_set_and_the_page_works(data_dir, caplog):
    store = Store(data_dir)
    foreign = Sealer(b"another device".ljust(32)).seal(PASSWORD, "mqtt_client.password")
    record = json.dumps({"username": "u", "password": foreign})
    store.execute("INSERT INTO settings VALUES ('mqtt_client', ?)", (record,))
    store.close()
    app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True})
    doorctl = app.extensions["doorctl"]
    try:
        assert doorctl.settings.get("mqtt_client")["password"] == ""
        assert "sealed by another device" in caplog.text
    finally:
        doorctl.store.close()
