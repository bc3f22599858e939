"""Date and time settings (System > Date and time): one form for the page, the API and
the store.

Synchronization is automatic with the NTP servers DHCP gives, automatic with NTP
servers entered here, or manual (the date and time set once, by hand). The time zone
is the device's: the access schedules, the logs and, on a Pi, the system use it.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Field, Form
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

from doorctl.core.fields import Choice, Text, is_host

SECTION = "date_time"
DHCP, NTP, MANUAL = "dhcp", "ntp", "manual"
SYNCHRONIZATION = (
    (DHCP, lazy_gettext("Automatic date and time (NTP servers using DHCP)")),
    (NTP, lazy_gettext("Automatic date and time (manual NTP servers)")),
    (MANUAL, lazy_gettext("Manual date and time")),
)
MAX_SERVERS = 8
NTP_PORT = 123
MANUAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


@cache
def zone_names() -> tuple[str, ...]:
    """The IANA time zones this system knows, sorted (the page's list)."""
    return tuple(sorted(available_timezones()))


def system_zone() -> str:
    """The system's time zone name: $TZ, /etc/timezone, /etc/localtime's link, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    timezone_file = Path("/etc/timezone")
    if timezone_file.exists():
        candidates.append(timezone_file.read_text().strip())
    link = Path("/etc/localtime")
    if link.is_symlink():
        candidates.append(str(link.resolve()).partition("zoneinfo/")[2])
    return next((name for name in candidates if _zone(name)), "UTC")


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of(record: dict) -> ZoneInfo:
    """The device's time zone from a Date and time record (empty: the system's)."""
    return _zone(record.get("time_zone") or "") or ZoneInfo(system_zone())


def host_error(address) -> str | None:
    """Why an NTP server's address is neither a host name nor an IP address, or None."""
    if not isinstance(address, str) or not address.strip():
        return _("Enter the server's host name or IP address.")
    if not is_host(address):
        return _(
            "Enter a host name or an IP address, without spaces, such as "
            "ntp.example.com or 192.0.2.10 (letters, digits, hyphens and dots)."
        )
    return None


def server_error(server) -> str | None:
    """What is wrong with one NTP server ({address, port, nts}), or None."""
    if not isinstance(server, dict) or set(server) - {"address", "port", "nts"}:
        return _("Give each server as an object with address, port and nts.")
    port = server.get("port", NTP_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        return _("Enter a port from 1 to 65535 (NTP's is 123).")
    if not isinstance(server.get("nts", False), bool):
        return _("NTS must be true or false.")
    return host_error(server.get("address"))


def manual_time(text) -> datetime | None:
    """A manual date and time as typed (YYYY-MM-DD HH:MM[:SS]), or None if it is not one."""
    for form in MANUAL_FORMATS:
        try:
            moment = datetime.strptime(str(text).strip(), form)
        except ValueError:
            continue
        return moment if 2000 <= moment.year <= 2099 else None
    return None


class ServerList(Field):
    """NTP servers: a JSON list of {address, port, nts}; on the page, numbered rows
    (`ntp_servers-1-address`, `-port`, `-nts`) of which the empty ones are left out."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=list, **kwargs)

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        self.raw_data = None
        self.data = [] if data is unset_value else data
        if formdata is not None and any(k.startswith(f"{self.name}-") for k in formdata):
            self.data = list(self._rows(formdata))

    def _rows(self, formdata):
        for number in range(1, MAX_SERVERS + 2):
            address = formdata.get(f"{self.name}-{number}-address", "").strip()
            if not address:
                continue
            port = formdata.get(f"{self.name}-{number}-port", "").strip() or str(NTP_PORT)
            nts = formdata.get(f"{self.name}-{number}-nts") == "y"
            yield {"address": address, "port": int(port) if port.isdigit() else port, "nts": nts}

    def pre_validate(self, form):
        if not isinstance(self.data, list):
            raise ValidationError(_("Must be a list."))
        if len(self.data) > MAX_SERVERS:
            raise ValidationError(_("Enter at most %(most)d NTP servers.", most=MAX_SERVERS))
        for number, server in enumerate(self.data, 1):
            if problem := server_error(server):
                raise ValidationError(
                    _("NTP server %(number)d: %(problem)s", number=number, problem=problem)
                )
        self.data = [{"port": NTP_PORT, "nts": False, **server} for server in self.data]
        addresses = [server["address"].lower() for server in self.data]
        if len(set(addresses)) < len(addresses):
            raise ValidationError(_("Enter each NTP server once."))


class DateTimeSettings(Form):
    """Date and time (Administrator): synchronization, NTP servers, time zone."""

    synchronization = Choice(lazy_gettext("Synchronization"), choices=SYNCHRONIZATION, default=DHCP)
    ntp_servers = ServerList(
        lazy_gettext("NTP servers"),
        description=lazy_gettext(
            "Host names or IP addresses; NTS authenticates the server (it must offer NTS)."
        ),
    )
    manual_time = Text(
        lazy_gettext("Date and time"),
        default="",
        description=lazy_gettext("Set once, in the device's time zone, when you save."),
    )
    time_zone = Text(
        lazy_gettext("Time zone"),
        default="",
        description=lazy_gettext(
            "Schedules, logs and the system use it. Empty: the system's time zone."
        ),
    )

    def validate_ntp_servers(self, field):
        if self.synchronization.data == NTP and not field.data:
            raise ValidationError(_("Enter at least one NTP server, or choose another option."))

    def validate_manual_time(self, field):
        if self.synchronization.data != MANUAL:
            field.data = ""  # kept only in manual mode: a switch to it needs a time now
            return
        if manual_time(field.data) is None:
            raise ValidationError(
                _("Enter a date and time as YYYY-MM-DD HH:MM, such as 2026-03-01 14:30.")
            )

    def validate_time_zone(self, field):
        if field.data and field.data not in zone_names():
            raise ValidationError(
                _("Choose a time zone from the list, such as Europe/Stockholm, or leave empty.")
            )
