"""Date and time with real chrony: a chronyd serving NTP on loopback and a chronyd client
(both -x: the machine's clock is never touched) whose sources doorctl writes; the
Status page's Time sync card shows what the client's chronyd says."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from support import csrf_token
from support_chrony import DEADLINE, ntp_client, ntp_server

from doorctl.app import create_app

FIELD_ERROR = r'.*?role="alert">(?:<svg.*?</svg>)?(.*?)</small>'
SYNCED = re.compile(r'id="time-sync-state" data-synchronized="true"')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One NTP server for the module's tests: (its chronyd, its UDP port)."""
    chronyd, port = ntp_server(tmp_path_factory.mktemp("ntp-server"))
    yield chronyd, port
    chronyd.stop()


@pytest.fixture
def client_chronyd(tmp_path):
    chronyd, sources = ntp_client(tmp_path / "ntp-client")
    yield chronyd, sources
    chronyd.stop()


@pytest.fixture
def timedatectl(tmp_path) -> Path:
    """A stand-in for timedatectl that writes down what it was asked."""
    script = tmp_path / "timedatectl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "timedatectl.log"}\n')
    script.chmod(0o755)
    return script


@pytest.fixture
def app(data_dir, client_chronyd, timedatectl):
    """The app with its chrony pointed at the test's client chronyd."""
    chronyd, sources = client_chronyd
    app = create_app(
        {
            "DATA_DIR": str(data_dir),
            "HARDWARE": "sim",
            "TESTING": True,
            "ENGINE_PROCESS": False,
            "CHRONY_SOCKET": chronyd.socket,
            "CHRONY_SOURCES": str(sources),
            "CHRONY_SERVER_OPTIONS": "iburst minpoll -6 maxpoll -6",
            "TIMEDATECTL": str(timedatectl),
        }
    )
    doorctl = app.extensions["doorctl"]
    doorctl.start()
    yield app
    doorctl.stop()
    doorctl.store.close()


def wait_status(admin_api, done, what: str) -> dict:
    """Poll /api/v1/date-time/status until done(status); fail naming what was awaited."""
    deadline = time.monotonic() + DEADLINE
    while True:
        status = admin_api.get("/api/v1/date-time/status").get_json()
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {DEADLINE} s: {status}")
        time.sleep(0.05)


