"""Kiosk display: its settings (page and API), its loopback-only login, its role that
opens the kiosk page and nothing else, and operator actions with the PIN."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import csrf_token, require

from doorctl.core.system.kiosk import PIN_TRIES, is_loopback

TEMPLATES = Path(__file__).resolve().parents[2] / "doorctl" / "templates"
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
REMOTE = {"REMOTE_ADDR": "192.0.2.7"}
PIN = "246813"


def enable(admin_api, **more) -> None:
    answer = admin_api.put("/api/v1/kiosk", json={"enabled": True, **more})
    assert answer.status_code == 200, answer.get_json()


def kiosk_login(client, token, environ=LOOPBACK, headers=None):
    query = {} if token is None else {"token": token}
    return client.get(
        "/kiosk/login", query_string=query, environ_base=environ, headers=headers or {}
    )


def failed_logins(doorctl) -> list:
    doorctl.event_log.flush()
    events, _ = doorctl.event_log.query(("tns1:Device/User/LoginFailed",))
    return events


@pytest.mark.parametrize(
    "address, local",
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.7", False),
        ("::ffff:192.0.2.7", False),
        ("", False),
        (None, False),
        ("localhost", False),
    ],
)
def test_only_loopback_peers_are_local(address, local):
    assert is_loopback(address) is local


def test_settings_api_never_shows_the_pin(admin_api, doorctl):
    answer = admin_api.put("/api/v1/kiosk", json={"enabled": True, "pin": PIN})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["pin_set"] is True and "pin" not in body
    assert PIN not in str(doorctl.store.execute("SELECT * FROM kiosk").fetchall())
    assert PIN not in str(doorctl.store.execute("SELECT data FROM settings").fetchall())


@pytest.mark.parametrize(
    "change, field",
    [
        ({"pin": "12"}, "pin"),
        ({"pin": "12ab"}, "pin"),
        ({"pin": "1234"}, "pin"),  # a new PIN has 6 to 8 digits
        ({"pin": "123456789"}, "pin"),
        ({"dim_minutes": -1}, "dim_minutes"),
        ({"dim_minutes": 1.5}, "dim_minutes"),
        ({"enabled": "yes"}, "enabled"),
        ({"theme": "pink"}, "theme"),
        ({"operator_actions": True}, "pin"),  # actions need a PIN
    ],
)
def test_bad_settings_are_refused_per_field(admin_api, change, field):
    before = admin_api.get("/api/v1/kiosk").get_json()
    answer = admin_api.put("/api/v1/kiosk", json=change)
    assert answer.status_code == 400
    assert field in answer.get_json()["fields"]
    assert admin_api.get("/api/v1/kiosk").get_json() == before


def test_settings_page_saves_and_refuses(logged_in):
    token = csrf_token(logged_in, "/kiosk-display")
    form = {"csrf_token": token, "enabled": "y", "pin": "98", "dim_minutes": "5", "theme": "dark"}
    refused = logged_in.post("/kiosk-display", data=form)
    assert refused.status_code == 422
    assert "Enter 6 to 8 digits" in refused.get_data(as_text=True)
    four = logged_in.post("/kiosk-display", data={**form, "pin": "9876"})
    assert four.status_code == 422 and "Enter 6 to 8 digits" in four.get_data(as_text=True)
    saved = logged_in.post("/kiosk-display", data={**form, "pin": "987654"})
    assert saved.status_code == 303
    page = logged_in.get("/kiosk-display").get_data(as_text=True)
    assert "987654" not in page and "leave empty to keep it" in page
    assert "4 or 5 digits set before keeps working" in page


def test_loopback_login_opens_the_kiosk_page(client, admin_api, doorctl, token):
    enable(admin_api)
    answer = kiosk_login(client, token)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/kiosk")
    assert "doorctl_kiosk=" in answer.headers.get("Set-Cookie", "") or any(
        c.key == "doorctl_kiosk" for c in client._cookies.values()
    )
    page = client.get("/kiosk", environ_base=LOOPBACK)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="kiosk-door-1-state"' in html and "Locked" in html


def test_login_from_another_address_is_refused_and_logged(client, admin_api, doorctl, token):
    enable(admin_api)
    answer = kiosk_login(client, token, REMOTE)
    assert answer.status_code == 403
    assert "only from the device itself" in answer.get_data(as_text=True)
    assert client.get("/kiosk", environ_base=REMOTE).status_code == 303  # to the login page
    failed = failed_logins(doorctl)
    assert failed and failed[0].data["address"] == "192.0.2.7"
    assert failed[0].source["user"] == "kiosk"


def test_forwarded_headers_are_not_trusted(client, admin_api, token):
    enable(admin_api)
    spoofed = {
        "X-Forwarded-For": "127.0.0.1",
        "X-Real-IP": "127.0.0.1",
        "Forwarded": "for=127.0.0.1",
    }
    assert kiosk_login(client, token, REMOTE, spoofed).status_code == 403
    # a loopback peer naming another address is still the Pi itself, and no more
    answer = kiosk_login(client, token, LOOPBACK, {"X-Forwarded-For": "10.0.0.9"})
    assert answer.status_code == 303
    assert client.get("/users", environ_base=LOOPBACK).status_code == 403


def test_kiosk_off_refuses_the_login_and_ends_it(client, admin_api, token):
    assert kiosk_login(client, token).status_code == 403  # off by default
    enable(admin_api)
    assert kiosk_login(client, token).status_code == 303
    assert client.get("/kiosk", environ_base=LOOPBACK).status_code == 200
    off = admin_api.put("/api/v1/kiosk", json={"enabled": False})
    assert off.status_code == 200, off.get_json()
    assert client.get("/kiosk", environ_base=LOOPBACK).status_code == 303


def test_the_kiosk_cookie_is_no_good_elsewhere(client, admin_api, token):
    enable(admin_api)
    kiosk_login(client, token)
    assert client.get("/kiosk", environ_base=REMOTE).status_code == 303


PAGES = ["/status", "/doors", "/users", "/security", "/kiosk-display", "/logs/access", "/help"]
APIS = ["/api/v1/doors", "/api/v1/users", "/api/v1/kiosk", "/api/v1/access-log", "/api/v1/device"]


def test_the_kiosk_role_sees_the_kiosk_page_and_nothing_else(client, admin_api, token):
    enable(admin_api)
    kiosk_login(client, token)
    for path in PAGES:
        assert client.get(path, environ_base=LOOPBACK).status_code == 403, path
    for path in APIS:
        assert client.get(path, environ_base=LOOPBACK).status_code in (401, 403), path
    assert client.post("/doors/1/unlock", environ_base=LOOPBACK).status_code in (400, 403)
    live = client.get("/live?panel=doors&panel=kiosk-doors", environ_base=LOOPBACK)
    first = next(live.response).decode()
    assert "event: kiosk-doors" in first and "event: doors\n" not in first
    live.close()


def pin_post(client, pin: str, action: str = "unlock"):
    page = client.get("/kiosk", environ_base=LOOPBACK).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return client.post(
        f"/kiosk/doors/1/{action}",
        data={"pin": pin},
        headers={"X-CSRFToken": token},
        environ_base=LOOPBACK,
    )


def test_operator_actions_are_off_by_default(client, admin_api, doorctl, token):
    enable(admin_api, pin=PIN)
    kiosk_login(client, token)
    assert "kiosk-action" not in client.get("/kiosk", environ_base=LOOPBACK).get_data(as_text=True)
    assert pin_post(client, PIN).status_code == 403
    assert doorctl.doors[1].status()["mode"] == "locked"


def test_operator_action_with_the_right_pin(client, admin_api, doorctl, token):
    enable(admin_api, operator_actions=True, pin=PIN)
    kiosk_login(client, token)
    assert 'id="kiosk-door-1-unlock"' in client.get("/kiosk", environ_base=LOOPBACK).get_data(
        as_text=True
    )
    answer = pin_post(client, PIN)
    assert answer.status_code == 200, answer.get_json()
    assert doorctl.doors[1].status()["mode"] == "unlocked"
    doorctl.event_log.flush()
    events, _ = doorctl.event_log.query(("tns1:Door/State/DoorMode",))
    assert events[0].data["cause"]["user"] == "kiosk"


def test_wrong_pins_are_refused_then_throttled(client, admin_api, doorctl, token):
    enable(admin_api, operator_actions=True, pin=PIN)
    kiosk_login(client, token)
    for _ in range(PIN_TRIES - 1):
        wrong = pin_post(client, "1111")
        assert wrong.status_code == 403 and wrong.get_json()["error"] == "The PIN is wrong."
    throttled = pin_post(client, "1111")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert pin_post(client, PIN).status_code == 429  # even the right PIN waits
    assert doorctl.doors[1].status()["mode"] == "locked"
    assert len(failed_logins(doorctl)) >= PIN_TRIES


def test_other_users_cannot_use_the_kiosk_actions(logged_in, admin_api, doorctl):
    enable(admin_api, operator_actions=True, pin=PIN)
    page = logged_in.get("/kiosk").get_data(as_text=True)
    assert "kiosk-action" not in page
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = logged_in.post(
        "/kiosk/doors/1/unlock", data={"pin": PIN}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 403


def test_login_over_tcp_from_another_address_is_refused(tmp_path):
    """For real: doorctl served in a network namespace with a second address; the
    peer of a connection to 10.77.0.1 is 10.77.0.1, not loopback."""
    unshare = require("unshare", "util-linux")
    require("ip", "iproute2")
    peer = Path(__file__).resolve().parents[1] / "peers" / "netns_kiosk.py"
    result = subprocess.run(
        [unshare, "-rn", sys.executable, str(peer), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    for refused in ("remote", "remote_forwarded"):
        status, body = seen[refused]
        assert status == 403 and "not from 10.77.0.1" in body, refused
    for refused in ("local_no_token", "local_wrong_token"):  # a tunnel, another user
        status, body = seen[refused]
        assert status == 403 and "login token is missing or no longer good" in body, refused
    assert seen["local"][0] == 303 and seen["local_forwarded"][0] == 303
    failed = [e for e in seen["events"] if e["topic"] == "tns1:Device/User/LoginFailed"]
    addresses = sorted(e["data"]["address"] for e in failed)
    assert addresses == ["10.77.0.1", "10.77.0.1", "127.0.0.1", "127.0.0.1"]
    logins = [e for e in seen["events"] if e["topic"] == "tns1:Device/User/Login"]
    assert {e["data"]["address"] for e in logins} == {"127.0.0.1"}


def test_turning_the_kiosk_off_blanks_its_open_page(client, admin_api, doorctl, token):
    enable(admin_api)
    kiosk_login(client, token)
    live = client.get("/live?panel=kiosk-doors", environ_base=LOOPBACK)
    assert "kiosk-door-1-state" in next(live.response).decode()
    # through core: the open stream keeps its request's context pushed in this thread,
    # so a request of the test client now would run as the kiosk
    doorctl.kiosk.update({"enabled": False})
    # the Settings event reaches the stream: the tiles give way to a sentence
    assert "The kiosk display is off" in next(live.response).decode()
    live.close()


def test_the_kiosk_settings_need_no_mqtt_module():
    """The kiosk's form fields come from core.fields, not through the MQTT section."""
    probe = "import sys, doorctl.core.system.kiosk; "
    probe += "print(sorted(m for m in sys.modules if '.mqtt' in m))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_kiosk_uses_the_status_pages_public_views():
    """The Status page's door views and alarms are public there, for the kiosk too."""
    from doorctl.blueprints import kiosk as kiosk_blueprint
    from doorctl.blueprints.status import status

    assert status.doors.__doc__ and status.alarms.__doc__
    source = Path(kiosk_blueprint.__file__).read_text()
    assert "status.doors()" in source and "status._" not in source


def head_of(html: str) -> tuple[list[str], str]:
    """The static files a page's head loads, and its htmx configuration."""
    head = html.split("</head>")[0]
    files = re.findall(r'(?:href|src)="/static/([^"?]+)', head)
    return files, re.search(r'name="htmx-config" content=\'([^\']+)\'', head).group(1)


def test_the_kiosk_page_shares_the_head_of_every_page(logged_in):
    """One head for the shell and the kiosk: the same styles, htmx and its config."""
    shell, shell_config = head_of(logged_in.get("/status").get_data(as_text=True))
    kiosk_files, kiosk_config = head_of(logged_in.get("/kiosk").get_data(as_text=True))
    shared = ["vendor/pico.classless.min.css", "css/tokens.css", "css/components.css"]
    for files in (shell, kiosk_files):
        assert [f for f in files if f in shared] == shared
        assert "vendor/htmx.min.js" in files and "vendor/htmx-ext-sse.min.js" in files
    assert kiosk_config == shell_config
    for template in ("base.html", "kiosk/page.html"):
        text = (TEMPLATES / template).read_text()
        assert '{% include "_head.html" %}' in text and "htmx.min.js" not in text
