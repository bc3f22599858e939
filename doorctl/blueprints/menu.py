"""The main menu: the manual's sections, each item shown to the roles that may open it."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import current_user

from doorctl.blueprints.common import appliance, required_role

MENU = (
    ("Status", ("status.page",)),
    ("Access control", ("doors.page", "alarms.page")),
    ("Accessories", ("io_ports.page", "simulator.page")),
    ("System", ("users.page",)),
    ("Logs", ()),
    ("Maintenance", ()),
)
TITLES = {
    "status.page": "Status",
    "users.page": "Users",
    "doors.page": "Doors",
    "alarms.page": "Alarms",
    "io_ports.page": "I/O ports",
    "simulator.page": "Simulator",
}
# Items that exist only on some boards.
ONLY_IF = {"simulator.page": lambda: appliance().simulator.available()}


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
        and ONLY_IF.get(endpoint, lambda: True)()
        and current_user.is_authenticated
        and current_user.has_role(required_role(view))
    )


def _item(endpoint: str) -> dict:
    url = url_for(endpoint)
    current = request.path == url or request.path.startswith(url + "/")
    return {"title": TITLES[endpoint], "url": url, "current": current}