def use_servers(admin_api, *servers: dict) -> dict:
    answer = admin_api.put(
        "/api/v1/date-time", json={"synchronization": "ntp", "ntp_servers": list(servers)}
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_the_card_shows_the_clock_in_sync_with_the_ntp_server(
    admin_api, logged_in, server, client_chronyd
):
    chronyd, sources = client_chronyd
    _, port = server
    record = use_servers(admin_api, {"address": "127.0.0.1", "port": port})
    assert record["ntp_servers"] == [{"address": "127.0.0.1", "port": port, "nts": False}]
    assert sources.read_text() == f"server 127.0.0.1 iburst minpoll -6 maxpoll -6 port {port}\n"
    status = wait_status(admin_api, lambda s: s["synchronized"], "sync")
    assert status["server"] == "127.0.0.1" and status["reason"] is None
    assert abs(status["offset"]) < 0.1 and status["next_sync"] is not None
    assert ",127.0.0.1," in chronyd.chronyc_run("sources").stdout  # the client's own word
    page = logged_in.get("/status").get_data(as_text=True)
    assert SYNCED.search(page) and "In sync" in page
    assert 'id="time-sync-server">127.0.0.1<' in page
    assert 'href="/date-time"' in page  # NTP settings


def test_a_server_that_does_not_answer_or_resolve_shows_not_in_sync_with_the_reason(
    admin_api, doorctl, logged_in, server, client_chronyd
):
    chronyd, sources = client_chronyd
    _, port = server
    use_servers(admin_api, {"address": "127.0.0.1", "port": port})
    wait_status(admin_api, lambda s: s["synchronized"], "sync")
    use_servers(admin_api, {"address": "127.0.0.2", "port": port})  # nothing listens there
    assert "server 127.0.0.2 " in sources.read_text()
    lost = wait_status(admin_api, lambda s: not s["synchronized"], "lost sync")
    assert lost["reason"] in ("No answer from 127.0.0.2.", "chronyd has not taken 127.0.0.2 yet.")
    wait_status(admin_api, lambda s: s["reason"] == "No answer from 127.0.0.2.", "no answer")
    page = logged_in.get("/status").get_data(as_text=True)
    assert "Not in sync" in page and "No answer from 127.0.0.2." in page
    events = admin_api.get("/api/v1/events?kind=time").get_json()
    assert [e["data"]["state"] for e in events["events"]][:1] == ["lost"]
    use_servers(admin_api, {"address": "no-such-host.invalid"})
    unresolved = "The name no-such-host.invalid does not resolve."
    wait_status(admin_api, lambda s: s["reason"] == unresolved, "the name refused")
    assert ",127.0.0.2," not in chronyd.chronyc_run("sources").stdout
    use_servers(admin_api, {"address": "127.0.0.1", "port": port})
    wait_status(admin_api, lambda s: s["synchronized"], "sync regained")
    events = admin_api.get("/api/v1/events?kind=time").get_json()["events"]
    assert [e["data"]["state"] for e in events][:2] == ["synchronized", "lost"]
    log = logged_in.get("/logs/events?kind=time").get_data(as_text=True)
    assert "Time in sync again, with 127.0.0.1" in log
    assert "Time sync lost: No answer from 127.0.0.2." in log


def test_an_nts_server_is_written_as_chrony_takes_it(admin_api, doorctl, client_chronyd):
    chronyd, sources = client_chronyd
    use_servers(
        admin_api,
        {"address": "127.0.0.3", "port": 4460, "nts": True},
        {"address": "127.0.0.4", "nts": True},
    )
    assert sources.read_text().splitlines() == [
        "server 127.0.0.3 iburst minpoll -6 maxpoll -6 ntsport 4460 nts",
        "server 127.0.0.4 iburst minpoll -6 maxpoll -6 nts",
    ]
    listed = chronyd.chronyc_run("sources").stdout
    assert ",127.0.0.3," in listed and ",127.0.0.4," in listed  # chronyd took both lines
    assert admin_api.get("/api/v1/date-time/status").get_json()["problem"] is None


def test_manual_date_and_time_is_set_through_chronyd_and_the_zone_through_timedatectl(
    admin_api, doorctl, client_chronyd, tmp_path
):
    chronyd, sources = client_chronyd
    answer = admin_api.put(
        "/api/v1/date-time",
        json={
            "synchronization": "manual",
            "manual_time": "2030-01-02 03:04:05",
            "time_zone": "Europe/Stockholm",
        },
    )
    assert answer.status_code == 200, answer.get_json()
    # chronyd took the time as typed, in the device's zone (02:04:05 UTC); -x kept the
    # machine's clock as it was
    manual = chronyd.chronyc_run("manual list").stdout.splitlines()
    assert len(manual) == 1 and manual[0].split(",")[1] in ("2030-01-02 02:04:0" + s for s in "45")
    assert sources.read_text() == ""
    assert (tmp_path / "timedatectl.log").read_text() == "set-timezone Europe/Stockholm\n"
    assert doorctl.access.tz.key == "Europe/Stockholm"  # the schedules' zone
    status = admin_api.get("/api/v1/date-time/status").get_json()
    assert status["reason"] == "The date and time are set by hand."
    admin_api.put("/api/v1/date-time", json={"time_zone": "Europe/Stockholm"})
    assert len(chronyd.chronyc_run("manual list").stdout.splitlines()) == 1  # set once
    # back to manual later: a time for now must come with it, never the old one
    admin_api.put("/api/v1/date-time", json={"synchronization": "dhcp"})
    assert admin_api.get("/api/v1/date-time").get_json()["manual_time"] == ""
    again = admin_api.put("/api/v1/date-time", json={"synchronization": "manual"})
    assert again.status_code == 400 and "manual_time" in again.get_json()["fields"]
    assert len(chronyd.chronyc_run("manual list").stdout.splitlines()) == 1


BAD = [
    ({"time_zone": "Mars/Olympus"}, "time_zone", "Choose a time zone from the list"),
    (
        {"synchronization": "ntp", "ntp_servers": [{"address": "ntp example.com"}]},
        "ntp_servers",
        "NTP server 1: Enter a host name or an IP address, without spaces",
    ),
    (
        {"synchronization": "ntp", "ntp_servers": []},
        "ntp_servers",
        "Enter at least one NTP server, or choose another option.",
    ),
    (
        {"synchronization": "ntp", "ntp_servers": [{"address": "ntp.example.com", "port": 0}]},
        "ntp_servers",
        "NTP server 1: Enter a port from 1 to 65535 (NTP's is 123).",
    ),
    (
        {"synchronization": "ntp", "ntp_servers": [{"address": "a.example", "port": 70000}]},
        "ntp_servers",
        "NTP server 1: Enter a port from 1 to 65535 (NTP's is 123).",
    ),
    (
        {"synchronization": "manual", "manual_time": "tomorrow at noon"},
        "manual_time",
        "Enter a date and time as YYYY-MM-DD HH:MM, such as 2026-03-01 14:30.",
    ),
]


def _form(change: dict) -> dict:
    """The page's form fields for an API change."""
    form = {"synchronization": change.get("synchronization", "dhcp")}
    form["time_zone"] = change.get("time_zone", "")
    form["manual_time"] = change.get("manual_time", "")
    for number, server in enumerate(change.get("ntp_servers", []), 1):
        form[f"ntp_servers-{number}-address"] = server["address"]
        form[f"ntp_servers-{number}-port"] = str(server.get("port", ""))
    return form


@pytest.mark.parametrize(("change", "field", "message"), BAD)
def test_bad_input_is_refused_by_field_in_the_page_and_the_api(
    admin_api, logged_in, doorctl, client_chronyd, change, field, message
):
    _, sources = client_chronyd
    before, written = doorctl.settings.get("date_time"), sources.exists()
    answer = admin_api.put("/api/v1/date-time", json=change)
    assert answer.status_code == 400
    assert answer.get_json()["fields"][field].startswith(message)
    token = csrf_token(logged_in, "/date-time")
    page = logged_in.post("/date-time", data={"csrf_token": token, **_form(change)})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    shown = re.search(rf'data-field="{field}">{FIELD_ERROR}', html, re.S)
    assert shown and shown.group(1).startswith(message.replace("'", "&#39;"))
    assert doorctl.settings.get("date_time") == before and sources.exists() == written
