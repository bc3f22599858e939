"""The MQTT client through a real HTTP CONNECT proxy (tinyproxy) to a real mosquitto:
with and without the proxy's login, every transport, a refused login in words, and a
settings change that moves the connection onto or off the proxy."""

from __future__ import annotations

import pytest
from mqtt_helpers import wait_until
from proxies import Tinyproxy
from support import start_set_up

pytestmark = pytest.mark.peer

PREFIX = "doorctl/TESTSERIAL/proxied"


def start_proxy(tmp_path, broker, login=None) -> Tinyproxy:
    return Tinyproxy(tmp_path / "proxy", list(broker.ports.values()), login).start()


@pytest.fixture
def proxy(tmp_path, broker):
    p = start_proxy(tmp_path, broker)
    yield p
    p.stop()


@pytest.fixture
def locked_proxy(tmp_path, broker):
    p = start_proxy(tmp_path, broker, ("door", "s3cret"))
    yield p
    p.stop()


def set_proxy(api, proxy: Tinyproxy, **more) -> None:
    answer = api.put("/api/v1/proxy", json={"host": "127.0.0.1", "port": proxy.port, **more})
    assert answer.status_code == 200, answer.json


def connect(api, broker, protocol: str, host: str = "127.0.0.1") -> None:
    settings = {"connect": True, "host": host, "protocol": protocol}
    settings |= {"port": broker.ports[protocol], "topic_prefix": PREFIX}
    answer = api.put("/api/v1/mqtt/client", json=settings)
    assert answer.status_code == 200, answer.json


def status(api) -> dict:
    return api.get("/api/v1/mqtt/status").json


def publishes_through(doorctl, api, observer) -> None:
    """doorctl is connected, and an event it publishes reaches the broker."""
    wait_until(lambda: status(api)["state"] == "connected", what="connected")
    doorctl.bus.publish("tns1:Device/Trigger/DigitalInput", {"port": 1}, {"active": True})
    wait_until(lambda: observer.json(f"{PREFIX}/event/Device/Trigger/DigitalInput"))


@pytest.mark.parametrize("protocol", ["ws", "tcp"])
def test_the_client_connects_through_the_proxy(
    admin_api, logged_in, doorctl, broker, proxy, observer, protocol
):
    set_proxy(admin_api, proxy)
    connect(admin_api, broker, protocol)
    publishes_through(doorctl, admin_api, observer)
    assert proxy.connects(broker.ports[protocol]) == 1
    assert status(admin_api)["proxy"] == f"127.0.0.1:{proxy.port}"
    line = logged_in.get("/mqtt/status").get_data(as_text=True)
    assert f"Through the proxy 127.0.0.1:{proxy.port}" in line
    page = logged_in.get("/proxy").get_data(as_text=True)
    assert f"The MQTT client connects to its broker through 127.0.0.1:{proxy.port}." in page


@pytest.mark.parametrize("protocol", ["wss", "ssl"])
def test_tls_goes_through_the_tunnel_to_the_named_broker(
    admin_api, doorctl, broker, proxy, observer, protocol
):
    """The broker's name travels in CONNECT (the proxy resolves it) and TLS checks the
    broker's certificate for that name, end to end inside the tunnel."""
    body = {"id": "broker-ca", "data": broker.pki.ca.read_text()}
    assert admin_api.post("/api/v1/certificates", json=body).status_code == 201
    assert admin_api.put("/api/v1/mqtt/client", json={"ca_certificate": "broker-ca"}).json
    set_proxy(admin_api, proxy)
    connect(admin_api, broker, protocol, host="localhost")
    publishes_through(doorctl, admin_api, observer)
    assert proxy.connects(broker.ports[protocol], host="localhost") == 1


def test_the_client_logs_in_to_the_proxy(admin_api, doorctl, broker, locked_proxy, observer):
    set_proxy(admin_api, locked_proxy, login="door", password="s3cret")
    connect(admin_api, broker, "ws")
    publishes_through(doorctl, admin_api, observer)
    assert locked_proxy.connects(broker.ports["ws"]) == 1


def test_a_refused_proxy_login_reads_as_such(admin_api, logged_in, broker, locked_proxy):
    set_proxy(admin_api, locked_proxy, login="door", password="wrong")
    connect(admin_api, broker, "ws")
    state = wait_until(lambda: (s := status(admin_api))["state"] == "error" and s, what="error")
    assert state["reason"] == (
        "The proxy refused the login: check the login and password in System > Proxy."
    )
    line = logged_in.get("/mqtt/status").get_data(as_text=True)
    assert "The proxy refused the login" in line and "Traceback" not in line


