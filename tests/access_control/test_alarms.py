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


def test_device_motion_is_sensed_on_the_sim_board_and_off_by_default(viewer_api):
    motion = alarm(viewer_api, "device_motion")
    assert not motion["enabled"] and motion["sensor"] and not motion["triggered"]
    assert viewer_api.get("/api/v1/alarms").json["device_motion_threshold"] == 0.3


def test_device_motion_triggers_above_the_threshold_and_clears_once_still(
    admin_api, board, doorctl
):
    import gevent

    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/Tamper")
    on = admin_api.put(
        "/api/v1/alarms", json={"device_motion": True, "device_motion_threshold": 0.5}
    )
    assert on.status_code == 200 and on.json["device_motion_threshold"] == 0.5
    board.motion.hold = 0.05
    board.shake(0.3)  # a knock below the threshold
    assert not alarm(admin_api, "device_motion")["triggered"] and seen == []
    board.shake(1.0)
    assert alarm(admin_api, "device_motion")["triggered"]
    with gevent.Timeout(5):
        while len(seen) < 2:
            gevent.sleep(0.01)
    assert not alarm(admin_api, "device_motion")["triggered"]
    assert [(e.source["alarm"], e.data["state"]) for e in seen] == [
        ("device_motion", True),
        ("device_motion", False),
    ]


def test_device_motion_threshold_refuses_what_is_not_an_acceleration(admin_api, logged_in):
    from support import csrf_token

    for value, message in (
        (5, "Enter 0.05 to 2 g."),
        ("x", "Must be a number."),
    ):
        bad = admin_api.put("/api/v1/alarms", json={"device_motion_threshold": value})
        assert bad.status_code == 400 and bad.json["fields"] == {"device_motion_threshold": message}
    token = csrf_token(logged_in, "/alarms")
    page = logged_in.post("/alarms", data={"csrf_token": token, "device_motion_threshold": "3"})
    assert page.status_code == 422
    assert page.get_data(as_text=True).count("Enter 0.05 to 2 g.") == 1  # beside the field
    assert admin_api.get("/api/v1/alarms").json["device_motion_threshold"] == 0.3


def test_roles_and_bad_input(viewer_api, admin_api):
    assert viewer_api.put("/api/v1/alarms", json={"casing_open": False}).status_code == 403
    bad = admin_api.put("/api/v1/alarms", json={"casing_open": "off", "smoke": True})
    assert bad.status_code == 400 and set(bad.json["fields"]) == {"smoke"}
    bad = admin_api.put("/api/v1/alarms", json={"casing_open": "off"})
    assert bad.json["fields"] == {"casing_open": "Must be true or false."}


def test_alarms_page_saves_switches(logged_in, doorctl):
    from support import csrf_token

    token = csrf_token(logged_in, "/alarms")
    data = {"csrf_token": token, "external_tamper": "on", "device_motion_threshold": "0,4"}
    saved = logged_in.post("/alarms", data=data)
    assert saved.status_code == 303
    assert "Alarm settings saved." in logged_in.get("/alarms").get_data(as_text=True)
    assert doorctl.settings.get("alarms") == {
        "device_motion": False,
        "device_motion_threshold": 0.4,
        "casing_open": False,
        "external_tamper": True,
        "reader_tamper": False,
        "reader_secure_channel": False,
    }


def test_reader_tamper_is_on_by_default(viewer_api, board):
    board.set_input("reader_tamper", True)
    assert alarm(viewer_api, "reader_tamper")["triggered"]


def test_the_simulator_shakes_the_controller(admin_api, logged_in, board):
    from support import csrf_token

    admin_api.put("/api/v1/alarms", json={"device_motion": True})
    board.motion.hold = 60  # still moving while the test looks
    assert admin_api.post("/api/v1/sim/motion", json={"g": 0.1}).status_code == 200
    assert not alarm(admin_api, "device_motion")["triggered"]
    for g, message in ((0, "Enter more than 0 and at most 16 g."), ("x", "Enter an acceleration")):
        bad = admin_api.post("/api/v1/sim/motion", json={"g": g})
        assert bad.status_code == 400 and bad.json["fields"]["g"].startswith(message)
    token = csrf_token(logged_in, "/simulator")
    shaken = logged_in.post("/simulator/shake", data={"csrf_token": token, "g": "1"})
    assert "Controller shaken by 1 g." in shaken.get_data(as_text=True)
    assert alarm(admin_api, "device_motion")["triggered"]
