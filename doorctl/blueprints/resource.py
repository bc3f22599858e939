"""A resource declared once: its page routes, its REST routes and its OpenAPI part.

A resource is a kind of record the user lists, adds, reads, changes and deletes
(access rules, readers, schedules, cardholders). Its declaration names the store's
operations, the schema of a record and of a request, the role of each operation and
the words the page uses; `register()` makes the routes and `openapi.py` reads the
same declaration, so the page, the API and the document can't disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, jsonify, make_response, redirect, request, url_for

from doorctl.blueprints.common import allow, form_failed, json_body
from doorctl.core.errors import DoorctlError

OPERATIONS = ("list", "create", "read", "update", "delete")
WRITES = ("create", "update", "delete")
RESOURCES_KEY = "doorctl.resources"
PAGE_ENDPOINTS = {"list": "page", "create": "add", "update": "update", "delete": "delete"}
PAGE_SUMMARIES = {
    "list": "The {r.plural} page.",
    "create": "Add {a} {r.name} from the page.",
    "update": "Change {a} {r.name} from the page.",
    "delete": "Delete {a} {r.name} from the page.",
    "edit": "The form that edits {a} {r.name} in place of its row.",
    "row": "One {r.name}'s row of the page (what Cancel brings back).",
}
# operation -> (on one record, HTTP methods)
API_RULES = {
    "list": (False, ["GET"]),
    "create": (False, ["POST"]),
    "read": (True, ["GET"]),
    "update": (True, ["PUT", "PATCH"]),
    "delete": (True, ["DELETE"]),
}


@dataclass(frozen=True)
class Page:
    """The resource's page: where it is, how it renders and what it says after a change."""

    path: str
    render: Callable[..., Any]
    form_body: Callable[..., dict]
    messages: dict[str, str]
    operations: tuple[str, ...] = ("list", "create", "delete")
    failed_context: Callable[[str, Any], dict] = lambda operation, key: {}
    done: Callable[[str], Any] | None = None
    forms: str | None = None
    update_body: Callable[[Any, Any], dict] | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    # Editing in place: row(key) is a record's row, editor(key, errors, values) its
    # form; htmx swaps one for the other and a saved form answers the new row.
    row: Callable[[Any], str] | None = None
    editor: Callable[..., str] | None = None


@dataclass(frozen=True)
class Resource:
    """One kind of record: store operations, schemas, roles and labels."""

    name: str
    plural: str
    api: str
    key: str
    converter: str
    record: dict
    body: dict
    roles: dict[str, str]
    store: dict[str, Callable]
    answers: dict[str, dict] = field(default_factory=dict)
    list_query: list[dict] = field(default_factory=list)
    conflicts: tuple[str, ...] = ()
    example: dict | None = None
    page: Page | None = None
    summaries: dict[str, str] = field(default_factory=dict)
    key_example: int | str = 1

    @property
    def item_rule(self) -> str:
        """The URL rule of one record under the API."""
        return f"{self.api}/<{self.converter}:{self.key}>"

    def answer_of(self, operation: str) -> dict:
        """The JSON schema of a successful answer to an operation."""
        if operation in self.answers:
            return self.answers[operation]
        return {"type": "array", "items": self.record} if operation == "list" else self.record


def register(bp: Blueprint, resource: Resource) -> None:
    """Add the resource's REST routes and page routes to its blueprint."""
    _api_routes(bp, resource)
    if resource.page is not None:
        _page_routes(bp, resource, resource.page)
    bp.record_once(lambda state: _remember(state.app, resource))


def _remember(app, resource: Resource) -> None:
    """Keep the declaration in the app, where the OpenAPI document finds it."""
    app.extensions.setdefault(RESOURCES_KEY, []).append(resource)


def store_of(service: Callable[[], object], **other: Callable) -> dict[str, Callable]:
    """The store operations of a service that names them list, get, create, update and
    delete (the service is looked up per call: the appliance's, in the request's app);
    `other` replaces any of them."""
    return {
        "list": lambda: service().list(),
        "read": lambda key: service().get(key),
        "create": lambda body: service().create(body),
        "update": lambda key, body: service().update(key, body),
        "delete": lambda key: service().delete(key),
        **other,
    }


def _api_views(store: dict[str, Callable]) -> dict[str, Callable]:
    """One view per operation, each a thin call of the store's operation."""

    def api_list():
        return jsonify(store["list"]())

    def api_create():
        return jsonify(store["create"](json_body())), 201

    def api_get(**key):
        return jsonify(store["read"](*key.values()))

    def api_update(**key):
        return jsonify(store["update"](*key.values(), json_body()))

    def api_delete(**key):
        store["delete"](*key.values())
        return "", 204

    return {"list": api_list, "create": api_create, "read": api_get} | {
        "update": api_update,
        "delete": api_delete,
    }


