"""Bad input of the wrong JSON type or size gets a clear error naming the field, never a 500."""

import json
import time

import pytest
from support import ROOT_PASSWORD, ApiClient, basic, csrf_token, rewind

from doorctl.app import create_app
from doorctl.core.errors import Invalid
from doorctl.core.store import Store

HUGE = 10**30


@pytest.mark.parametrize(
    "path",
    [f"/api/v1/cardholders/{HUGE}", f"/api/v1/credentials/{HUGE}", f"/api/v1/access-rules/{HUGE}"],
)
def test_ids_larger_than_a_record_id_are_not_found(admin_api, path):
    assert admin_api.get(path).status_code == 404
    deleted = admin_api.delete(path)
    assert deleted.status_code in (404, 405)
    assert set(deleted.json) == {"error", "fields"}


def test_a_huge_number_in_a_body_is_a_clear_400(admin_api):
    response = admin_api.post("/api/v1/credentials", {"cardholder_id": HUGE, "pin": "1234"})
    assert response.status_code == 400
    assert "too large" in response.json["error"]


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/api/v1/mqtt/client", {"host": 1}, "host", "Must be text."),
        ("/api/v1/mqtt/client", {"port": "1883"}, "port", "Must be a number."),
        ("/api/v1/mqtt/client", {"clean_session": "yes"}, "clean_session", "true or false"),
        ("/api/v1/mqtt/publication", {"conditions": None}, "conditions", "Must be a list."),
        ("/api/v1/mqtt/publication", {"custom_prefix": -1}, "custom_prefix", "Must be text."),
        ("/api/v1/mqtt/subscriptions", {"subscriptions": True}, "subscriptions", "a list."),
        ("/api/v1/doors/1/settings", {"access_time": "7"}, "access_time", "number"),
        ("/api/v1/doors/1/settings", {"name": ["Front"]}, "name", "Must be text."),
    ],
)
def test_settings_of_the_wrong_type_name_the_field(admin_api, path, body, field, message):
    before = admin_api.get(path).json
    response = admin_api.put(path, body)
    assert response.status_code == 400, response.json
    assert message in response.json["fields"][field]
    assert admin_api.get(path).json == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "r1", "port": None}, "port"),
        ({"id": "r1", "port": 7}, "port"),
        ({"id": 5, "port": "/dev/ttyUSB0"}, "id"),
        ({"id": "r1", "port": "/dev/ttyUSB0", "address": "one"}, "address"),
    ],
)
def test_readers_of_the_wrong_type_name_the_field(admin_api, body, field):
    response = admin_api.post("/api/v1/readers", {"protocol": "osdp", **body})
    assert response.status_code == 400, response.json
    assert field in response.json["fields"]


def test_access_rule_door_id_must_be_a_door(admin_api):
    holder = admin_api.post("/api/v1/cardholders", {"name": "Ann"}).json
    for door_id in ([], {}, "1", True):
        body = {"cardholder_ids": [holder["id"]], "door_id": door_id}
        response = admin_api.post("/api/v1/access-rules", body)
        assert response.status_code == 400
        assert "door" in response.json["fields"]["door_id"].lower()


def test_cardholder_group_ids_must_be_a_list(admin_api):
    for value in ({}, "1", 3):
        response = admin_api.post("/api/v1/cardholders", {"name": "Ann", "group_ids": value})
        assert response.status_code == 400
        assert "list of ids" in response.json["fields"]["group_ids"]


def test_schedule_with_an_unknown_field_is_refused(admin_api):
    body = {"name": "S", "spans": [{"days": ["mon"], "start": "08:00", "end": "17:00"}]}
    response = admin_api.post("/api/v1/schedules", body)
    assert response.status_code == 400
    assert response.json["fields"]["spans"].startswith("There is no such field; the fields are")
    assert admin_api.get("/api/v1/schedules").json == []


def test_simulated_resistance_of_the_wrong_type(admin_api):
    for value in ([], {}, "lots", -5):
        response = admin_api.post("/api/v1/sim/inputs/door_monitor", {"resistance": value})
        assert response.status_code == 400
        assert "resistance" in response.json["fields"]


def test_request_bodies_over_32_mib_are_refused(admin_api):
    body = b"x" * (32 * 1024 * 1024 + 1)
    response = admin_api.client.post(
        "/api/v1/cardholders/import",
        data=body,
        content_type="text/csv",
        headers=admin_api.headers,
    )
    assert response.status_code == 413
    assert set(response.json) == {"error", "fields"}


