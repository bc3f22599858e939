"""Remote system log against a real rsyslogd, at its bounds: a message too long for a
datagram is shortened (or, past shortening, dropped and counted) and what follows
still arrives; the engine process's records go out too; the server limit holds when
two adds come at once."""

from __future__ import annotations

import logging

import gevent
import pytest
from rsyslog_peer import Rsyslog
from support_osdp import wait_until
from test_remote_syslog import API, GRANTED, add_ca, add_server, connected, pki, rsyslog, state

from doorctl.core.engine.process import Unavailable

pytestmark = pytest.mark.peer
__all__ = ["pki", "rsyslog"]  # the module's fixtures, shared with test_remote_syslog
log = logging.getLogger("doorctl.tests.remote_syslog")
UDP_MOST = 2048  # RFC 5426: the size every receiver should take


def line_with(peer: Rsyslog, protocol: str, text: str) -> str:
    """The line that arrived with `text`, as sent (rsyslog writes a newline as #012)."""
    wait_until(lambda: any(text in x for x in peer.received(protocol)), what=text)
    line = next(x for x in peer.received(protocol) if text in x)
    return line.replace("#012", "\n")


def test_a_long_system_log_message_arrives_shortened_and_the_next_one_too(admin_api, rsyslog):
    server = add_server(admin_api, rsyslog, "udp")
    connected(admin_api, server)
    log.warning("long one starts " + "é" * 50_000 + " long one ends")  # 100 kB in UTF-8
    log.warning("the one after the long one")
    arrived_after = line_with(rsyslog, "udp", "the one after the long one")
    assert "doorctl.tests.remote_syslog" in arrived_after
    line = line_with(rsyslog, "udp", "long one starts")
    assert len(line.encode()) <= UDP_MOST
    assert "\n[...]\n" in line and line.endswith("é long one ends")
    assert state(admin_api, server)["dropped"] == 0


def test_a_message_too_long_for_a_datagram_is_dropped_and_counted(admin_api, doorctl, rsyslog):
    server = add_server(admin_api, rsyslog, "udp")
    connected(admin_api, server)
    doorctl.bus.publish(GRANTED, {"door": "1"}, {"fill": "x" * 70_000})  # over 65,507 bytes
    after = doorctl.bus.publish(GRANTED, {"door": "1"}, {"n": 1})
    line_with(rsyslog, "udp", f'id="{after.id}"')
    status = state(admin_api, server)
    assert (status["state"], status["dropped"], status["queued"]) == ("connected", 1, 0)


@pytest.mark.engine_apart
def test_a_record_of_the_engine_process_arrives(admin_api, doorctl, rsyslog):
    server = add_server(admin_api, rsyslog, "tcp")
    connected(admin_api, server)
    with pytest.raises(Exception) as raised:  # the engine logs the failed call, traceback and all
        doorctl.engine.call("no_such_service", "anything")
    assert not isinstance(raised.value, Unavailable)
    line = line_with(rsyslog, "tcp", "engine call failed")
    assert "<131>1 " in line  # local0 (16) * 8 + err (3)
    assert "AttributeError: the engine has no no_such_service.anything" in line


def test_two_adds_at_once_at_seven_servers_make_eight(admin_api):
    for n in range(7):
        body = {"host": f"192.0.2.{n + 1}", "protocol": "udp"}
        assert admin_api.post(API, json=body).status_code == 201
    adds = [
        gevent.spawn(admin_api.post, API, json={"host": f"198.51.100.{n}", "protocol": "udp"})
        for n in (1, 2)
    ]
    gevent.joinall(adds, raise_error=True)
    codes = sorted(add.value.status_code for add in adds)
    assert codes == [201, 409]
    refused = next(add.value for add in adds if add.value.status_code == 409)
    assert refused.json["error"] == "At most 8 servers can be added."
    assert len(admin_api.get(API).json) == 8


def test_a_reconnection_over_tls_reuses_the_sender_s_context(admin_api, doorctl, tmp_path, pki):
    """The CA bundle is parsed once per sender, not on the hub at every reconnection."""
    peer = Rsyslog(tmp_path / "rsyslog", pki).start()
    try:
        add_ca(admin_api, "syslog-ca", pki)
        server = add_server(admin_api, peer, "tls", ca_certificate="syslog-ca")
        connected(admin_api, server)
        context = doorctl.remote_syslog.senders[server["id"]]._context
        peer.stop()
        wait_until(lambda: state(admin_api, server)["state"] == "connecting", what="noticed")
        peer = Rsyslog(tmp_path / "rsyslog", pki, dict(peer.ports)).start()
        event = doorctl.bus.publish(GRANTED, {"door": "1"}, {"n": 1})
        line_with(peer, "tls", f'id="{event.id}"')
        assert context is not None
        assert doorctl.remote_syslog.senders[server["id"]]._context is context
    finally:
        peer.stop()


def test_the_port_is_a_whole_number_as_every_section_takes_it(admin_api):
    """Like the MQTT broker's and the proxy's port: a number given as text is taken,
    true/false and fractions are refused with the rule."""
    body = {"host": "127.0.0.1", "protocol": "tls"}
    added = admin_api.post(API, json={**body, "port": "6515"})
    assert (added.status_code, added.json.get("port")) == (201, 6515)
    for bad in (True, 514.5, "five", [514]):
        response = admin_api.post(API, json={**body, "port": bad})
        assert response.status_code == 400, bad
        assert response.json["fields"] == {"port": "Enter a port from 1 to 65535."}, bad
    assert len(admin_api.get(API).json) == 1
