"""Remote system log against a real rsyslogd: each format over UDP, TCP and TLS arrives
exactly as RFC 3164 / RFC 5424 say; a wrong CA is refused in words; a restart of the
server loses nothing within the buffer, and what the buffer could not hold is counted."""

from __future__ import annotations

import datetime
import logging
import os
import socket

import pytest
from brokers import Pki
from rsyslog_peer import Rsyslog
from support import csrf_token
from support_osdp import wait_until

pytestmark = pytest.mark.peer
API = "/api/v1/logs/remote-syslog/servers"
GRANTED = "tns1:AccessControl/AccessGranted/Credential"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory, pki):
    server = Rsyslog(tmp_path_factory.mktemp("rsyslog"), pki).start()
    yield server
    server.stop()


def add_ca(api, cert_id: str, pki: Pki) -> None:
    response = api.post("/api/v1/certificates", json={"id": cert_id, "data": pki.ca.read_text()})
    assert response.status_code == 201, response.json


def add_server(api, rsyslog: Rsyslog, protocol: str, **fields) -> dict:
    host = "localhost" if protocol == "tls" else "127.0.0.1"
    body = {"host": host, "protocol": protocol, "port": rsyslog.ports[protocol], **fields}
    response = api.post(API, json=body)
    assert response.status_code == 201, response.json
    return response.json


def state(api, server: dict) -> dict:
    return api.get(f"{API}/{server['id']}").json


def connected(api, server: dict) -> None:
    wait_until(lambda: state(api, server)["state"] == "connected", what="connected")


def arrived(rsyslog: Rsyslog, protocol: str, line: str) -> None:
    wait_until(lambda: line in rsyslog.received(protocol), what=line)


def stamp_5424(when: float) -> str:
    local = datetime.datetime.fromtimestamp(when).astimezone()
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%dT%H:%M:%S.%f}{offset[:3]}:{offset[3:]}"


def stamp_3164(when: float) -> str:
    local = datetime.datetime.fromtimestamp(when).astimezone()
    return f"{local:%b} {local.day:2d} {local:%H:%M:%S}"


@pytest.mark.parametrize("protocol", ["udp", "tcp", "tls"])
def test_each_format_arrives_exactly(admin_api, doorctl, rsyslog, pki, protocol):
    add_ca(admin_api, "syslog-ca", pki)
    ca = "syslog-ca" if protocol == "tls" else ""
    servers = [
        add_server(admin_api, rsyslog, protocol, format=f, ca_certificate=ca)
        for f in ("rfc5424", "rfc3164")
    ]
    for server in servers:
        connected(admin_api, server)
    event = doorctl.bus.publish(GRANTED, {"door": "1"}, {"credential": 'a"b]c\\d', "n": 7})
    host, pid = socket.gethostname(), os.getpid()
    sd = (
        f'[event@32473 topic="{GRANTED}" id="{event.id}"][source@32473 door="1"]'
        '[data@32473 credential="a\\"b\\]c\\\\d" n="7"]'
    )
    # auth (4) * 8 + info (6) = 38; the MSGID of access decisions is "access"
    arrived(
        rsyslog,
        protocol,
        f"<38>1 {stamp_5424(event.time)} {host} doorctl {pid} access {sd} {GRANTED}",
    )
    words = (
        f'event.topic={GRANTED} event.id={event.id} source.door=1 data.credential=a"b]c\\d data.n=7'
    )
    arrived(
        rsyslog, protocol, f"<38>{stamp_3164(event.time)} {host} doorctl[{pid}]: {GRANTED} {words}"
    )


def test_system_log_records_go_out_at_or_above_the_severity(admin_api, rsyslog):
    add_server(admin_api, rsyslog, "tcp", severity="warning")
    logging.getLogger("doorctl.tests").info("not sent: below the threshold")
    record_time = [0.0]

    class Keep(logging.Handler):
        def emit(self, record):
            record_time[0] = record.created

    logger = logging.getLogger("doorctl.tests")
    keep = Keep()
    logger.addHandler(keep)
    try:
        logger.warning("the disk is %s", "full")
    finally:
        logger.removeHandler(keep)
    # local0 (16) * 8 + warning (4) = 132
    line = (
        f"<132>1 {stamp_5424(record_time[0])} {socket.gethostname()} doorctl {os.getpid()} log "
        '[log@32473 logger="doorctl.tests" level="WARNING"] the disk is full'
    )
    arrived(rsyslog, "tcp", line)
    assert not any("not sent" in line for line in rsyslog.received("tcp"))


