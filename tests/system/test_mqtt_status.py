"""The MQTT status says what is wrong in words: never an exception's text, path or repr."""

from __future__ import annotations

import socket
import threading

import pytest
from mqtt_helpers import wait_until

from doorctl.core.system.mqtt.service import FAILED


def configure(api, **settings) -> None:
    response = api.put("/api/v1/mqtt/client", json=settings)
    assert response.status_code == 200, response.json


def error_reason(api) -> str:
    status = wait_until(
        lambda: (s := api.get("/api/v1/mqtt/status").json)["state"] == "error" and s,
        what="error",
    )
    return status["reason"]


@pytest.mark.parametrize(("name", "what"), [("ca", "CA"), ("client", "client")])
def test_a_damaged_certificate_file_is_a_plain_sentence(admin_api, data_dir, name, what):
    """A file cut short on the SD card is named, not quoted from OpenSSL."""
    (data_dir / "mqtt").mkdir(exist_ok=True)
    (data_dir / "mqtt" / f"{name}.pem").write_text("-----BEGIN CERTIFICATE-----\ncut off")
    configure(admin_api, connect=True, host="localhost", protocol="ssl", port=8883)
    reason = error_reason(admin_api)
    assert (
        reason == f"The stored {what} certificate can't be used; upload it again on the MQTT page."
    )


def broken_broker(listener: socket.socket) -> None:
    """Accept the connection, then deliver a message whose topic is not UTF-8 text."""
    conn, _ = listener.accept()
    with conn:
        conn.recv(4096)
        conn.sendall(b"\x20\x02\x00\x00")  # CONNACK: accepted
        conn.sendall(b"\x30\x05\x00\x02\xff\xfex")  # PUBLISH to the bytes ff fe
        conn.recv(4096)


def test_a_broker_sending_a_broken_topic_is_a_plain_sentence(admin_api):
    admin_api.put("/api/v1/mqtt/subscriptions", json={"door_commands": True})
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=broken_broker, args=(listener,), daemon=True).start()
    port = listener.getsockname()[1]
    configure(admin_api, connect=True, host="127.0.0.1", port=port)
    reason = error_reason(admin_api)
    listener.close()
    assert reason == FAILED


@pytest.mark.parametrize("kind", ["ca", "client"])
def test_a_damaged_certificate_upload_is_refused_in_words(admin_api, kind):
    """OpenSSL's parser state (`ParseError { kind: ... }`) is no answer for an operator."""
    pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    response = admin_api.put("/api/v1/mqtt/certificates", json={kind: pem})
    assert response.status_code == 400
    message = response.json["fields"][kind]
    assert message.startswith("Not PEM with ") and message.endswith("its BEGIN and END lines too.")
    assert "ParseError" not in message and "{" not in message
