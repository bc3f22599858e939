"""Network trace (Logs > Network trace): tcpdump records the unit's traffic for a while,
one trace at a time, administrators only; the file is a pcap holding what was sent."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import urllib.request
from pathlib import Path

import gevent
import pytest
from support import ROOT_PASSWORD, basic, csrf_token, require, start_set_up
from support_osdp import wait_until

from doorctl.core.errors import Conflict
from doorctl.core.logs.network_trace import FILE, TOPIC

TRACE = "/api/v1/logs/network-trace"
TWO_HOURS = {"duration": 120, "unit": "minutes", "interface": "lo"}


@pytest.fixture
def tcpdump() -> str:
    return require("tcpdump", "tcpdump (Debian package tcpdump)")


@pytest.fixture
def trace(doorctl, tcpdump):
    """The appliance's network trace, run with the machine's tcpdump."""
    doorctl.network_trace.tcpdump = tcpdump
    return doorctl.network_trace


def _fetch(url: str, auth=None) -> bytes:
    headers = basic(*auth) if auth else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as got:
        return got.read()


def _traced(server, tcpdump: str, tmp_path, name: str) -> bytes:
    """The trace's file, as `tcpdump -r` reads it back (text of each packet)."""
    pcap = _fetch(server.url + TRACE + "/file", ("root", ROOT_PASSWORD))
    assert pcap[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")  # a pcap file's magic
    path = tmp_path / name
    path.write_bytes(pcap)
    read = subprocess.run([tcpdump, "-r", str(path), "-n", "-A"], capture_output=True, timeout=30)
    assert read.returncode == 0, read.stderr
    return read.stdout


def test_a_trace_of_loopback_holds_the_requests_made_meanwhile(tmp_path, tcpdump):
    server = start_set_up(tmp_path / "served")
    try:
        started = server.call("POST", TRACE, {"duration": 2, "unit": "seconds", "interface": "lo"})
        assert started["state"] == "running" and started["interface"] == "lo"
        probe = f"/api/v1/device?probe={secrets.token_hex(8)}"
        server.call("GET", probe)
        done = wait_until(
            lambda: (s := server.call("GET", TRACE))["state"] == "done" and s, 15, "trace done"
        )
        assert done["bytes"] > 0 and done["seconds"] == 2
        assert f"GET {probe} HTTP/1.1".encode() in _traced(server, tcpdump, tmp_path, "1.pcap")
        # stopped at once after a request: what libpcap held is in the file too
        server.call("POST", TRACE, {"duration": 10, "unit": "minutes", "interface": "lo"})
        probe = f"/api/v1/device?probe={secrets.token_hex(8)}"
        server.call("GET", probe)
        stop = urllib.request.Request(
            server.url + TRACE, method="DELETE", headers=basic("root", ROOT_PASSWORD)
        )
        with urllib.request.urlopen(stop, timeout=10) as answer:
            assert answer.status == 204
        assert f"GET {probe} HTTP/1.1".encode() in _traced(server, tcpdump, tmp_path, "2.pcap")
    finally:
        server.stop()


def test_one_trace_at_a_time(admin_api, trace):
    first = admin_api.post(TRACE, {"duration": 60, "interface": "lo"})
    assert first.status_code == 202 and first.headers["Location"] == TRACE
    second = admin_api.post(TRACE, {"duration": 5, "interface": "any"})
    assert second.status_code == 409
    assert second.json["error"] == (
        "A network trace is running already: stop it or wait for its end."
    )
    assert admin_api.get(TRACE + "/file").status_code == 409
    assert admin_api.delete(TRACE).status_code == 204
    assert admin_api.get(TRACE).json["state"] == "stopped"
    assert admin_api.delete(TRACE).status_code == 409
    with admin_api.get(TRACE + "/file") as answer:
        assert answer.status_code == 200 and answer.mimetype == "application/vnd.tcpdump.pcap"


def test_a_second_trace_from_the_page_is_refused_with_its_reason(logged_in, trace):
    token = csrf_token(logged_in, "/logs/network-trace")
    form = {"duration": "60", "unit": "seconds", "interface": "lo", "csrf_token": token}
    assert logged_in.post("/logs/network-trace", data=form).status_code == 303
    again = logged_in.post("/logs/network-trace", data=form)
    assert again.status_code == 409
    assert "A network trace is running already" in again.get_data(as_text=True)
    page = logged_in.get("/logs/network-trace").get_data(as_text=True)
    assert 'data-state="running"' in page and 'id="trace-stop"' in page
    # any page of the login that started it shows its browser is still there
    before = trace.trace["asked"]
    logged_in.get("/status")
    assert trace.trace["asked"] > before
    assert "might contain sensitive information" in page
    assert logged_in.post("/logs/network-trace/stop", data={"csrf_token": token}).status_code == 303
    page = logged_in.get("/logs/network-trace").get_data(as_text=True)
    assert 'id="trace-download"' in page


# (body, the field named, words of its message)
BAD = (
    ({"duration": 0, "interface": "lo"}, "duration", "from 1 second to 30 minutes"),
    (TWO_HOURS, "duration", "from 1 second to 30 minutes"),
    ({"duration": 1801, "unit": "seconds"}, "duration", "from 1 second to 30 minutes"),
    ({"duration": "30"}, "duration", "Enter a whole number"),
    ({"duration": 2.5}, "duration", "Enter a whole number"),
    ({"duration": 30, "unit": "hours"}, "unit", "Choose one of: seconds, minutes."),
    ({"duration": 30, "unit": {}}, "unit", "Choose one of: seconds, minutes."),
    ({"duration": 30, "interface": ["lo"]}, "interface", "Choose one of: any, "),
    ({"duration": 30, "interface": "nosuch0"}, "interface", "Choose one of: any, "),
    ({"duration": 30, "filter": "port 80"}, "filter", "There is no such field"),
)


def test_a_bad_trace_is_refused_by_field_and_starts_nothing(admin_api, trace):
    for body, field, message in BAD:
        answer = admin_api.post(TRACE, body)
        assert answer.status_code == 400, body
        assert list(answer.json["fields"]) == [field], body
        assert message in answer.json["fields"][field], body
    assert admin_api.get(TRACE).json == {"state": "none"}


def test_the_page_refuses_a_bad_duration_next_to_its_field(logged_in, trace):
    token = csrf_token(logged_in, "/logs/network-trace")
    for duration, unit in (("0", "seconds"), ("120", "minutes"), ("soon", "seconds")):
        form = {"duration": duration, "unit": unit, "interface": "lo", "csrf_token": token}
        answer = logged_in.post("/logs/network-trace", data=form)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422
        assert 'id="duration-error"' in page and f'value="{duration}"' in page
    assert trace.status() == {"state": "none"}


def test_only_an_administrator_traces(operator_api, viewer_api, trace):
    for api in (operator_api, viewer_api):
        assert api.post(TRACE, {"duration": 5}).status_code == 403
        assert api.get(TRACE).status_code == 403
        assert api.get(TRACE + "/file").status_code == 403
    assert trace.status() == {"state": "none"}


def test_a_trace_whose_browser_was_closed_ends_and_its_file_goes(trace):
    trace.lease_seconds = 0.3
    trace.begin(60, "seconds", "lo", {"user": "root"}, watcher="a login session")
    assert (trace.folder / FILE).exists()
    wait_until(lambda: trace.status()["state"] == "abandoned", 10, "trace abandoned")
    assert not (trace.folder / FILE).exists()


def test_doorctl_stopping_ends_the_trace_and_removes_its_file(app, trace):
    trace.begin(60, "seconds", "lo", {"user": "root"})
    process = trace.trace["process"]
    app.extensions["doorctl"].stop()
    assert process.poll() is not None
    assert not trace.folder.exists()
    app.extensions["doorctl"].start()  # the fixture stops it again


def test_a_trace_the_api_stopped_is_kept_until_its_time(admin_api, trace):
    trace.keep_seconds = 0.3
    assert admin_api.post(TRACE, {"duration": 30, "interface": "lo"}).status_code == 202
    admin_api.delete(TRACE)
    with admin_api.get(TRACE + "/file") as answer:
        assert answer.status_code == 200
    wait_until(lambda: not (trace.folder / FILE).exists(), 10, "file expired")
    assert admin_api.get(TRACE + "/file").status_code == 404
    assert admin_api.get(TRACE).json == {"state": "none"}


FAR = {"REMOTE_ADDR": "192.0.2.7"}  # a client that is not the test's loopback
NEAR = {"REMOTE_ADDR": "192.0.2.8"}


def _audited(api) -> list[tuple]:
    """The Audit log's network trace entries, oldest first: who, where, how, what."""
    entries = api.get("/api/v1/logs/audit").json["entries"]
    found = [e for e in reversed(entries) if e["topic"] == TOPIC]
    return [(e["user"], e["address"], e["via"], e["what"]) for e in found]


def test_who_traced_from_the_page_and_the_api_is_in_the_audit_log(logged_in, admin_api, trace):
    token = csrf_token(logged_in, "/logs/network-trace")
    form = {"duration": "60", "unit": "seconds", "interface": "lo", "csrf_token": token}
    assert logged_in.post("/logs/network-trace", data=form, environ_base=FAR).status_code == 303
    stop = logged_in.post("/logs/network-trace/stop", data={"csrf_token": token}, environ_base=FAR)
    assert stop.status_code == 303
    body = {"duration": 30, "interface": "lo"}
    assert admin_api.post(TRACE, body, environ_base=NEAR).status_code == 202
    assert admin_api.delete(TRACE, environ_base=NEAR).status_code == 204
    audited = _audited(admin_api)
    assert [entry[:3] for entry in audited] == [
        ("root", "192.0.2.7", "web"),
        ("root", "192.0.2.7", "web"),
        ("root", "192.0.2.8", "api"),
        ("root", "192.0.2.8", "api"),
    ]
    assert audited[0][3] == "root started a network trace of lo for 60 s"
    assert audited[3][3].startswith("root stopped the network trace of lo after ")
    page = logged_in.get("/logs/audit").get_data(as_text=True)
    assert "root started a network trace of lo for 30 s" in page and "192.0.2.8" in page
    mine = admin_api.get("/api/v1/logs/audit", query_string={"user": "root"}).json["entries"]
    assert sum(e["topic"] == TOPIC for e in mine) == 4


def test_doorctl_stopping_a_trace_names_no_user(app, admin_api, trace):
    assert admin_api.post(TRACE, {"duration": 60, "interface": "lo"}).status_code == 202
    app.extensions["doorctl"].stop()
    app.extensions["doorctl"].start()  # the fixture stops it again
    user, address, _via, what = _audited(admin_api)[-1]
    assert (user, address) == (None, None)
    assert what.startswith("The network trace of lo ended after ")
    assert what.endswith(" s: doorctl stopped")


def _tcpdumps(parent: int) -> int:
    """How many tcpdump processes `parent` has."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
        except (OSError, IndexError):
            continue
        count += name == "tcpdump" and int(fields[1].split()[1]) == parent
    return count


def _begin(trace) -> str:
    try:
        return trace.begin(60, "seconds", "lo", {"user": "root"})["state"]
    except Conflict as refused:
        return refused.message


def test_two_traces_started_at_once_start_one_tcpdump(trace):
    # the first waits for tcpdump to listen; meanwhile the second asks
    starts = [gevent.spawn(_begin, trace) for _n in range(2)]
    gevent.joinall(starts, raise_error=True)
    assert sorted(start.value for start in starts) == [
        "A network trace is running already: stop it or wait for its end.",
        "running",
    ]
    assert _tcpdumps(os.getpid()) == 1
    assert (trace.folder / FILE).exists()
    trace.end({"user": "root"})
    assert _tcpdumps(os.getpid()) == 0


def test_a_trace_stops_when_its_file_is_full_and_keeps_its_first_traffic(
    logged_in, admin_api, trace
):
    trace.max_file_mb = 1
    assert admin_api.post(TRACE, {"duration": 60, "interface": "lo"}).status_code == 202
    path = trace.folder / FILE
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"first datagram", ("127.0.0.1", 9))
        wait_until(lambda: path.stat().st_size > 24, 10, "first datagram written")

        def full() -> bool:
            """A few more datagrams (a busy tcpdump may drop some), then: is it full?"""
            for _n in range(4):
                sender.sendto(b"x" * 60_000, ("127.0.0.1", 9))
            return trace.status()["state"] == "full"

        wait_until(full, 30, "trace full")
    assert [path.name for path in trace.folder.iterdir()] == [FILE]
    with admin_api.get(TRACE + "/file") as answer:
        pcap = answer.data
    assert answer.status_code == 200 and 1_000_000 <= len(pcap) < 1_000_000 + 70_000
    assert b"first datagram" in pcap
    what = _audited(admin_api)[-1][3]
    assert what.endswith(" s: its file was full (1 MB)")
    page = logged_in.get("/logs/network-trace").get_data(as_text=True)
    assert "The trace stops at 1 MB" in page and 'id="trace-download"' in page