def test_a_server_whose_certificate_the_chosen_ca_did_not_issue_is_refused(
    admin_api, logged_in, rsyslog, tmp_path
):
    add_ca(admin_api, "other-ca", Pki.make(tmp_path / "other"))
    server = add_server(admin_api, rsyslog, "tls", ca_certificate="other-ca")
    refused = "TLS refused: certificate not trusted"
    wait_until(lambda: refused in state(admin_api, server)["reason"], what="refused")
    assert state(admin_api, server)["state"] == "connecting"
    page = logged_in.get("/logs/remote-syslog").get_data(as_text=True)
    assert refused in page
    live = logged_in.get("/live?panel=remote-syslog", buffered=False)
    assert refused in next(iter(live.response)).decode()  # the page's live panel
    live.close()


def test_a_server_restart_loses_nothing_within_the_buffer(admin_api, doorctl, tmp_path, pki):
    peer = Rsyslog(tmp_path / "rsyslog", pki).start()
    try:
        server = add_server(admin_api, peer, "tcp")
        connected(admin_api, server)
        peer.stop()
        wait_until(lambda: state(admin_api, server)["state"] == "connecting", what="noticed")
        events = [doorctl.bus.publish(GRANTED, {"door": "1"}, {"n": n}) for n in range(5)]
        assert state(admin_api, server)["queued"] == 5
        peer = Rsyslog(tmp_path / "rsyslog", pki, dict(peer.ports)).start()
        for event in events:
            wait_until(
                lambda e=event: any(f'id="{e.id}"' in line for line in peer.received("tcp")),
                timeout=30,
                what=f"event {event.id}",
            )
        status = state(admin_api, server)
        assert (status["queued"], status["dropped"]) == (0, 0)
    finally:
        peer.stop()


def test_beyond_the_buffer_the_dropped_are_counted_and_told(admin_api, doorctl, tmp_path, pki):
    doorctl.remote_syslog.buffer_limit = 3
    peer = Rsyslog(tmp_path / "rsyslog", pki).start()
    try:
        server = add_server(admin_api, peer, "tcp")
        connected(admin_api, server)
        peer.stop()
        wait_until(lambda: state(admin_api, server)["state"] == "connecting", what="noticed")
        events = [doorctl.bus.publish(GRANTED, {"door": "1"}, {"n": n}) for n in range(5)]
        status = state(admin_api, server)
        assert (status["queued"], status["dropped"]) == (3, 2)
        peer = Rsyslog(tmp_path / "rsyslog", pki, dict(peer.ports)).start()
        notice = "2 messages were dropped: the buffer of 3 was full"
        wait_until(lambda: any(notice in line for line in peer.received("tcp")), timeout=30)
        kept = [e for e in events[2:]]
        for event in kept:
            wait_until(lambda e=event: any(f'id="{e.id}"' in x for x in peer.received("tcp")))
        assert not any(f'id="{events[0].id}"' in x for x in peer.received("tcp"))
        assert state(admin_api, server)["dropped"] == 2
    finally:
        peer.stop()


BAD = {"host": "syslog server", "port": 0, "format": "rfc9999", "ca_certificate": "no-such"}


def test_bad_input_is_refused_per_field_and_changes_nothing(admin_api, logged_in, doorctl):
    response = admin_api.post(API, json={**BAD, "protocol": "tls"})
    assert response.status_code == 400
    fields = response.json["fields"]
    assert set(fields) == {"host", "port", "format", "ca_certificate"}
    assert "without spaces" in fields["host"]
    assert fields["port"] == "Enter a port from 1 to 65535."
    assert fields["format"] == "Choose one of: rfc3164, rfc5424."
    assert fields["ca_certificate"] == "There is no certificate no-such in the store."
    assert "Host: " in response.json["error"]
    assert admin_api.get(API).json == []
    form = {**BAD, "protocol": "tls", "severity": "info", "csrf_token": csrf_token(logged_in)}
    page = logged_in.post("/logs/remote-syslog/servers", data={**form, "port": "0"})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    for message in fields.values():
        assert message in text
    assert 'value="syslog server"' in text  # what was typed stays
    assert admin_api.get(API).json == []


def test_a_bad_change_leaves_the_server_as_it_was(admin_api):
    added = admin_api.post(API, json={"host": "127.0.0.1", "protocol": "tls"}).json
    assert (added["port"], added["format"], added["severity"]) == (6514, "rfc5424", "info")
    response = admin_api.patch(f"{API}/{added['id']}", json={"host": "a b", "port": 70000})
    assert response.status_code == 400
    assert set(response.json["fields"]) == {"host", "port"}
    assert admin_api.get(f"{API}/{added['id']}").json["host"] == "127.0.0.1"
    assert admin_api.delete(f"{API}/{added['id']}").status_code == 204
    assert admin_api.get(API).json == []


