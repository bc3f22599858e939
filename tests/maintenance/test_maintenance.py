"""Maintenance > Maintenance on a served appliance: restart, restore, factory default.

One appliance serves the whole module (`doorctl serve` started by hand, so each
action replaces the process with a fresh copy of itself, same pid and stdout); the
factory default runs last.
"""

from __future__ import annotations

import json
import select
import urllib.error
import urllib.request

import pytest
from support import ROOT_PASSWORD, basic, start_set_up
from support_seed import owner_key

from doorctl.hal.sim import OUTPUTS_LOG_ENV

RESTART_SECONDS = 30


def wait_restarted(server) -> str:
    """The "serving on" line the appliance prints when it serves again."""
    stdout = server.process.stdout
    ready, _, _ = select.select([stdout], [], [], RESTART_SECONDS)
    assert ready, "the appliance did not serve again"
    line = stdout.readline()
    assert "serving on" in line, line
    return line


def call(server, method, path, body=None, auth=("root", ROOT_PASSWORD)):
    """(status, JSON answer) of a REST call, errors included."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **(basic(*auth) if auth else {})}
    request = urllib.request.Request(server.url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def maintenance_events(server) -> list[dict]:
    status, answer = call(server, "GET", "/api/v1/events?kind=maintenance")
    assert status == 200
    return answer["events"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("maintenance") / "data"
    outputs_log = data_dir.parent / "outputs.log"
    served = start_set_up(data_dir, env={OUTPUTS_LOG_ENV: str(outputs_log)})
    served.outputs_log = outputs_log
    (data_dir / "firmware").mkdir()
    (data_dir / "firmware" / "installed").write_text("the installed software")
    for role in ("viewer", "operator"):
        assert call(served, "POST", "/api/v1/users", _user(role))[0] == 201
    yield served
    served.stop()


def _user(role: str) -> dict:
    return {
        "username": role,
        "password": ROOT_PASSWORD,
        "password_repeat": ROOT_PASSWORD,
        "role": role,
    }


def test_bad_input_is_refused_and_changes_nothing(server):
    before = server.call("GET", "/api/v1/access-settings")
    refusals = [
        ("/api/v1/maintenance/factory-default", {"confirmation": "yes"}, "confirmation"),
        ("/api/v1/maintenance/factory-default", {}, "confirmation"),
        ("/api/v1/maintenance/restart", {"device": "yes"}, "device"),
        ("/api/v1/maintenance/restart", {"devcie": True}, "devcie"),
        ("/api/v1/maintenance/restore", {"now": True}, "now"),
    ]
    for path, body, field in refusals:
        status, answer = call(server, "POST", path, body)
        assert status == 400, (path, answer)
        assert set(answer["fields"]) == {field} and answer["error"]
    status, answer = call(server, "POST", "/api/v1/maintenance/restart", {"device": True})
    assert status == 400 and "systemd" in answer["fields"]["device"]
    for role in ("viewer", "operator"):
        auth = (role, ROOT_PASSWORD)
        status, _ = call(server, "POST", "/api/v1/maintenance/restore", {}, auth=auth)
        assert status == 403
    assert call(server, "GET", "/api/v1/maintenance")[1]["pending"] is None
    assert server.call("GET", "/api/v1/access-settings") == before
    assert maintenance_events(server) == []


def test_restart_answers_again_with_the_same_data_and_outputs_reset(server):
    holder = server.call("POST", "/api/v1/cardholders", {"name": "Ann Berg"})
    server.call("PUT", "/api/v1/doors/1/settings", {"access_time": 600, "long_access_time": 600})
    server.call("POST", "/api/v1/doors/1/access")  # the relay stays active for 10 minutes
    assert server.call("GET", "/api/v1/sim/board")["outputs"]["relay"]["active"]
    before = server.outputs_log.read_text().splitlines()
    assert before[-1] == "relay 1"
    status, answer = call(server, "POST", "/api/v1/maintenance/restart", {})
    assert (status, answer) == (202, {"action": "restart", "state": "restarting"})
    line = wait_restarted(server)
    assert server.url in line  # the same port, though the command line asked for any
    # the stopping process released the relay (a new simulated board starts inactive)
    assert "relay 0" in server.outputs_log.read_text().splitlines()[len(before) :]
    assert not server.call("GET", "/api/v1/sim/board")["outputs"]["relay"]["active"]
    assert server.call("GET", f"/api/v1/cardholders/{holder['id']}")["name"] == "Ann Berg"
    (event,) = maintenance_events(server)
    assert event["topic"] == "tns1:Device/Maintenance/Restart"
    assert event["source"] == {"user": "root"} and event["data"] == {"device": False}


def test_restore_returns_settings_and_keeps_users_access_data_and_network(server):
    defaults = server.call("GET", "/api/v1/access-settings")
    changed = server.call("PATCH", "/api/v1/access-settings", {"pin_timeout": 30})
    assert changed != defaults
    holders = server.call("GET", "/api/v1/cardholders")
    network = server.call("GET", "/api/v1/network/http-https")
    status, _ = call(server, "POST", "/api/v1/maintenance/restore")
    assert status == 202
    assert server.url in wait_restarted(server)
    assert server.call("GET", "/api/v1/access-settings") == defaults
    assert server.call("GET", "/api/v1/cardholders") == holders
    assert server.call("GET", "/api/v1/network/http-https") == network
    status, _ = call(server, "GET", "/api/v1/users", auth=("viewer", ROOT_PASSWORD))
    assert status == 403  # the viewer still logs in (and may not list users)
    topics = [e["topic"] for e in maintenance_events(server)]
    assert topics == ["tns1:Device/Maintenance/Restore", "tns1:Device/Maintenance/Restart"]


def test_factory_default_resets_everything_but_the_installed_software(server):
    data_dir = server.data_dir
    secret = (data_dir / "secret_key").read_bytes()
    server.call("PUT", "/api/v1/firmware/owner-key", {"key": owner_key()})
    assert server.call("GET", "/api/v1/firmware/owner-key")["installed"]
    status, _ = call(
        server, "POST", "/api/v1/maintenance/factory-default", {"confirmation": "default"}
    )
    assert status == 202
    assert server.url in wait_restarted(server)
    assert (data_dir / "firmware" / "installed").read_text() == "the installed software"
    assert (data_dir / "hardware.toml").exists()
    assert (data_dir / "secret_key").read_bytes() != secret
    status, answer = call(server, "GET", "/api/v1/cardholders")
    assert status == 403, answer  # root's password is gone with every user
    assert "root" in answer["error"]  # set it first
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    assert call(server, "POST", "/api/v1/setup", body, auth=None)[0] == 201
    assert server.call("GET", "/api/v1/cardholders")["cardholders"] == []
    assert not server.call("GET", "/api/v1/firmware/owner-key")["installed"]
    status, _ = call(server, "GET", "/api/v1/doors", auth=("viewer", ROOT_PASSWORD))
    assert status == 401  # the other users are gone
    (event,) = maintenance_events(server)  # the old log is gone; the new one says why
    assert event["topic"] == "tns1:Device/Maintenance/FactoryDefault"
    assert event["source"] == {"user": "root"}
    assert event["data"]["state"] == "done" and event["data"]["how"] == "web"
