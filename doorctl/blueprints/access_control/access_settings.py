"""Access settings (Access control): the PIN entry timeout.

One form definition (core's AccessSettings) checks the page, the JSON and the store,
and describes the section in the OpenAPI document. The time zone of schedules is the
device's, set under System > Date and time: the page shows it with a link there, and
the API still answers it as `time_zone` (read only: a PUT that would change it is told
where it moved, one that repeats it is fine).
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, json_body, render, save_section
from doorctl.core.access_control.access import SECTION
from doorctl.core.errors import Invalid

MENU_ITEMS = [("Access control", lazy_gettext("Access settings"), "access_settings.page")]
bp = Blueprint("access_settings", __name__)


def _page(status: int = 200, form=None, **context):
    return render(
        "access_control/access_settings/page.html",
        status,
        form=form or appliance().settings.form(SECTION),
        time_zone=_zone(),
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/access/settings")
def page():
    """The Access settings page."""
    return _page()


@bp.route("/access/settings", methods=["POST"])
def save():
    """Save the page's settings; each bad field keeps its value and says what is allowed."""
    return save_section(SECTION, _page, _("Access settings saved."), "access_settings.page")


def _zone() -> str:
    """The device's time zone (System > Date and time), which schedules are in."""
    return appliance().access.tz.key


def _answer(record: dict):
    return jsonify({**record, "time_zone": _zone()})


@bp.route("/api/v1/access-settings")
def api_get():
    """The access settings, with the device's time zone (read only) schedules are in."""
    return _answer(appliance().settings.get(SECTION))


@bp.route("/api/v1/access-settings", methods=["PUT", "PATCH"])
def api_update():
    """Change some or all access settings (the time zone: PUT /api/v1/date-time)."""
    settings, changes = appliance().settings, json_body()
    if "time_zone" in changes and changes.pop("time_zone") != _zone():
        moved = _("The time zone is set under System > Date and time (PUT /api/v1/date-time).")
        errors, labels = {"time_zone": moved}, {"time_zone": _("Time zone")}
        try:
            settings.validated(SECTION, changes)
        except Invalid as error:
            errors, labels = {**errors, **error.fields}, {**labels, **error.labels}
        raise Invalid(errors, labels=labels)
    return _answer(settings.update(SECTION, changes))