def test_messages_carry_the_hostname_set_under_network(admin_api, doorctl, rsyslog):
    server = add_server(admin_api, rsyslog, "tcp")
    connected(admin_api, server)
    doorctl.settings.update("network_ip", {"hostname_automatic": False, "hostname": "door-7"})
    event = doorctl.bus.publish("tns1:Device/User/LoginFailed", {"user": "eve"}, {})
    # auth (4) * 8 + warning (4) = 36
    line = (
        f"<36>1 {stamp_5424(event.time)} door-7 doorctl {os.getpid()} login "
        f'[event@32473 topic="tns1:Device/User/LoginFailed" id="{event.id}"]'
        '[source@32473 user="eve"] tns1:Device/User/LoginFailed'
    )
    arrived(rsyslog, "tcp", line)


def test_the_server_name_is_verified(admin_api, rsyslog, pki):
    add_ca(admin_api, "syslog-ca", pki)
    body = {"host": "127.0.0.1", "protocol": "tls", "port": rsyslog.ports["tls"]}
    server = admin_api.post(API, json={**body, "ca_certificate": "syslog-ca"}).json
    words = "TLS refused: the server's certificate is not for 127.0.0.1."
    wait_until(lambda: state(admin_api, server)["reason"] == words, what=words)


def test_a_chosen_ca_stays_in_the_store(admin_api, rsyslog, pki):
    add_ca(admin_api, "syslog-ca", pki)
    add_server(admin_api, rsyslog, "tls", ca_certificate="syslog-ca")
    response = admin_api.delete("/api/v1/certificates/syslog-ca")
    assert response.status_code == 409
    assert "Remote system log" in response.json["error"]


def test_a_server_that_reads_nothing_holds_up_neither_the_hub_nor_the_others(
    admin_api, doorctl, rsyslog
):
    doorctl.remote_syslog.buffer_limit = 100
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.bind(("127.0.0.1", 0))
    stalled.listen()  # takes the connection, never reads from it
    try:
        slow = add_server(admin_api, rsyslog, "tcp", port=stalled.getsockname()[1])
        good = add_server(admin_api, rsyslog, "tcp")
        connected(admin_api, slow)
        connected(admin_api, good)
        filler = "x" * 2000
        events = [
            doorctl.bus.publish(GRANTED, {"door": "1"}, {"fill": filler}) for _ in range(4000)
        ]
        last = f'id="{events[-1].id}"'
        wait_until(lambda: any(last in line for line in rsyslog.received("tcp")), timeout=30)
        # the stalled one's buffer (100) and the kernel's (a few MB) are full: it drops
        assert state(admin_api, slow)["dropped"] > 0
    finally:
        stalled.close()


def test_a_server_is_added_and_removed_from_the_page(logged_in, admin_api):
    token = csrf_token(logged_in, "/logs/remote-syslog")
    form = {"host": "localhost", "format": "rfc3164", "protocol": "tcp", "port": ""}
    form |= {"severity": "notice", "ca_certificate": "", "csrf_token": token}
    response = logged_in.post("/logs/remote-syslog/servers", data=form)
    assert response.status_code == 303
    (server,) = admin_api.get(API).json
    assert (server["port"], server["format"], server["severity"]) == (514, "rfc3164", "notice")
    page = logged_in.get("/logs/remote-syslog").get_data(as_text=True)
    assert "Server localhost added." in page
    assert "localhost:514" in page
    response = logged_in.post(
        f"/logs/remote-syslog/servers/{server['id']}/delete", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert admin_api.get(API).json == []


def test_a_changed_server_keeps_what_waits_for_it(admin_api, doorctl):
    server = admin_api.post(API, json={"host": "127.0.0.1", "protocol": "tcp", "port": 1}).json
    refused = "Connection refused: nothing listens on port 1."
    wait_until(lambda: state(admin_api, server)["reason"] == refused, what=refused)
    for n in range(3):
        doorctl.bus.publish(GRANTED, {"door": "1"}, {"n": n})
    changed = admin_api.patch(f"{API}/{server['id']}", json={"severity": "debug"}).json
    # the three, and the change itself (a configuration event)
    assert (changed["severity"], changed["queued"], changed["dropped"]) == ("debug", 4, 0)
