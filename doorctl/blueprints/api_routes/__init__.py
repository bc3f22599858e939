"""What the OpenAPI document says of each /api/v1 operation beyond its rule and role.

Resources (resource.py) describe themselves. A settings section's body is its
WTForms form, found by name in the appliance's settings. The other routes name here
their query parameters, their body and answer (built from the core's own constants)
and the errors a caller can meet besides the usual ones.
"""

from __future__ import annotations

from doorctl.blueprints.api_routes import access_control, logs, maintenance, system
from doorctl.blueprints.api_schemas import DEVICE, TEXT, USER
from doorctl.blueprints.common import appliance
from doorctl.blueprints.form_schema import form_schema

INTRODUCTION = (
    "Every page of doorctl has a JSON counterpart under /api/v1/. Authenticate with "
    "HTTP Basic (or a logged-in session). Writes take Content-Type: application/json; "
    "with the session they also send its CSRF token as X-CSRFToken, and a browser's "
    "write from a page of another site is refused. "
    'Errors are {"error": "what went wrong", "fields": {"field": "what is wrong with it"}}.'
)
# path -> (settings section, whether GET and the change answer the stored record,
#          the schema of each element of its list fields), each menu's own
SETTINGS = {**access_control.SETTINGS, **system.SETTINGS, **logs.SETTINGS}
# (endpoint, method) -> what the document says besides the rule and the role
ROUTES: dict[tuple[str, str], dict] = {
    ("status.api_device", "GET"): {"answer": DEVICE},
    ("setup.api", "POST"): {
        "status": "201",
        "body": {
            "type": "object",
            "required": ["password", "password_repeat"],
            "properties": {"password": TEXT, "password_repeat": TEXT},
        },
        "answer": USER,
        "errors": ("409",),
        "example": {"password": "s3cret pass", "password_repeat": "s3cret pass"},
    },
    **access_control.ROUTES,
    **system.ROUTES,
    **logs.ROUTES,
    **maintenance.ROUTES,
}


def describe(endpoint: str, method: str, path: str, resources: dict) -> dict:
    """What the document says of one operation besides its rule and role."""
    for resource in resources.values():
        found = resource_operation(resource, path, method)
        if found is not None:
            return found
    found = _settings_operation(path, method) if path in SETTINGS else {}
    same = "PUT" if method == "PATCH" else method
    return {**found, **(ROUTES.get((endpoint, method)) or ROUTES.get((endpoint, same)) or {})}


def resource_operation(resource, path: str, method: str) -> dict | None:
    """The resource's operation at this path and method, or None."""
    operation = {
        (resource.api, "GET"): "list",
        (resource.api, "POST"): "create",
    }.get((path, method))
    if path == f"{resource.api}/{{{resource.key}}}":
        operation = {"GET": "read", "PUT": "update", "PATCH": "update"}.get(method, "delete")
    if operation is None:
        return None
    found = {"answer": resource.answer_of(operation), "errors": _conflicts(resource, operation)}
    found["params"] = {resource.key: {"examples": [resource.key_example]}}
    if operation == "list":
        found["query"] = resource.list_query
    if operation == "create":
        found["status"] = "201"
    if operation in ("create", "update"):
        found["body"] = _partial(resource.body) if operation == "update" else resource.body
        found["example"] = resource.example
    return found


def _conflicts(resource, operation: str) -> tuple[str, ...]:
    return ("409",) if operation in resource.conflicts else ()


def _partial(schema: dict) -> dict:
    """A change names only the fields it changes."""
    return {k: v for k, v in schema.items() if k != "required"}


def _settings_operation(path: str, method: str) -> dict:
    """A settings section: the body is its form, every field optional."""
    section, answers_record, items = SETTINGS[path]
    form = form_schema(appliance().settings.sections[section], partial=True, items=items)
    record = {**form, "additionalProperties": True} if answers_record else {"type": "object"}
    if method == "GET":
        return {"answer": record}
    example = appliance().settings.defaults(section)
    return {"body": form, "answer": record, "example": example}
