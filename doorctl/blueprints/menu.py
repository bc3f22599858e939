"""The main menu: the manual's sections, each item shown to the roles that may open it."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import current_user

from doorctl.blueprints.common import required_role

MENU = (
    ("Status", ("status.page",)),
    ("Access control", ()),
    ("System", ("users.page", "mqtt.page")),
    ("Logs", ()),
    ("Maintenance", ()),
)
TITLES = {"status.page": "Status", "users.page": "Users", "mqtt.page": "MQTT"}


def menu_for() -> list[dict]:
    """The menu sections with the items the current user may open."""
    sections = []
    for title, endpoints in MENU:
        items = [_item(endpoint) for endpoint in endpoints if _visible(endpoint)]
        sections.append({"title": title, "items": items})
    return sections


def _visible(endpoint: str) -> bool:
    view = current_app.view_functions.get(endpoint)
    return (
        view is not None
        and current_user.is_authenticated
        and current_user.has_role(required_role(view))
    )


def _item(endpoint: str) -> dict:
    url = url_for(endpoint)
    current = request.path == url or request.path.startswith(url + "/")
    return {"title": TITLES[endpoint], "url": url, "current": current}
