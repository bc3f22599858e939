"""Doors over the REST API and the pages, per role; door settings; the systemd unit's reset."""

from __future__ import annotations

import re

import pytest

from doorctl.core.access_control.door_settings import DoorSettings
from doorctl.core.errors import Invalid


@pytest.fixture
def events(doorctl):
    """Every event published from now on."""
    seen = []
    doorctl.bus.subscribe(seen.append)
    return seen


def test_door_settings_per_field_errors(doorctl):
    with pytest.raises(Invalid) as error:
        doorctl.settings.update(
            "door",
            {
                "access_time": "soon",
                "lock_type": "magnetic",
                "rex_unlocks": "yes",
                "open_too_long_time": 0,
                "name": "",
            },
        )
    assert set(error.value.fields) == {
        "access_time",
        "lock_type",
        "rex_unlocks",
        "open_too_long_time",
        "pre_alarm_time",
        "name",
    }
    with pytest.raises(Invalid) as error:
        doorctl.settings.update("door", {"access_time": 30, "pre_alarm_time": 20})
    assert set(error.value.fields) == {"long_access_time", "pre_alarm_time"}


# --- REST API and pages, per role -----------------------------------------------------


def test_viewer_reads_doors_but_cannot_act(viewer_api):
    listed = viewer_api.get("/api/v1/doors")
    assert listed.status_code == 200
    assert listed.json[0]["id"] == 1
    one = viewer_api.get("/api/v1/doors/1").json
    assert {k: one[k] for k in ("mode", "lock", "door_position", "alarms")} == {
        "mode": "locked",
        "lock": "locked",
        "door_position": "closed",
        "alarms": [],
    }
    assert viewer_api.post("/api/v1/doors/1/unlock").status_code == 403
    assert viewer_api.get("/api/v1/doors/1/settings").status_code == 403


def test_operator_acts_on_the_door(operator_api, board, events):
    for action, mode, lock in (
        ("unlock", "unlocked", "unlocked"),
        ("lock", "locked", "locked"),
        ("block", "blocked", "locked"),
        ("lockdown", "locked_down", "locked"),
        ("release", "locked", "locked"),
        ("lockopen", "locked_open", "unlocked"),
        ("release", "locked", "locked"),
        ("access", "accessed", "unlocked"),
    ):
        response = operator_api.post(f"/api/v1/doors/1/{action}")
        assert response.status_code == 200, response.json
        assert (response.json["mode"], response.json["lock"]) == (mode, lock), action
    cause = [e.data["cause"] for e in events if e.topic == "tns1:Door/State/DoorMode"][0]
    assert cause == {"action": "unlock", "by": "operator", "user": "operator1"}
    assert operator_api.put("/api/v1/doors/1/settings", json={}).status_code == 403


def test_refused_and_unknown_actions(operator_api):
    operator_api.post("/api/v1/doors/1/lockdown")
    refused = operator_api.post("/api/v1/doors/1/unlock")
    assert refused.status_code == 409
    assert "locked down" in refused.json["error"]
    unknown = operator_api.post("/api/v1/doors/1/explode")
    assert unknown.status_code == 404 and "release" in unknown.json["error"]
    assert operator_api.get("/api/v1/doors/7").status_code == 404


def test_admin_settings_with_per_field_errors(admin_api):
    settings = admin_api.get("/api/v1/doors/1/settings").json
    assert settings["access_time"] == 7 and settings["lock_type"] == "fail_secure"
    bad = admin_api.put(
        "/api/v1/doors/1/settings",
        json={"access_time": -1, "relock": "never", "rex_unlocks": 1, "colour": "red"},
    )
    assert bad.status_code == 400
    assert set(bad.json["fields"]) == {"colour"}
    bad = admin_api.put(
        "/api/v1/doors/1/settings", json={"access_time": -1, "relock": "never", "rex_unlocks": 1}
    )
    assert set(bad.json["fields"]) == {"access_time", "relock", "rex_unlocks"}
    ok = admin_api.put("/api/v1/doors/1/settings", json={"access_time": 2.5, "name": "Front"})
    assert ok.status_code == 200 and ok.json["access_time"] == 2.5
    assert admin_api.get("/api/v1/doors/1").json["name"] == "Front"


