"""The REST API's OpenAPI 3.1 document, made from what the routes themselves declare.

Nothing here is a second copy of the API: each operation comes from a Flask rule
under /api/v1, its role from allow(), its summary from the view's docstring, its body
from the resource declaration (resource.py) or the WTForms definition of the
settings section it changes, so the document says what the code checks.
"""

from __future__ import annotations

import inspect
import re

from flask import Blueprint, current_app, render_template

from doorctl import __version__
from doorctl.blueprints import api_routes
from doorctl.blueprints.common import PUBLIC, allow, required_role
from doorctl.blueprints.resource import RESOURCES_KEY
from doorctl.blueprints.setup import first_access

bp = Blueprint("openapi", __name__)
PREFIX = "/api/v1"
DOCUMENT_KEY = "doorctl.openapi"
ERROR = {
    "type": "object",
    "required": ["error", "fields"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in a sentence."},
        "fields": {
            "type": "object",
            "description": "Each bad field and what is wrong with it.",
            "additionalProperties": {"type": "string"},
        },
    },
    "example": {
        "error": "Name: Enter 1 to 64 characters.",
        "fields": {"name": "Enter 1 to 64 characters."},
    },
}
ERRORS = {
    "400": "Bad input: the message names each bad field.",
    "401": "No or wrong credentials (HTTP Basic or a logged-in session).",
    "403": (
        "The role is too low, the record is protected, root's password is not set, "
        "or a browser said the request came from a page of another site."
    ),
    "404": "No such record.",
    "409": "A conflict with what is stored: a duplicate, a limit reached, a record in use.",
    "413": "The request body is too large.",
    "415": "The body is not JSON (Content-Type: application/json); a form type never is.",
    "422": "The uploaded file is refused as a whole (a firmware bundle): the message says "
    "why, and nothing changed.",
    "429": "Too many failed logins from this address: blocked for the seconds in Retry-After.",
    "502": "The engine behind the setting (NetworkManager) refused it; nothing changed.",
    "503": "The change is in effect but could not be stored: a restart would not keep it.",
    "504": "The device did not answer in time; the message says what happens next.",
}
ROLES_TEXT = {
    PUBLIC: "none (no login needed)",
    "viewer": "Viewer",
    "operator": "Operator",
    "administrator": "Administrator",
}
VARIABLE = re.compile(r"<(?:[^<>]+:)?(\w+)>")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


# --- the document -----------------------------------------------------------------------