def _api_routes(bp: Blueprint, resource: Resource) -> None:
    """list, create, read, update (PUT and PATCH) and delete under /api/v1."""
    for operation, view in _api_views(resource.store).items():
        view.__doc__ = _summary(resource, operation)
        on_record, methods = API_RULES[operation]
        rule = resource.item_rule if on_record else resource.api
        view = allow(resource.roles[operation])(view)
        bp.add_url_rule(rule, view.__name__, view, methods=methods)


def _article(resource: Resource) -> str:
    return "an" if resource.name[0] in "aeiou" else "a"


def _summary(resource: Resource, operation: str) -> str:
    """The one-line summary of an operation, in the resource's words."""
    a = _article(resource)
    return (
        resource.summaries.get(operation)
        or {
            "list": f"Every {resource.name}.",
            "create": f"Add {a} {resource.name}.",
            "read": f"One {resource.name}.",
            "update": f"Change {a} {resource.name}: the fields given, the others stay.",
            "delete": f"Delete {a} {resource.name}.",
        }[operation]
    )


def _page_routes(bp: Blueprint, resource: Resource, page: Page) -> None:
    """The page, and its forms' POSTs: add, change (POST to the record), delete."""
    forms = page.forms or page.path
    item = f"{forms}/<{resource.converter}:{resource.key}>"
    rules = {
        "list": (page.path, "GET"),
        "create": (forms, "POST"),
        "update": (item, "POST"),
        "delete": (f"{item}/delete", "POST"),
    }
    names = {**PAGE_ENDPOINTS, **page.endpoints}
    views = _page_views(bp, resource, page)
    operations = list(page.operations)
    if page.row is not None and page.editor is not None:
        rules |= {"edit": (f"{item}/edit", "GET"), "row": (f"{item}/row", "GET")}
        names |= {"edit": "edit", "row": "row"}
        views |= _in_place_views(page)
        operations += ["edit", "row"]
    for operation in operations:
        rule, method = rules[operation]
        role = resource.roles["update" if operation in ("edit", "row") else operation]
        view = allow(role)(views[operation])
        view.__doc__ = PAGE_SUMMARIES[operation].format(r=resource, a=_article(resource))
        bp.add_url_rule(rule, names[operation], view, methods=[method])


def _in_place_views(page: Page) -> dict[str, Callable]:
    """A record's form in place of its row, and its row again (Cancel)."""

    def edit(**key):
        (value,) = key.values()
        return page.editor(value, {}, None)

    def row(**key):
        (value,) = key.values()
        return page.row(value)

    return {"edit": edit, "row": row}


def _in_place_answer(page: Page, key, message: str, error: DoorctlError | None):
    """What an htmx save in place gets: the saved row and a toast, or the form again
    with every field's message (422)."""
    if error is not None:
        status = 422 if error.status == 400 else error.status
        return page.editor(key, error.fields, request.form, error.message), status
    response = make_response(page.row(key))
    toast = {"doorctl:toast": {"message": message, "tone": "ok"}}
    response.headers["HX-Trigger"] = json.dumps(toast)
    return response


def _page_views(bp: Blueprint, resource: Resource, page: Page) -> dict[str, Callable]:
    """One view per operation of the page: show it, or run a form and answer."""
    store = resource.store
    done = page.done or (lambda message: _done(bp.name, message))
    body = page.update_body or (lambda form, _: page.form_body(form))

    def run(operation: str, key, change: Callable[[], dict | None]):
        in_place = operation == "update" and page.row is not None and _htmx()
        try:
            record = change() or {}
        except DoorctlError as error:
            if in_place:
                return _in_place_answer(page, key, "", error)
            return form_failed(page.render, error, **page.failed_context(operation, key))
        message = page.messages[operation].format(**{resource.key: key, **record})
        return _in_place_answer(page, key, message, None) if in_place else done(message)

    def show():
        return page.render()

    def add():
        return run("create", None, lambda: store["create"](page.form_body(request.form)))

    def update(**key):
        (value,) = key.values()
        return run("update", value, lambda: store["update"](value, body(request.form, value)))

    def delete(**key):
        (value,) = key.values()
        return run("delete", value, lambda: store["delete"](value))

    return {"list": show, "create": add, "update": update, "delete": delete}


def _htmx() -> bool:
    """True for a form htmx sent in place of a row (not a boosted form, which wants
    the page)."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"


def _done(blueprint: str, message: str):
    """Tell what was done and show the page again (303 after a POST)."""
    flash(message)
    return redirect(url_for(f"{blueprint}.page"), 303)
