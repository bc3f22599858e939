"""MQTT over TLS with certificates from the store, against real mosquitto brokers; and
the migration of the MQTT client's own certificate files into the store."""

from __future__ import annotations

import json
import shutil
import stat

import pytest
from brokers import Broker, Pki
from mqtt_helpers import wait_until
from support import ApiClient, basic

from doorctl.app import create_app
from doorctl.core.system.mqtt.old_files import TOPIC

pytestmark = pytest.mark.peer
API = "/api/v1/certificates"


@pytest.fixture(scope="module")
def broker(tmp_path_factory, pki):
    """TLS that verifies only the test CA's server, and TLS that asks for a client
    certificate the test CA signed."""
    b = Broker(tmp_path_factory.mktemp("broker"), ("ssl", "mtls"), pki).start()
    yield b
    b.stop()


def configure(api, **settings) -> dict:
    response = api.put("/api/v1/mqtt/client", json=settings)
    assert response.status_code == 200, response.json
    return response.json


def state(api) -> dict:
    return api.get("/api/v1/mqtt/status").json


def connected(api) -> None:
    wait_until(lambda: state(api)["state"] == "connected", what="connected")


def error_reason(api) -> str:
    return wait_until(lambda: (s := state(api))["state"] == "error" and s["reason"], what="error")


def chosen(api) -> tuple[str, str]:
    """The CA and client certificates the MQTT client settings choose."""
    settings = api.get("/api/v1/mqtt/client").json
    return settings["ca_certificate"], settings["client_certificate"]


def add(api, cert_id: str, pem: str) -> None:
    response = api.post(API, json={"id": cert_id, "data": pem})
    assert response.status_code == 201, response.json


def test_the_ca_from_the_store_verifies_the_broker(admin_api, broker, pki):
    configure(admin_api, connect=True, host="localhost", protocol="ssl", port=broker.ports["ssl"])
    assert "certificate is not accepted" in error_reason(admin_api)  # the system's CAs
    add(admin_api, "broker-ca", pki.ca.read_text())
    configure(admin_api, ca_certificate="broker-ca")
    connected(admin_api)


def test_a_broker_that_requires_a_client_certificate_accepts_the_stored_one(admin_api, broker, pki):
    add(admin_api, "broker-ca", pki.ca.read_text())
    port = broker.ports["mtls"]
    configure(
        admin_api,
        connect=True,
        host="localhost",
        protocol="ssl",
        port=port,
        ca_certificate="broker-ca",
        reconnect=False,
    )
    assert error_reason(admin_api)  # the broker hangs up on a client without one
    add(admin_api, "door-client", pki.client.read_text())
    configure(admin_api, client_certificate="door-client", reconnect=True)
    connected(admin_api)


def test_the_store_refuses_to_delete_what_mqtt_uses(admin_api, pki):
    add(admin_api, "broker-ca", pki.ca.read_text())
    add(admin_api, "door-client", pki.client.read_text())
    configure(admin_api, ca_certificate="broker-ca", client_certificate="door-client")
    for cert_id in ("broker-ca", "door-client"):
        refused = admin_api.delete(f"{API}/{cert_id}")
        assert refused.status_code == 409 and "MQTT" in refused.json["error"]
        assert admin_api.get(f"{API}/{cert_id}").json["used_by"] == ["MQTT"]
    configure(admin_api, ca_certificate="", client_certificate="")
    assert admin_api.delete(f"{API}/broker-ca").status_code == 204
    assert admin_api.delete(f"{API}/door-client").status_code == 204


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"ca_certificate": "nowhere"}, "ca_certificate", "There is no certificate nowhere"),
        ({"client_certificate": "broker-ca"}, "client_certificate", "a CA certificate without"),
        ({"ca_certificate": "door-client"}, "ca_certificate", "a client/server certificate"),
        ({"client_certificate": 7}, "client_certificate", "Must be text."),
        ({"ca_certificate": "x" * 65}, "ca_certificate", "64"),
    ],
)
def test_a_wrong_certificate_choice_is_a_field_error(admin_api, pki, changes, field, says):
    add(admin_api, "broker-ca", pki.ca.read_text())
    add(admin_api, "door-client", pki.client.read_text())
    before = admin_api.get("/api/v1/mqtt/client").json
    response = admin_api.put("/api/v1/mqtt/client", json=changes)
    assert response.status_code == 400
    message = response.json["fields"][field]
    assert says in message, message
    assert admin_api.get("/api/v1/mqtt/client").json == before


def test_a_certificate_whose_key_no_longer_opens_is_a_plain_sentence(admin_api, data_dir, pki):
    """A key file damaged on the SD card (or sealed by another device) is named, not
    quoted from OpenSSL."""
    add(admin_api, "door-client", pki.client.read_text())
    (data_dir / "certificates" / "door-client.key").write_bytes(b"damaged")
    configure(
        admin_api,
        connect=True,
        host="localhost",
        protocol="ssl",
        port=8883,
        client_certificate="door-client",
    )
    assert error_reason(admin_api) == (
        "The client certificate door-client can't be used; import it again under "
        "System > Certificates or choose another on the MQTT page."
    )


# Migration of the files an earlier version kept in <data dir>/mqtt/


