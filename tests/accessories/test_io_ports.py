"""I/O ports: names, directions, normal states, supervision, activating outputs."""

from __future__ import annotations

import gevent


def port(api, name: str) -> dict:
    return api.get(f"/api/v1/io/ports/{name}").json


def test_ports_list_and_viewer_cannot_change(viewer_api):
    ports = viewer_api.get("/api/v1/io/ports").json
    assert [p["port"] for p in ports] == [
        "door_monitor",
        "rex",
        "external_alarm",
        "external_tamper",
        "aux3",
        "aux4",
        "relay",
    ]
    assert viewer_api.put("/api/v1/io/ports/aux3", json={"name": "X"}).status_code == 403
    assert (
        viewer_api.post("/api/v1/io/ports/aux3/activate", json={"active": True}).status_code == 403
    )


def test_rename_direction_and_activate_output(admin_api, operator_api, board, doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/Trigger/Relay")
    changed = admin_api.put(
        "/api/v1/io/ports/aux3",
        json={"name": "Siren", "direction": "output", "normal_state": "closed"},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["direction"] == "output" and changed.json["name"] == "Siren"
    # normal state closed: an inactive output keeps its circuit closed
    assert board.outputs["aux3"].read() and not changed.json["active"]
    active = operator_api.post("/api/v1/io/ports/aux3/activate", json={"active": True}).json
    assert active["active"] and active["circuit"] == "open"
    assert not board.outputs["aux3"].read()
    assert seen[-1].data == {"active": True, "circuit": "open"}
    assert seen[-1].source == {"port": "aux3", "name": "Siren"}
    # any settings change puts outputs back to normal
    admin_api.put("/api/v1/io/ports/aux4", json={"name": "Spare"})
    assert not port(admin_api, "aux3")["active"]


def test_bad_port_changes_name_the_field(admin_api, operator_api):
    bad = admin_api.put(
        "/api/v1/io/ports/aux3", json={"name": "", "direction": "sideways", "supervised": "yes"}
    )
    assert bad.status_code == 400
    assert set(bad.json["fields"]) == {"name", "direction", "supervised"}
    fixed = admin_api.put("/api/v1/io/ports/rex", json={"direction": "output"})
    assert fixed.status_code == 400 and "fixed" in fixed.json["fields"]["direction"]
    door_owned = admin_api.put("/api/v1/io/ports/door_monitor", json={"normal_state": "open"})
    assert "door settings" in door_owned.json["fields"]["normal_state"]
    both = admin_api.put("/api/v1/io/ports/aux4", json={"direction": "output", "supervised": True})
    assert "input" in both.json["fields"]["supervised"]
    assert admin_api.put("/api/v1/io/ports/aux9", json={}).status_code == 404
    relay = operator_api.post("/api/v1/io/ports/relay/activate", json={"active": True})
    assert relay.status_code == 409
    an_input = operator_api.post("/api/v1/io/ports/aux3/activate", json={"active": True})
    assert an_input.status_code == 409
    missing = operator_api.post("/api/v1/io/ports/aux3/activate", json={})
    assert missing.json["fields"] == {"active": "This field is required."}


def test_input_state_follows_normal_state_and_publishes(admin_api, board, doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/Trigger/DigitalInput")
    assert not port(admin_api, "external_alarm")["active"]
    board.set_input("external_alarm", True)
    assert port(admin_api, "external_alarm")["active"]
    assert seen[-1].data == {"active": True, "circuit": "closed"} and seen[-1].property
    admin_api.put("/api/v1/io/ports/external_alarm", json={"normal_state": "closed"})
    assert not port(admin_api, "external_alarm")["active"]
    # the door's ports take their normal state from the door settings
    admin_api.put("/api/v1/doors/1/settings", json={"lock_type": "fail_safe"})
    relay = port(admin_api, "relay")
    assert relay["normal_state"] == "closed" and not relay["active"]


def test_supervised_door_monitor_detects_cut_and_short(admin_api, board, doorctl):
    seen = []
    doorctl.bus.subscribe(
        seen.append, "tns1:Device/IO/SupervisedPort", "tns1:Door/State/DoorTamper"
    )
    changed = admin_api.put("/api/v1/io/ports/door_monitor", json={"supervised": True})
    assert changed.json["supervised"] and changed.json["supervised_state"] == "closed"
    assert doorctl.doors[1].status()["door_position"] == "closed"
    board.set_resistance("door_monitor", float("inf"))
    assert port(admin_api, "door_monitor")["supervised_state"] == "cut"
    assert "door_monitor_tampered" in doorctl.doors[1].status()["alarms"]
    board.set_resistance("door_monitor", 0)
    assert port(admin_api, "door_monitor")["supervised_state"] == "short"
    board.set_resistance("door_monitor", 4700)
    assert doorctl.doors[1].status()["alarms"] == []
    states = [(e.topic.rsplit("/", 1)[1], e.data["state"]) for e in seen]
    assert ("SupervisedPort", "cut") in states and ("DoorTamper", "TamperDetected") in states
    assert states[-1] == ("DoorTamper", "NotInTamper")
    wiring = admin_api.put("/api/v1/io/settings", json={"supervised_wiring": "serial_first_3k"})
    assert "supervised_wiring" in wiring.json["fields"]


def test_io_page_for_operator_and_admin(logged_in, doorctl, board):
    from support import csrf_token

    page = logged_in.get("/io").get_data(as_text=True)
    assert 'id="io-ports"' in page and 'id="io-settings"' in page
    token = csrf_token(logged_in, "/io")
    saved = logged_in.post(
        "/io/ports/aux4",
        data={"csrf_token": token, "name": "Buzzer", "direction": "output", "normal_state": "open"},
    )
    assert saved.status_code == 303
    assert "Buzzer" in logged_in.get("/io").get_data(as_text=True)
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    table = logged_in.post("/io/ports/aux4/activate", data={"active": "1"}, headers=headers)
    assert 'data-port="aux4" data-active="true"' in table.get_data(as_text=True)
    gevent.sleep(0)
    bad = logged_in.post(
        "/io/ports/aux4", data={"csrf_token": token, "name": "", "direction": "output"}
    )
    assert bad.status_code == 422 and 'data-field="name"' in bad.get_data(as_text=True)