def test_changing_the_proxy_reconnects_onto_and_off_it(admin_api, doorctl, broker, proxy, observer):
    connect(admin_api, broker, "ws")
    wait_until(lambda: status(admin_api)["state"] == "connected", what="connected directly")
    assert proxy.connects(broker.ports["ws"]) == 0 and status(admin_api)["proxy"] is None
    set_proxy(admin_api, proxy)
    wait_until(lambda: proxy.connects(broker.ports["ws"]) == 1, what="a tunnel")
    publishes_through(doorctl, admin_api, observer)
    answer = admin_api.put("/api/v1/proxy", json={"no_proxy": ["127.0.0.0/8"]})
    assert answer.status_code == 200, answer.json
    wait_until(lambda: status(admin_api)["proxy"] is None, what="direct again")
    wait_until(lambda: status(admin_api)["state"] == "connected", what="connected directly")
    assert proxy.connects(broker.ports["ws"]) == 1


def test_a_proxy_that_asks_for_a_login_says_so(admin_api, broker, locked_proxy):
    set_proxy(admin_api, locked_proxy)
    connect(admin_api, broker, "tcp")
    state = wait_until(lambda: (s := status(admin_api))["state"] == "error" and s, what="error")
    assert state["reason"] == (
        "The proxy asks for a login: enter its login and password in System > Proxy."
    )


def test_an_unreachable_proxy_reads_as_such(admin_api, tmp_path, broker):
    gone = Tinyproxy(tmp_path / "gone", [broker.port])  # configured, never started
    set_proxy(admin_api, gone)
    connect(admin_api, broker, "ws")
    state = wait_until(lambda: (s := status(admin_api))["state"] == "error" and s, what="error")
    assert state["reason"].startswith("The proxy can't be reached: ")
    assert "Connection refused" in state["reason"]


def test_an_unknown_proxy_host_is_named_not_the_broker(admin_api, broker):
    answer = admin_api.put("/api/v1/proxy", json={"host": "no-such-proxy.invalid"})
    assert answer.status_code == 200, answer.json
    connect(admin_api, broker, "ws")
    state = wait_until(lambda: (s := status(admin_api))["state"] == "error" and s, what="error")
    assert state["reason"].startswith("Unknown proxy host 'no-such-proxy.invalid': ")


def test_the_served_appliance_tunnels_with_its_login(tmp_path, broker, locked_proxy, observer):
    """`doorctl serve` (gevent's cooperative sockets under PySocks) through the proxy."""
    server = start_set_up(tmp_path / "served")
    try:
        proxy = {"host": "127.0.0.1", "port": locked_proxy.port}
        server.call("PUT", "/api/v1/proxy", {**proxy, "login": "door", "password": "s3cret"})
        settings = {"connect": True, "host": "127.0.0.1", "protocol": "ws"}
        prefix = f"{PREFIX}/served"  # the other tests' connect and LWT messages are retained
        settings |= {"port": broker.ports["ws"], "topic_prefix": prefix}
        server.call("PUT", "/api/v1/mqtt/client", settings)
        state = lambda: server.call("GET", "/api/v1/mqtt/status")["state"]  # noqa: E731
        wait_until(lambda: state() == "connected", what="connected")
        server.call("POST", "/api/v1/sim/inputs/aux3", {"active": True})
        wait_until(lambda: observer.json(f"{prefix}/event/Device/Trigger/DigitalInput"))
        assert locked_proxy.connects(broker.ports["ws"]) == 1
    finally:
        server.stop()


def test_a_proxy_that_refuses_the_broker_says_what_it_answered(admin_api, tmp_path, broker):
    narrow = Tinyproxy(tmp_path / "narrow", [broker.port]).start()  # not the WebSocket port
    try:
        set_proxy(admin_api, narrow)
        connect(admin_api, broker, "ws")
        state = wait_until(lambda: (s := status(admin_api))["state"] == "error" and s)
        where = f"127.0.0.1:{broker.ports['ws']}"
        assert state["reason"].startswith(f"The proxy refused the connection to {where}: 403")
    finally:
        narrow.stop()
