"""The OpenAPI document: every /api/v1 route, made from the definitions the API checks with."""

from __future__ import annotations

import importlib.machinery
import re
import types
from pathlib import Path

import pytest
import schemathesis

from doorctl.blueprints.common import required_role
from doorctl.core.access_control.access_rules import FIELDS as RULE_FIELDS
from doorctl.core.access_control.cardholders import FIELDS as HOLDER_FIELDS
from doorctl.core.access_control.door_settings import DoorSettings
from doorctl.core.access_control.readers import FIELDS as READER_FIELDS
from doorctl.core.access_control.readers import ReaderForm
from doorctl.core.access_control.schedules import SCHEDULE_FIELDS

SPEC = "/api/v1/openapi.json"


@pytest.fixture
def spec(client, root) -> dict:
    response = client.get(SPEC)
    assert response.status_code == 200
    return response.get_json()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def test_the_document_needs_no_login_even_before_first_access(client):
    response = client.get(SPEC)
    assert response.status_code == 200
    assert response.get_json()["openapi"] == "3.1.0"


def test_every_api_route_is_in_the_document_with_its_role(app, spec):
    urls = app.url_map.bind("localhost")
    covered = {}
    for path, method, operation in _operations(spec):
        rule, _ = urls.match(re.sub(r"{\w+}", "1", path), method, return_rule=True)
        covered[(rule.rule, method)] = operation["x-doorctl-role"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "openapi.spec":
            continue
        role = required_role(app.view_functions[rule.endpoint])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert covered.get((rule.rule, method)) == role, f"{method} {rule.rule}"


def test_a_settings_body_is_the_sections_form(spec):
    put = spec["paths"]["/api/v1/doors/{door_id}/settings"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {field.name for field in DoorSettings()}
    access_time = body["properties"]["access_time"]
    assert access_time["type"] == "number"
    assert (access_time["minimum"], access_time["maximum"]) == (0.1, 3600)
    assert body["properties"]["lock_type"]["enum"] == ["fail_secure", "fail_safe"]
    assert body["properties"]["unlock_schedule_id"]["type"] == ["integer", "null"]


def test_a_reader_body_is_the_readers_form(spec):
    post = spec["paths"]["/api/v1/readers"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {field.name for field in ReaderForm()}
    assert body["required"] == ["id"]
    assert body["properties"]["address"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 126,
        "title": "Address",
        "default": 0,
    }


def test_resource_operations_state_role_body_answers_and_errors(spec):
    rules = spec["paths"]["/api/v1/access-rules"]
    assert rules["get"]["x-doorctl-role"] == "operator"
    assert rules["post"]["x-doorctl-role"] == "administrator"
    body = rules["post"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["properties"]) == set(RULE_FIELDS)
    assert body["example"]["door_id"] == 1
    assert set(rules["post"]["responses"]) >= {"201", "400", "401", "403", "413", "415"}
    error = rules["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    one = spec["paths"]["/api/v1/schedules/{schedule_id}"]
    assert {"404", "409"} <= set(one["delete"]["responses"])
    assert "204" in one["delete"]["responses"]


def test_choices_in_a_url_are_paths_of_their_own(spec):
    assert "/api/v1/mqtt/publication" in spec["paths"]
    assert "/api/v1/mqtt/subscriptions" in spec["paths"]
    assert spec["paths"]["/api/v1/setup"]["post"]["security"] == []


def test_a_record_id_too_large_for_the_store_is_not_found_for_every_method(admin_api):
    too_large = "/api/v1/schedules/9223372036854775808"
    for method in ("get", "put", "patch", "delete"):
        response = getattr(admin_api, method)(too_large)
        assert response.status_code == 404, method
        assert response.get_json()["fields"] == {}


def _api_tables():
    """scripts/api-tables, loaded as a module."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "api-tables"
    loader = importlib.machinery.SourceFileLoader("api_tables", str(path))
    module = types.ModuleType(loader.name)
    module.__file__ = str(path)
    loader.exec_module(module)
    return module


def test_the_readme_rest_tables_are_made_from_the_document(spec):
    tables = _api_tables()
    readme = tables.README.read_text()
    made = tables.tables(tables.document())
    assert tables.updated(readme, made) == readme, "run scripts/api-tables"
    listed = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    every = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    assert every <= listed


def test_the_document_is_valid_openapi_3_1(spec):
    schemathesis.openapi.from_dict(spec).validate()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/api/v1/access-rules", RULE_FIELDS),
        ("/api/v1/cardholders", HOLDER_FIELDS),
        ("/api/v1/schedules", tuple(f for f in SCHEDULE_FIELDS if f != "id")),
        ("/api/v1/readers", (*READER_FIELDS, "secure_channel_key")),
    ],
)
def test_a_resource_body_names_the_fields_its_store_takes(spec, path, fields):
    body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == set(fields)