def test_doors_page_for_viewer_and_operator(client, doorctl, root):
    from support import csrf_token, make_user

    for role, buttons in (("viewer", False), ("operator", True)):
        username, password = make_user(doorctl, role)
        token = csrf_token(client)
        client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        page = client.get("/doors").get_data(as_text=True)
        assert 'id="door-1-mode" data-value="locked"' in page
        assert ('id="door-1-action-access"' in page) is buttons
        client.post("/logout", data={"csrf_token": token})


def test_doors_page_action_swaps_the_card_and_says_what_happened(logged_in, board):
    import json

    from support import csrf_token

    token = csrf_token(logged_in, "/doors")
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    answer = logged_in.post("/doors/1/unlock", headers=headers)
    toast = json.loads(answer.headers["HX-Trigger"])["doorctl:toast"]
    assert 'data-value="unlocked"' in answer.get_data(as_text=True)
    assert toast == {"message": "Door 1: unlocked until another action.", "tone": "ok"}
    card = logged_in.post("/doors/1/lockdown", headers=headers).get_data(as_text=True)
    # Locked down: the actions it would refuse are disabled, and the card says why.
    for action in ("access", "lock", "unlock", "block", "lockopen"):
        assert re.search(rf'id="door-1-action-{action}" class="[^"]*"\s*disabled', card), action
    assert not re.search(r'id="door-1-action-release" class="[^"]*"\s*disabled', card)
    assert 'id="door-1-refusal"' in card and "Return to normal" in card
    refused = logged_in.post("/doors/1/access", headers=headers)
    toast = json.loads(refused.headers["HX-Trigger"])["doorctl:toast"]
    assert toast["tone"] == "danger" and "locked down" in toast["message"]
    status = logged_in.get("/status").get_data(as_text=True)
    assert "Locked down" in status


def test_door_settings_page_shows_errors_per_field(logged_in):
    from support import csrf_token

    token = csrf_token(logged_in, "/doors/1/settings")
    form = dict(DoorSettings().data, csrf_token=token, access_time="x", lock_type="nope")
    form = {k: v for k, v in form.items() if not isinstance(v, bool)}
    page = logged_in.post("/doors/1/settings", data=form)
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert 'data-field="access_time"' in text and 'data-field="lock_type"' in text


def test_reset_outputs_command_for_the_systemd_unit(tmp_path):
    import subprocess
    import sys

    from support import REPO

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "doorctl",
            "reset-outputs",
            "--data-dir",
            str(tmp_path),
            "--hardware",
            "sim",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "outputs reset on the sim board" in done.stderr
    unit = (REPO / "doorctl" / "service" / "doorctl.service.in").read_text()
    assert "ExecStopPost=" in unit and "reset-outputs" in unit


def test_door_settings_page_saves_and_redirects(logged_in, doorctl):
    from support import csrf_token

    token = csrf_token(logged_in, "/doors/1/settings")
    form = {k: v for k, v in DoorSettings().data.items() if not isinstance(v, bool)}
    form.update(csrf_token=token, access_time="3", name="Back door", rex_unlocks="y")
    saved = logged_in.post("/doors/1/settings", data=form)
    assert saved.status_code == 303
    assert "Door settings saved." in logged_in.get(saved.headers["Location"]).get_data(as_text=True)
    stored = doorctl.settings.get("door")
    assert (stored["access_time"], stored["name"], stored["rex_unlocks"]) == (
        3.0,
        "Back door",
        True,
    )
    assert stored["first_person_in"] is False  # an unticked switch is off


def test_door_settings_show_seconds_as_typed(logged_in, admin_api):
    admin_api.put("/api/v1/doors/1/settings", json={"access_time": 7, "long_access_time": 20.5})
    page = logged_in.get("/doors/1/settings").get_data(as_text=True)
    assert re.search(r'name="access_time"[^>]*value="7"', page)
    assert re.search(r'name="long_access_time"[^>]*value="20.5"', page)
