"""MQTT client against real mosquitto brokers: protocols, TLS, passwords, readable errors."""

from __future__ import annotations

import pytest
from brokers import AlpnProxy, Broker
from mqtt_helpers import wait_until

pytestmark = pytest.mark.peer

SERIAL_TOPIC = "doorctl/TESTSERIAL"


def configure(api, **settings) -> dict:
    response = api.put("/api/v1/mqtt/client", json=settings)
    assert response.status_code == 200, response.json
    return response.json


def status(api) -> dict:
    return api.get("/api/v1/mqtt/status").json


def error_status(api) -> dict:
    """The status once it is an error; one reading, so the reason is that error's own
    (a second GET could already see the retry's "connecting" with no reason)."""
    return wait_until(lambda: (s := status(api))["state"] == "error" and s, what="error")


def upload_ca(api, pki) -> None:
    """The test CA into the certificate store, chosen as the MQTT client's CA."""
    body = {"id": "broker-ca", "data": pki.ca.read_text()}
    response = api.post("/api/v1/certificates", json=body)
    assert response.status_code == 201, response.json
    configure(api, ca_certificate="broker-ca")


@pytest.mark.parametrize("protocol", ["tcp", "ssl", "ws", "wss"])
def test_each_protocol_connects_and_publishes(admin_api, doorctl, broker, pki, observer, protocol):
    if protocol in ("ssl", "wss"):
        upload_ca(admin_api, pki)
    prefix = f"{SERIAL_TOPIC}/{protocol}"
    configure(
        admin_api,
        connect=True,
        host="localhost",
        protocol=protocol,
        port=broker.ports[protocol],
        topic_prefix=prefix,
    )
    wait_until(lambda: status(admin_api)["state"] == "connected", what="connected")
    wait_until(lambda: observer.payloads(f"{prefix}/connect") == [b"connected"])
    doorctl.bus.publish("tns1:Device/Trigger/DigitalInput", {"port": 1}, {"active": True})
    wait_until(lambda: observer.json(f"{prefix}/event/Device/Trigger/DigitalInput"))


def test_hostname_mismatch_is_a_readable_error(admin_api, broker, pki):
    upload_ca(admin_api, pki)
    configure(admin_api, connect=True, host="127.0.0.1", protocol="ssl", port=broker.ports["ssl"])
    state = error_status(admin_api)
    assert "certificate is not accepted" in state["reason"]
    assert "127.0.0.1" in state["reason"]


def test_unknown_ca_is_a_readable_error(admin_api, broker):
    configure(admin_api, connect=True, host="localhost", protocol="ssl", port=broker.ports["ssl"])
    state = error_status(admin_api)
    assert "certificate is not accepted" in state["reason"]


def test_alpn_right_name_connects_and_wrong_name_is_reported(admin_api, broker, pki):
    proxy = AlpnProxy(pki, broker.port, alpn="mqtt")
    try:
        upload_ca(admin_api, pki)
        configure(
            admin_api, connect=True, host="localhost", protocol="ssl", port=proxy.port, alpn="mqtt"
        )
        wait_until(lambda: status(admin_api)["state"] == "connected", what="connected via ALPN")
        configure(admin_api, alpn="x-amzn-mqtt-ca")
        state = error_status(admin_api)
        assert "ALPN protocol 'x-amzn-mqtt-ca'" in state["reason"]
    finally:
        proxy.close()


def test_refused_port_and_unknown_host_are_reported(admin_api, client):
    from brokers import free_port

    configure(admin_api, connect=True, host="127.0.0.1", port=free_port())
    state = error_status(admin_api)
    assert "refused the connection" in state["reason"]
    configure(admin_api, host="no-such-host.invalid")
    state = wait_until(lambda: "no-such-host" in (s := status(admin_api))["reason"] and s, 20)
    assert "Unknown host" in state["reason"]
    assert client.get("/api/v1/device", headers=admin_api.headers).status_code == 200


def test_password_and_acl(admin_api, tmp_path):
    acl = "user door\ntopic readwrite doorctl/#\n"
    b = Broker(tmp_path / "auth", users={"door": "s3cret", "watch": "w"}, acl=acl).start()
    try:
        configure(admin_api, connect=True, host="127.0.0.1", port=b.port, username="door")
        state = error_status(admin_api)
        assert "refused" in state["reason"]
        configure(admin_api, password="s3cret")
        wait_until(lambda: status(admin_api)["state"] == "connected", what="authenticated")
        body = admin_api.get("/api/v1/mqtt/client").json
        assert "password" not in body and body["password_set"] is True
        configure(admin_api, password="", keep_alive=30)  # an empty password keeps the stored one
        assert admin_api.get("/api/v1/mqtt/client").json["password_set"] is True
        wait_until(lambda: status(admin_api)["state"] == "connected", what="still authenticated")
    finally:
        b.stop()


def test_mqtt5_connects_publishes_and_subscribes(admin_api, doorctl, broker, observer):
    prefix = f"{SERIAL_TOPIC}/v5"
    configure(
        admin_api,
        connect=True,
        host="127.0.0.1",
        port=broker.port,
        mqtt_version="5",
        clean_session=False,
        topic_prefix=prefix,
    )
    wait_until(lambda: status(admin_api)["state"] == "connected", what="connected with MQTT 5")
    doorctl.settings.update("mqtt_subscriptions", {"subscriptions": [{"filter": "v5/#"}]})
    wait_until(lambda: status(admin_api)["subscribed"] == ["v5/#"], what="SUBACK")
    doorctl.bus.publish("tns1:Device/Trigger/DigitalInput", {}, {"active": False})
    wait_until(lambda: observer.json(f"{prefix}/event/Device/Trigger/DigitalInput"))


def test_silent_broker_times_out_readably(admin_api):
    import socket

    silent = socket.create_server(("127.0.0.1", 0))
    try:
        port = silent.getsockname()[1]
        configure(admin_api, connect=True, host="127.0.0.1", port=port, timeout=1)
        state = error_status(admin_api)
        assert "did not answer within 1 s" in state["reason"]
    finally:
        silent.close()