def test_a_failed_login_names_only_a_real_user(client, doorctl, root):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/User/LoginFailed")
    for typed in ("root", "my secret password"):
        token = csrf_token(client)
        client.post("/login", data={"username": typed, "password": "x", "csrf_token": token})
    assert [e.source["user"] for e in seen] == ["root", None]


DEEP = "[" * 100_000
LONE = '"\\ud800"'
UNSAFE = {"POST", "PUT", "PATCH"}


def json_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every REST route that takes a body, with sample path values."""
    samples = {"port": "aux3", "name": "door_monitor", "tab": "publication", "action": "x"}
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.methods & UNSAFE:
            values = {arg: samples.get(arg, 1) for arg in rule.arguments}
            path = app.url_map.bind("localhost").build(rule.endpoint, values)
            routes += [(method, path) for method in sorted(rule.methods & UNSAFE)]
    return routes


def send(api, method: str, path: str, raw: str):
    """A request with a raw JSON text body (the client's json= can't spell every input)."""
    return api.client.open(
        path, method=method, data=raw, content_type="application/json", headers=api.headers
    )


def test_deeply_nested_json_is_refused_on_every_json_route(app, admin_api):
    answers = {route: send(admin_api, *route, DEEP) for route in json_routes(app)}
    failed = {route: a.status_code for route, a in answers.items() if a.status_code >= 500}
    assert not failed
    for answer in answers.values():
        assert answer.status_code < 400 or {"error", "fields"} <= set(answer.json)
    assert "Nested too deeply" in answers[("PUT", "/api/v1/doors/1/settings")].json["error"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/doors/1/settings", '{"name": %s}', "name"),
        ("/api/v1/io/ports/aux3", '{"name": %s}', "name"),
        ("/api/v1/io/settings", '{"aux3_name": %s}', "aux3_name"),
        ("/api/v1/mqtt/publication", '{"conditions": ["a", %s]}', "conditions"),
        ("/api/v1/mqtt/client", '{"host": "x", "client_id": %s}', "client_id"),
        ("/api/v1/mqtt/subscriptions", '{"subscriptions": [{"filter": %s}]}', "subscriptions"),
    ],
)
def test_a_lone_surrogate_is_refused_and_nothing_changes(logged_in, admin_api, path, body, field):
    before = admin_api.get(path).json
    response = send(admin_api, "PUT", path, body % LONE)
    assert response.status_code == 400
    assert "not valid text" in response.json["fields"][field]
    assert admin_api.get(path).json == before
    for page in ("/doors", "/io", "/peripherals", "/logs/events", "/mqtt/publication"):
        assert logged_in.get(page).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/cardholders", '{"name": %s}'),
        ("/api/v1/cardholder-groups", '{"name": %s}'),
        ("/api/v1/schedules", '{"name": %s, "intervals": []}'),
        ("/api/v1/users", '{"username": "ann", "password": %s, "role": "viewer"}'),
        ("/api/v1/access-rules", '{"name": "ok", "cardholder_ids": [1], %s: 1}'),
    ],
)
def test_a_lone_surrogate_in_a_new_record_is_a_400(admin_api, path, body):
    response = send(admin_api, "POST", path, body % LONE)
    assert response.status_code == 400
    assert "not valid text" in response.json["error"]


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/api/v1/mqtt/client", {"protocol": []}, "protocol", "Must be text."),
        ("/api/v1/mqtt/client", {"protocol": {}}, "protocol", "Must be text."),
        ("/api/v1/mqtt/publication", {"qos": 1.5}, "qos", "Must be a whole number."),
        ("/api/v1/mqtt/client", {"lwt_qos": 0.5}, "lwt_qos", "Must be a whole number."),
        ("/api/v1/mqtt/client", {"port": 1883.5}, "port", "Must be a whole number."),
        (
            "/api/v1/mqtt/subscriptions",
            {"subscriptions": [{"filter": 1}]},
            "subscriptions",
            "Subscription 1, filter: Must be text.",
        ),
        (
            "/api/v1/mqtt/subscriptions",
            {"subscriptions": [{"filter": "a/#", "qos": 1.5}]},
            "subscriptions",
            "Subscription 1, qos: QoS must be 0, 1 or 2.",
        ),
        (
            "/api/v1/mqtt/subscriptions",
            {"subscriptions": [{"filter": "a/#", "use_prefix": "yes"}]},
            "subscriptions",
            "Subscription 1, use_prefix: Must be true or false.",
        ),
    ],
)
def test_mqtt_values_of_the_wrong_kind_are_refused(admin_api, path, body, field, message):
    before = admin_api.get(path).json
    response = admin_api.put(path, body)
    assert response.status_code == 400, response.json
    assert response.json["fields"][field] == message
    assert admin_api.get(path).json == before


@pytest.mark.parametrize("name", [[], 0, False, {}, 5.5])
def test_access_rule_name_must_be_text(admin_api, name):
    holder = admin_api.post("/api/v1/cardholders", {"name": "Ann"}).json
    response = admin_api.post(
        "/api/v1/access-rules", {"name": name, "cardholder_ids": [holder["id"]]}
    )
    assert response.status_code == 400
    assert response.json["fields"]["name"] == "Use text of up to 64 characters."
    assert admin_api.get("/api/v1/access-rules").json == []


def test_a_door_command_nested_deeply_is_ignored():
    from doorctl.core.system.mqtt.messages import door_command

    assert door_command(DEEP.encode()) is None
    assert door_command(b'{"action": "unlock", "pad": "' + b"x" * 2000 + b'"}') is None
    assert door_command(b'{"action": "\\ud800"}') is None
    assert door_command(b'{"action": "unlock"}') == "unlock"


def test_schedule_page_refuses_odd_interval_text_by_its_field(logged_in):
    token = csrf_token(logged_in, "/access/schedules")
    for text in (DEEP, "5", "²:00", "1" * 5000):
        form = {"name": "S", "interval-0-days": "mon", "interval-0-start": text}
        response = logged_in.post("/access/schedules", data={**form, "csrf_token": token})
        assert response.status_code == 422
        assert "Enter a time as HH:MM, from 00:00 to 24:00." in response.get_data(as_text=True)
    assert logged_in.get("/api/v1/schedules").json == []


NOT_ASCII_DIGITS = ["²", "٣", "1" * 5000]


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/cardholders", "offset"),
        ("/api/v1/credentials", "cardholder_id"),
        ("/api/v1/events", "before"),
        ("/api/v1/access-log", "door_id"),
    ],
)
def test_a_query_number_in_other_digits_is_a_400(admin_api, path, name, value):
    response = admin_api.get(path, query_string={name: value})
    assert response.status_code == 400
    assert "whole number" in response.json["fields"][name]


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_an_event_stream_resumes_from_any_last_event_id(admin_api, value):
    response = admin_api.get(
        "/api/v1/events/stream", headers={"Last-Event-ID": value}, buffered=False
    )
    assert response.status_code == 200
    assert next(response.response).startswith(b"retry:")
    response.close()


@pytest.mark.parametrize("value", ["²", "x", "1" * 5000])
@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("/access/rules", {"door_id": "%s"}, "Choose a door: 1."),
        ("/access/rules", {"door_id": "1", "schedule_id": "%s"}, "Choose a schedule from the"),
        ("/peripherals/readers", {"protocol": "osdp", "id": "r1", "address": "%s"}, "address"),
        ("/access/cardholders", {"card_format": "H10301", "card_number": "%s"}, "whole number"),
    ],
)
def test_a_form_number_in_other_digits_is_refused_by_its_field(
    logged_in, path, form, message, value
):
    token = csrf_token(logged_in, "/peripherals" if "readers" in path else path)
    data = {"name": "A", **{k: v.replace("%s", value) for k, v in form.items()}}
    response = logged_in.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_group_ids_in_other_digits_are_left_out(logged_in, admin_api):
    token = csrf_token(logged_in, "/access/cardholders")
    form = {"name": "Ann", "group_ids": ["²", "1" * 5000], "csrf_token": token}
    assert logged_in.post("/access/cardholders", data=form).status_code == 303
    assert admin_api.get("/api/v1/cardholders").json["cardholders"][0]["group_ids"] == []


def stored_before_the_fix(data_dir) -> None:
    """A data directory as an older doorctl left it: lone surrogates in stored JSON."""
    store = Store(data_dir)
    door = {"name": "Front\ud800 \U0001f600", "access_time": 7.0}
    store.execute("INSERT INTO settings VALUES ('door', ?)", (json.dumps(door),))
    ports = {"aux3_name": "\udc00"}
    store.execute("INSERT INTO settings VALUES ('io_ports', ?)", (json.dumps(ports),))
    event = (time.time(), "tns1:Device/Trigger/DigitalInput", json.dumps({"port": "\udfff"}))
    store.execute(
        "INSERT INTO events (time, topic, source, data, key) VALUES (?, ?, ?, '{}', '{}')", event
    )
    rewind(store.execute, 7)
    store.close()


def test_lone_surrogates_stored_before_are_repaired(tmp_path):
    data_dir = tmp_path / "data"
    stored_before_the_fix(data_dir)
    app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True})
    doorctl = app.extensions["doorctl"]
    doorctl.users.set_root_password(ROOT_PASSWORD)
    api = ApiClient(app.test_client(), basic("root", ROOT_PASSWORD))
    doorctl.start()  # the door's pages ask the engine process
    try:
        token = csrf_token(api.client)
        form = {"username": "root", "password": ROOT_PASSWORD, "csrf_token": token}
        api.client.post("/login", data=form)
        pages = ("/doors", "/io", "/logs/events", "/status", "/doors/1/settings")
        answers = {page: api.client.get(page).status_code for page in pages}
        assert answers == dict.fromkeys(pages, 200)
        assert api.get("/api/v1/doors/1/settings").json["name"] == "Front\ufffd \U0001f600"
        assert api.get("/api/v1/io/settings").json["aux3_name"] == "\ufffd"
        inputs = api.get("/api/v1/events", query_string={"topic": "tns1:Device/Trigger"})
        assert inputs.json["events"][0]["source"] == {"port": "\ufffd"}
    finally:
        doorctl.stop()
        doorctl.store.close()


def test_a_fraction_for_a_whole_number_setting_is_refused(doorctl):
    with pytest.raises(Invalid) as refused:
        doorctl.settings.update("event_log", {"retention": 5000.5})
    assert refused.value.fields == {"retention": "Must be a whole number."}
    assert doorctl.settings.get("event_log")["retention"] == 100_000
    assert doorctl.settings.update("event_log", {"retention": 5000.0})["retention"] == 5000


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(admin_api, constant):
    before = admin_api.get("/api/v1/doors/1/settings").json
    response = send(admin_api, "PUT", "/api/v1/doors/1/settings", f'{{"access_time": {constant}}}')
    assert response.status_code == 400
    assert response.json["fields"] == {"body": "Not valid JSON."}
    assert admin_api.get("/api/v1/doors/1/settings").json == before


def test_a_form_of_bytes_that_are_not_utf8_stores_only_valid_text(logged_in, admin_api):
    token = csrf_token(logged_in, "/io")
    body = f"name=Gate%ED%A0%80%FF&csrf_token={token}"
    response = logged_in.post(
        "/io/ports/aux3", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (303, 422)
    name = admin_api.get("/api/v1/io/ports/aux3").json["name"]
    name.encode("utf-8")
    assert logged_in.get("/io").status_code == 200


def test_a_json_body_over_256_kib_is_refused_before_it_is_parsed(admin_api):
    before = admin_api.get("/api/v1/mqtt/publication").json
    body = {"conditions": ["tns1:Device"] * 30_000}
    response = admin_api.put("/api/v1/mqtt/publication", body)
    assert response.status_code == 413
    assert "at most 256 KiB" in response.json["error"]
    assert admin_api.get("/api/v1/mqtt/publication").json == before


def test_a_settings_section_tells_its_cross_field_rule_with_a_bad_value(doorctl):
    from wtforms import Form

    from doorctl.core.fields import Text, seconds

    class Shift(Form):
        start = Text("Start", default="08:00")
        end = Text("End", default="17:00")
        grace = seconds("Grace", 5, 1, 60)

    doorctl.settings.register("shift", Shift)
    late = {"end": "Must be after Start."}
    doorctl.settings.check("shift", lambda r: late if r["end"] <= r["start"] else {})
    with pytest.raises(Invalid) as refused:
        doorctl.settings.update("shift", {"end": "07:00", "grace": 100})
    assert refused.value.fields == {
        "grace": "Enter 1 to 60 seconds.",
        "end": "Must be after Start.",
    }
    assert refused.value.message == "Grace: Enter 1 to 60 seconds. End: Must be after Start."
    assert doorctl.settings.get("shift")["end"] == "17:00"


@pytest.mark.parametrize("value", [{}, [], 1, None])
def test_an_access_rule_choice_of_the_wrong_type_names_the_field(admin_api, value):
    holder = admin_api.post("/api/v1/cardholders", {"name": "Ann"}).json
    for name in ("direction", "authentication"):
        body = {"cardholder_ids": [holder["id"]], name: value}
        response = admin_api.post("/api/v1/access-rules", body)
        assert response.status_code == 400
        assert response.json["fields"][name].startswith("Choose one of: ")
