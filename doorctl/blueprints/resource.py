"""A resource declared once: its page routes, its REST routes and its OpenAPI part.

A resource is a kind of record the user lists, adds, reads, changes and deletes
(access rules, readers, schedules, cardholders). Its declaration names the store's
operations, the schema of a record and of a request, the role of each operation and
the words the page uses; `register()` makes the routes and `openapi.py` reads the
same declaration, so the page, the API and the document can't disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for

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
    for operation in page.operations:
        rule, method = rules[operation]
        view = allow(resource.roles[operation])(views[operation])
        view.__doc__ = PAGE_SUMMARIES[operation].format(r=resource, a=_article(resource))
        bp.add_url_rule(rule, names[operation], view, methods=[method])


def _page_views(bp: Blueprint, resource: Resource, page: Page) -> dict[str, Callable]:
    """One view per operation of the page: show it, or run a form and answer."""
    store = resource.store
    done = page.done or (lambda message: _done(bp.name, message))
    body = page.update_body or (lambda form, _: page.form_body(form))

    def run(operation: str, key, change: Callable[[], dict | None]):
        try:
            record = change() or {}
        except DoorctlError as error:
            return form_failed(page.render, error, **page.failed_context(operation, key))
        return done(page.messages[operation].format(**{resource.key: key, **record}))

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


def _done(blueprint: str, message: str):
    """Tell what was done and show the page again (303 after a POST)."""
    flash(message)
    return redirect(url_for(f"{blueprint}.page"), 303)