def old_version(data_dir, pki, broker, client_pem=None, ca_pem=None) -> None:
    """A data directory as an earlier version left it: TLS settings without the
    certificate fields, and the uploads as PEM files of the MQTT client."""
    app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True})
    doorctl = app.extensions["doorctl"]
    doorctl.settings.update(
        "mqtt_client",
        {
            "connect": True,
            "host": "localhost",
            "protocol": "ssl",
            "port": broker.ports["mtls"] if broker else 8883,
        },
    )
    query = "SELECT data FROM settings WHERE section = 'mqtt_client'"
    record = json.loads(doorctl.store.execute(query).fetchone()[0])
    for name in ("ca_certificate", "client_certificate"):
        del record[name]
    doorctl.store.execute(
        "UPDATE settings SET data = ? WHERE section = 'mqtt_client'", (json.dumps(record),)
    )
    doorctl.store.close()
    mqtt_dir = data_dir / "mqtt"
    mqtt_dir.mkdir()
    (mqtt_dir / "ca.pem").write_text(ca_pem if ca_pem is not None else pki.ca.read_text())
    (mqtt_dir / "client.pem").write_text(
        client_pem if client_pem is not None else pki.client.read_text()
    )


class Started:
    """The appliance over a data directory, started; stopped by close()."""

    def __init__(self, data_dir):
        self.app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True})
        self.doorctl = self.app.extensions["doorctl"]
        self.doorctl.start()
        if not self.doorctl.users.count():
            self.doorctl.users.set_root_password("r00t pass")
        self.api = ApiClient(self.app.test_client(), basic("root", "r00t pass"))

    def close(self) -> None:
        if self.doorctl.running:
            self.doorctl.stop()
            self.doorctl.store.close()


@pytest.fixture
def started():
    opened = []

    def start(data_dir) -> Started:
        opened.append(Started(data_dir))
        return opened[-1]

    yield start
    for one in opened:
        one.close()


def test_old_certificate_files_move_into_the_store_and_keep_tls_connecting(
    tmp_path, pki, broker, started
):
    data_dir = tmp_path / "data"
    old_version(data_dir, pki, broker)
    new = started(data_dir)
    connected(new.api)
    assert chosen(new.api) == ("mqtt-ca", "mqtt-client")
    listed = {c["id"]: c for c in new.api.get(API).json}
    assert listed["mqtt-ca"]["kind"] == "ca" and listed["mqtt-ca"]["used_by"] == ["MQTT"]
    assert listed["mqtt-client"]["subject"] == "CN=doorctl test client"
    assert listed["mqtt-client"]["private_key"] is True
    assert not (data_dir / "mqtt").exists()
    key_file = data_dir / "certificates" / "mqtt-client.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in key_file.read_bytes()  # sealed, never in clear


def test_the_migration_run_again_after_a_crash_imports_nothing_twice(tmp_path, pki, started):
    data_dir = tmp_path / "data"
    old_version(data_dir, pki, None)
    kept = tmp_path / "kept"
    shutil.copytree(data_dir / "mqtt", kept)
    first = started(data_dir)
    ids = [c["id"] for c in first.api.get(API).json]
    first.close()
    shutil.copytree(kept, data_dir / "mqtt")  # as if it stopped before removing them
    again = started(data_dir)
    assert [c["id"] for c in again.api.get(API).json] == ids
    assert chosen(again.api) == ("mqtt-ca", "mqtt-client")
    assert not (data_dir / "mqtt").exists()


def test_a_taken_id_gets_a_number_and_a_choice_already_made_stays(tmp_path, pki, started):
    data_dir = tmp_path / "data"
    other = Pki.make(tmp_path / "other")
    old_version(data_dir, pki, None, ca_pem=other.ca.read_text())
    first = started(data_dir)
    first.close()
    shutil.rmtree(data_dir / "mqtt", ignore_errors=True)
    (data_dir / "mqtt").mkdir()
    (data_dir / "mqtt" / "ca.pem").write_text(pki.ca.read_text())  # another CA, same name
    again = started(data_dir)
    ids = [c["id"] for c in again.api.get(API).json]
    assert "mqtt-ca-2" in ids
    assert again.api.get("/api/v1/mqtt/client").json["ca_certificate"] == "mqtt-ca"


def test_a_damaged_old_file_is_reported_and_start_up_goes_on(tmp_path, pki, started, caplog):
    data_dir = tmp_path / "data"
    cut = "-----BEGIN CERTIFICATE-----\nMIIB cut off by a power failure\n"
    old_version(data_dir, pki, None, ca_pem=cut)
    new = started(data_dir)
    assert chosen(new.api) == ("", "mqtt-client")
    assert (data_dir / "mqtt" / "ca.pem.unusable").read_text() == cut
    assert not (data_dir / "mqtt" / "client.pem").exists()
    new.doorctl.event_log.flush()
    events = new.api.get("/api/v1/events", query_string={"topic": TOPIC}).json
    message = events["events"][0]["data"]["message"]
    assert message.startswith("The MQTT CA certificate file ca.pem kept by an earlier version")
    assert "ca.pem.unusable" in message and str(data_dir) not in message
    assert "MQTT CA certificate" in caplog.text and "ca.pem" in caplog.text
    assert new.api.get("/api/v1/device").status_code == 200
