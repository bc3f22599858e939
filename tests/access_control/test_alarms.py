"""Alarms: casing open, external tamper and device motion, each on or off."""

from __future__ import annotations


def alarm(api, name: str) -> dict:
    return next(a for a in api.get("/api/v1/alarms").json["alarms"] if a["alarm"] == name)


def test_casing_open_triggers_and_clears(admin_api, board, doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/Tamper")
    board.set_input("casing_open", True)
    assert alarm(admin_api, "casing_open")["triggered"]
    board.set_input("casing_open", False)
    assert not alarm(admin_api, "casing_open")["triggered"]
    assert [(e.source["alarm"], e.data["state"]) for e in seen] == [
        ("casing_open", True),
        ("casing_open", False),
    ]
    assert all(e.property for e in seen)


def test_external_tamper_is_off_until_turned_on(admin_api, board, doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/Tamper")
    board.set_input("external_tamper", True)
    assert seen == [] and not alarm(admin_api, "external_tamper")["triggered"]
    on = admin_api.put("/api/v1/alarms", json={"external_tamper": True})
    assert on.status_code == 200
    assert seen[-1].source["alarm"] == "external_tamper" and seen[-1].data == {"state": True}
    admin_api.put("/api/v1/alarms", json={"external_tamper": False})
    assert seen[-1].data == {"state": False}  # turning it off clears it


def test_device_motion_has_no_sensor_and_is_off_by_default(viewer_api):
    motion = alarm(viewer_api, "device_motion")
    assert not motion["enabled"] and not motion["sensor"] and not motion["triggered"]


def test_roles_and_bad_input(viewer_api, admin_api):
    assert viewer_api.put("/api/v1/alarms", json={"casing_open": False}).status_code == 403
    bad = admin_api.put("/api/v1/alarms", json={"casing_open": "off", "smoke": True})
    assert bad.status_code == 400 and set(bad.json["fields"]) == {"smoke"}
    bad = admin_api.put("/api/v1/alarms", json={"casing_open": "off"})
    assert bad.json["fields"] == {"casing_open": "Must be true or false."}


def test_alarms_page_saves_switches(logged_in, doorctl):
    from support import csrf_token

    token = csrf_token(logged_in, "/alarms")
    saved = logged_in.post("/alarms", data={"csrf_token": token, "external_tamper": "on"})
    assert saved.status_code == 303
    assert "Alarm settings saved." in logged_in.get("/alarms").get_data(as_text=True)
    assert doorctl.settings.get("alarms") == {
        "device_motion": False,
        "casing_open": False,
        "external_tamper": True,
        "reader_tamper": False,
        "reader_secure_channel": False,
    }


def test_reader_tamper_is_on_by_default(viewer_api, board):
    board.set_input("reader_tamper", True)
    assert alarm(viewer_api, "reader_tamper")["triggered"]