def document() -> dict:
    """The whole OpenAPI 3.1 document of the /api/v1 routes of the running app."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "doorctl REST API",
            "version": __version__,
            "description": api_routes.INTRODUCTION,
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


def _paths() -> dict[str, dict]:
    """Every /api/v1 path with its operations, by path."""
    resources = {r.api: r for r in current_app.extensions.get(RESOURCES_KEY, [])}
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX) or rule.endpoint == "openapi.spec":
            continue
        view = current_app.view_functions[rule.endpoint]
        for path, parameters in _concrete_paths(rule):
            item = paths.setdefault(path, {})
            for method in sorted(set(rule.methods) & set(METHODS)):
                item[method.lower()] = operation(rule, view, method, path, parameters, resources)
    return dict(sorted(paths.items()))


def _concrete_paths(rule):
    """The OpenAPI paths of a rule: `<any(a, b):x>` becomes one path per choice."""
    paths = [(rule.rule, [])]
    for match in VARIABLE.finditer(rule.rule):
        text, name = match.group(0), match.group(1)
        converter = rule._converters[name]
        choices = sorted(getattr(converter, "items", None) or ())
        if choices:
            paths = [(p.replace(text, c), params) for p, params in paths for c in choices]
        else:
            parameter = _path_parameter(name, converter)
            paths = [(p.replace(text, f"{{{name}}}"), [*ps, parameter]) for p, ps in paths]
    return paths


def _path_parameter(name: str, converter) -> dict:
    """A path parameter: a record id (whole number) or a name."""
    if type(converter).__name__ in ("RecordId", "IntegerConverter"):
        schema = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1, "examples": [1]}
    else:
        schema = {"type": "string", "pattern": "^[^/]+$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def operation(rule, view, method: str, path: str, parameters: list, resources: dict) -> dict:
    """One operation: summary, role, parameters, request body and every answer it gives."""
    role = required_role(view)
    described = api_routes.describe(rule.endpoint, method, path, resources)
    parameters = [_refined(p, described.get("params", {})) for p in parameters]
    summary, _, details = inspect.getdoc(view).partition("\n") if view.__doc__ else ("", "", "")
    answer = {
        "operationId": _operation_id(rule.endpoint, method, path),
        "summary": summary.strip(),
        "description": f"Role: {ROLES_TEXT[role]}. {details.strip()}".strip(),
        "tags": [path.split("/")[3]],
        "x-doorctl-role": role,
        "parameters": parameters + described.get("query", []),
        "responses": _responses(described, method, role, parameters + described.get("query", [])),
    }
    answer["security"] = [] if role == PUBLIC else [{"basic": []}, {"session": []}]
    if method in ("POST", "PUT", "PATCH") and described.get("body") is not False:
        answer["requestBody"] = _request_body(described)
    return answer


def _refined(parameter: dict, known: dict) -> dict:
    """A path parameter with what the route knows of it: its choices or an example."""
    extra = known.get(parameter["name"])
    if not extra:
        return parameter
    return {**parameter, "schema": {**parameter["schema"], **extra}}


def _operation_id(endpoint: str, method: str, path: str) -> str:
    """A unique id: the endpoint, the method, and the path's fixed choice if expanded."""
    last = path.rstrip("/").split("/")[-1]
    suffix = "" if "{" in last or last in endpoint else f"_{last.replace('-', '_')}"
    return f"{endpoint.replace('.', '_')}{suffix}_{method.lower()}"


def _request_body(described: dict) -> dict:
    """The request body: JSON unless the route takes a file."""
    if described.get("content"):
        return {"required": True, "content": described["content"]}
    json = {"schema": described.get("body") or {"type": "object"}}
    if described.get("example"):
        json["example"] = described["example"]
    return {"required": True, "content": {"application/json": json}}


def _responses(described: dict, method: str, role: str, parameters: list) -> dict:
    """The success answer and each error answer the operation can give."""
    status = described.get("status", "200")
    if method == "DELETE":
        status = "204"
    success: dict = {"description": described.get("answer_text", "Done.")}
    if status != "204":
        media = described.get("answer_type", "application/json")
        success["content"] = {media: {"schema": described.get("answer", {})}}
        for other, schema in described.get("answer_types", {}).items():  # e.g. ?format=json
            success["content"][other] = {"schema": schema}
    codes = set(described.get("errors", ()))
    if role != PUBLIC:
        codes |= {"401", "403", "429"}
    if method in ("POST", "PUT", "PATCH"):
        codes |= {"400", "413"}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        codes |= {"400", "403", "415"}  # the session's token, another site, a form type
    if any(p["in"] == "path" for p in parameters):
        codes.add("404")
    if any(p["in"] == "query" for p in parameters):
        codes.add("400")
    errors = {c: _error(c) for c in sorted(codes)}
    also = {
        code: {"description": text, "content": {"application/json": {"schema": schema}}}
        for code, (text, schema) in described.get("also", {}).items()
    }
    return {status: success, **also, **errors}


def _error(code: str) -> dict:
    return {
        "description": ERRORS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


@bp.route(f"{PREFIX}/openapi.json")
@first_access
def spec():
    """This document: every /api/v1 operation, its role, body and answers (no login).

    Made once per app: the routes and forms don't change while it runs, and making
    it holds the hub about 11 ms on a PC (longer on a Pi), for anyone who asks.
    """
    made = current_app.extensions.get(DOCUMENT_KEY)
    if made is None:
        made = current_app.json.response(document()).get_data()
        current_app.extensions[DOCUMENT_KEY] = made
    return current_app.response_class(made, mimetype="application/json")


@bp.route("/help/api")
@allow("viewer")
def viewer():
    """The document in the vendored Swagger UI, from the Help page (no CDN, no internet)."""
    return render_template("help/api.html")
