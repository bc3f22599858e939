"""Date and time (manual: System > Date and time) and the Status page's Time sync card.

One form definition (core's DateTimeSettings) checks the page, the JSON and the store,
and describes the section in the OpenAPI document. The sync state is a live panel
(`time-sync`) on this page and on the Status page.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime
from flask import Blueprint, jsonify, render_template
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

from doorctl.blueprints.common import allow, appliance, json_body, render, save_section
from doorctl.core.system.date_time.settings import (
    MANUAL,
    MAX_SERVERS,
    SECTION,
    SYNCHRONIZATION,
    system_zone,
    zone_names,
    zone_of,
)

MENU_ITEMS = [("System", lazy_gettext("Date and time"), "date_time.page")]
bp = Blueprint("date_time", __name__)


def _servers_shown(servers: list) -> list[dict]:
    """The rows of the NTP server list: each server, then empty rows to add more."""
    rows = [s if isinstance(s, dict) else {"address": str(s)} for s in servers]
    blank = max(1, 3 - len(rows)) if len(rows) < MAX_SERVERS else 0
    return rows + [{"address": "", "port": "", "nts": False}] * blank


def _page(status: int = 200, form=None, **context):
    """The page with the stored record, or the form that was refused."""
    settings = appliance().settings
    form = form or settings.form(SECTION)
    record = settings.get(SECTION)
    zone = zone_of(record)
    if form.synchronization.data != MANUAL or not form.manual_time.data:
        form.manual_time.data = datetime.now(zone).strftime("%Y-%m-%dT%H:%M")
    return render(
        "system/date_time/page.html",
        status,
        form=form,
        choices=SYNCHRONIZATION,
        servers=_servers_shown(form.ntp_servers.data or []),
        zones=zone_names(),
        system_zone=system_zone(),
        zone=zone.key,
        now=format_datetime(datetime.now(zone), "full", tzinfo=zone, locale=get_locale()),
        sync=appliance().date_time.status(),
        max_servers=MAX_SERVERS,
        errors=context.pop("errors", {}),
        **context,
    )


def time_sync_html() -> str:
    """The Time sync card (Status page and this page's live panel)."""
    return render_template("status/_time_sync.html", sync=appliance().date_time.status())


@bp.route("/date-time")
def page():
    """The Date and time page."""
    return _page()


@bp.route("/date-time", methods=["POST"])
def save():
    """Save the page's settings; each bad field keeps its value and says what is allowed."""
    return save_section(SECTION, _page, _("Date and time saved."), "date_time.page")


@bp.route("/date-time/sync")
@allow("viewer")
def sync_card():
    """The Time sync card alone."""
    return time_sync_html()


@bp.route("/api/v1/date-time")
def api_get():
    """The date and time settings: synchronization, NTP servers, time zone."""
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/date-time", methods=["PUT", "PATCH"])
def api_update():
    """Change date and time settings; manual synchronization sets the clock to manual_time."""
    return jsonify(appliance().settings.update(SECTION, json_body()))


@bp.route("/api/v1/date-time/status")
@allow("viewer")
def api_status():
    """Time sync: in sync or not and why, the server, the offset and the next sync."""
    return jsonify(appliance().date_time.status())
