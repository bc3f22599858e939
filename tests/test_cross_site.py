"""Cross-site writes: a page of another site can't work the door with a user's session
or with HTTP Basic credentials the browser cached; scripts keep working."""

from __future__ import annotations

import subprocess

import pytest
from support import ROOT_PASSWORD, basic, csrf_token, require

FORM = "application/x-www-form-urlencoded"
FOREIGN = {"Origin": "http://evil.example"}
SAME_SITE_OTHER_PORT = {"Origin": "http://localhost:8081", "Sec-Fetch-Site": "same-site"}


def door_mode(doorctl) -> str:
    return doorctl.doors[1].status()["mode"]


@pytest.mark.parametrize("headers", [FOREIGN, SAME_SITE_OTHER_PORT, {}])
def test_an_empty_form_with_the_session_cookie_does_not_unlock(logged_in, doorctl, headers):
    response = logged_in.post("/api/v1/doors/1/unlock", data="", content_type=FORM, headers=headers)
    assert response.status_code in (403, 415)
    assert "error" in response.json
    assert door_mode(doorctl) == "locked"


def test_a_bodiless_write_with_the_session_cookie_needs_the_token(logged_in, doorctl):
    refused = logged_in.post("/api/v1/doors/1/unlock")
    assert refused.status_code == 400
    assert "X-CSRFToken" in refused.json["error"]
    assert door_mode(doorctl) == "locked"
    token = csrf_token(logged_in, "/status")
    done = logged_in.post("/api/v1/doors/1/unlock", headers={"X-CSRFToken": token})
    assert done.status_code == 200
    assert door_mode(doorctl) == "unlocked"


@pytest.mark.parametrize("headers", [FOREIGN, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}])
def test_basic_credentials_from_another_site_are_refused(client, root, doorctl, headers):
    response = client.post("/api/v1/doors/1/unlock", headers={**basic(*root), **headers})
    assert response.status_code == 403
    assert "another site" in response.json["error"]
    assert door_mode(doorctl) == "locked"


def test_basic_credentials_never_take_a_form(client, root, doorctl):
    response = client.post(
        "/api/v1/doors/1/unlock", data="", content_type=FORM, headers=basic(*root)
    )
    assert response.status_code == 415
    assert door_mode(doorctl) == "locked"


def test_the_same_origin_and_scripts_may_write(client, root, doorctl):
    own = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    response = client.post("/api/v1/doors/1/unlock", headers={**basic(*root), **own})
    assert response.status_code == 200
    assert door_mode(doorctl) == "unlocked"


@pytest.mark.parametrize("path", ["/api/v1/sim/rex", "/api/v1/sim/button"])
def test_the_simulator_is_not_worked_from_another_site(logged_in, doorctl, path):
    for headers in (FOREIGN, {}):
        response = logged_in.post(path, data="", content_type=FORM, headers=headers)
        assert response.status_code in (403, 415)
    assert logged_in.post(path).status_code == 400  # the session without the token
    assert door_mode(doorctl) == "locked"
    assert not doorctl.simulator.presses


def test_curl_with_basic_credentials_keeps_working(served):
    curl = require("curl", "curl")
    served.call(
        "POST",
        "/api/v1/setup",
        {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD},
        auth=None,
    )
    done = subprocess.run(
        [
            curl,
            "-sS",
            "-X",
            "POST",
            "-u",
            f"root:{ROOT_PASSWORD}",
            f"{served.url}/api/v1/doors/1/access",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert '"mode":"accessed"' in done.stdout.replace(" ", ""), done.stdout + done.stderr
