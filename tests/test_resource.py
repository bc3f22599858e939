"""A resource declared once gives its page's forms, its REST routes and its OpenAPI part."""

from __future__ import annotations

import itertools
import json

import pytest
from flask import Blueprint, jsonify
from support import ApiClient, basic, csrf_token, make_user

from doorctl.blueprints.resource import WRITES, Page, Resource, register
from doorctl.core.errors import Invalid, NotFound


class Notes:
    """A store of notes as the core's stores are: records by id, errors per field."""

    def __init__(self):
        self.records: dict[int, dict] = {}
        self.ids = itertools.count(1)

    def get(self, note_id: int) -> dict:
        if note_id not in self.records:
            raise NotFound(f"There is no note with id {note_id}.")
        return self.records[note_id]

    def save(self, note_id: int, body: dict) -> dict:
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise Invalid({"text": "Write some text."})
        self.records[note_id] = {"id": note_id, "text": text}
        return self.records[note_id]

    def delete(self, note_id: int) -> None:
        self.get(note_id)
        del self.records[note_id]


@pytest.fixture
def notes(app) -> Notes:
    store = Notes()
    bp = Blueprint("notes", __name__)
    resource = Resource(
        name="note",
        plural="notes",
        api="/api/v1/notes",
        key="note_id",
        converter="int",
        record={"type": "object", "properties": {"id": {"type": "integer"}, "text": {}}},
        body={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        roles={"list": "viewer", "read": "viewer", **dict.fromkeys(WRITES, "operator")},
        store={
            "list": lambda: list(store.records.values()),
            "read": store.get,
            "create": lambda body: store.save(next(store.ids), body),
            "update": lambda note_id, body: store.save(note_id, {**store.get(note_id), **body}),
            "delete": store.delete,
        },
        example={"text": "Gate B is out of order."},
        page=Page(
            path="/notes",
            render=lambda status=200, **context: (jsonify(sorted(context)), status),
            form_body=lambda form: {"text": form.get("text", "")},
            messages={"create": "Note {text} added.", "delete": "Note {note_id} deleted."},
        ),
    )
    register(bp, resource)
    app.register_blueprint(bp)
    return store


@pytest.fixture
def notes_in_place(app) -> Notes:
    """Notes whose page edits each one in place of its row."""
    store = Notes()
    store.save(next(store.ids), {"text": "Gate B"})
    bp = Blueprint("notes_in_place", __name__)
    resource = Resource(
        name="note",
        plural="notes",
        api="/api/v1/placed-notes",
        key="note_id",
        converter="int",
        record={"type": "object"},
        body={"type": "object"},
        roles={"list": "viewer", "read": "viewer", **dict.fromkeys(WRITES, "operator")},
        store={
            "list": lambda: list(store.records.values()),
            "read": store.get,
            "create": lambda body: store.save(next(store.ids), body),
            "update": lambda note_id, body: store.save(note_id, {**store.get(note_id), **body}),
            "delete": store.delete,
        },
        page=Page(
            path="/placed-notes",
            render=lambda status=200, **context: ("page", status),
            form_body=lambda form: {"text": form.get("text", "")},
            messages={"update": "Note {text} saved."},
            operations=("list", "update"),
            row=lambda note_id: f"<tr>{store.get(note_id)['text']}</tr>",
            editor=lambda note_id, errors, values, message="": f"<form>{errors}</form>",
        ),
    )
    register(bp, resource)
    app.register_blueprint(bp)
    return store


def test_a_record_is_edited_in_place_of_its_row(notes_in_place, logged_in):
    token = csrf_token(logged_in, "/users")
    htmx = {"HX-Request": "true"}
    assert logged_in.get("/placed-notes/1/edit").get_data(as_text=True) == "<form>{}</form>"
    assert logged_in.get("/placed-notes/1/row").get_data(as_text=True) == "<tr>Gate B</tr>"
    refused = logged_in.post(
        "/placed-notes/1", data={"text": "", "csrf_token": token}, headers=htmx
    )
    assert refused.status_code == 422
    assert refused.get_data(as_text=True) == "<form>{'text': 'Write some text.'}</form>"
    saved = logged_in.post(
        "/placed-notes/1", data={"text": "Gate C", "csrf_token": token}, headers=htmx
    )
    assert (saved.status_code, saved.get_data(as_text=True)) == (200, "<tr>Gate C</tr>")
    toast = {"doorctl:toast": {"message": "Note Gate C saved.", "tone": "ok"}}
    assert json.loads(saved.headers["HX-Trigger"]) == toast
    plain = logged_in.post("/placed-notes/1", data={"text": "Gate D", "csrf_token": token})
    assert (plain.status_code, notes_in_place.get(1)["text"]) == (303, "Gate D")


def test_the_declaration_gives_the_rest_routes_with_their_roles(client, doorctl, root, notes):
    operator = ApiClient(client, basic(*make_user(doorctl, "operator")))
    viewer = ApiClient(client, basic(*make_user(doorctl, "viewer")))
    created = operator.post("/api/v1/notes", json={"text": "Gate B"})
    assert (created.status_code, created.get_json()) == (201, {"id": 1, "text": "Gate B"})
    assert viewer.get("/api/v1/notes").get_json() == [{"id": 1, "text": "Gate B"}]
    assert viewer.post("/api/v1/notes", json={"text": "x"}).status_code == 403
    changed = operator.patch("/api/v1/notes/1", json={"text": "Gate C"})
    assert changed.get_json() == {"id": 1, "text": "Gate C"}
    refused = operator.put("/api/v1/notes/1", json={"text": ""})
    assert (refused.status_code, refused.get_json()["fields"]) == (
        400,
        {"text": "Write some text."},
    )
    assert operator.delete("/api/v1/notes/1").status_code == 204
    assert viewer.get("/api/v1/notes/1").status_code == 404


def test_the_declaration_gives_the_page_and_its_forms(notes, logged_in):
    assert logged_in.get("/notes").status_code == 200
    token = csrf_token(logged_in, "/users")
    added = logged_in.post("/notes", data={"text": "Gate B", "csrf_token": token})
    assert (added.status_code, added.location) == (303, "/notes")
    assert notes.records == {1: {"id": 1, "text": "Gate B"}}
    refused = logged_in.post("/notes", data={"text": "", "csrf_token": token})
    assert refused.status_code == 422
    assert refused.get_json() == ["errors", "message", "values"]
    deleted = logged_in.post("/notes/1/delete", data={"csrf_token": token})
    assert deleted.status_code == 303 and notes.records == {}


def test_the_declaration_gives_its_part_of_the_openapi_document(client, root, notes):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/notes"]) == {"get", "post"}
    assert set(paths["/api/v1/notes/{note_id}"]) == {"get", "put", "patch", "delete"}
    post = paths["/api/v1/notes"]["post"]
    assert post["summary"] == "Add a note."
    assert (post["x-doorctl-role"], paths["/api/v1/notes"]["get"]["x-doorctl-role"]) == (
        "operator",
        "viewer",
    )
    body = post["requestBody"]["content"]["application/json"]
    assert body["example"] == {"text": "Gate B is out of order."}
    assert (
        "required"
        not in paths["/api/v1/notes/{note_id}"]["patch"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
    )
