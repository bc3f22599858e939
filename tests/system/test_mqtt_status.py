"""The MQTT status says what is wrong in words: never an exception's text, path or repr."""

from __future__ import annotations

import socket
import threading

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
