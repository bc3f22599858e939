"""The main menu: the manual's sections, each item shown to the roles that may open it.

Each blueprint module lists its own entries as MENU_ITEMS = [(section, title,
endpoint)], so adding a page never means editing a shared table. The section is the
English key; the title is a lazy_gettext string, rendered in the page's language.
"""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import required_role

SECTIONS = ("Status", "Access control", "System", "Accessories", "Logs", "Maintenance")
# The sections' headings in the page's language (MENU_ITEMS name them in English).
SECTION_TITLES = {
    "Status": lazy_gettext("Status"),
    "Access control": lazy_gettext("Access control"),
    "System": lazy_gettext("System"),
    "Accessories": lazy_gettext("Accessories"),
    "Logs": lazy_gettext("Logs"),
    "Maintenance": lazy_gettext("Maintenance"),
}


def collect(modules) -> list[tuple[str, str, str]]:
    """Every MENU_ITEMS entry of the blueprint modules, in the order they are given."""
    items = [item for module in modules for item in getattr(module, "MENU_ITEMS", ())]
    unknown = {section for section, _, _ in items} - set(SECTIONS)
    if unknown:
        raise ValueError(f"menu sections not in the manual: {sorted(unknown)}")
    return items


def menu_for() -> list[dict]:
    """The menu sections with the items the current user may open; a section with none
    is left out, so no heading stands over an empty list."""
    items = current_app.extensions["doorctl.menu"]
    sections = [
        {
            "title": SECTION_TITLES[section],
            "items": [_item(t, e) for s, t, e in items if s == section and _visible(e)],
        }
        for section in SECTIONS
    ]
    return [section for section in sections if section["items"]]


def _visible(endpoint: str) -> bool:
    view = current_app.view_functions.get(endpoint)
    return (
        view is not None
        and current_user.is_authenticated
        and current_user.has_role(required_role(view))
        and getattr(view, "doorctl_shown", lambda: True)()
    )


def _item(title: str, endpoint: str) -> dict:
    url = url_for(endpoint)
    current = request.path == url or request.path.startswith(url + "/")
    return {"title": title, "url": url, "current": current}
