"""The Flask application factory: builds the web appliance over one data directory.

create_app() has no side effects at import and starts no service; `doorctl serve`
starts them (see cli.py).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.units import format_unit
from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from htmx_flask import Htmx
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from doorctl.blueprints import auth, help, kiosk, language, live, openapi, setup
from doorctl.blueprints.access_control import (
    access_rules,
    access_settings,
    alarms,
    cardholders,
    credentials,
    doors,
    groups,
    peripherals,
    schedules,
    simulator,
)
from doorctl.blueprints.accessories import io_ports
from doorctl.blueprints.common import error_answer
from doorctl.blueprints.logs import (
    access_log,
    audit_log,
    events,
    network_trace,
    remote_syslog,
    reports,
    system_log,
)
from doorctl.blueprints.maintenance import backup, maintenance
from doorctl.blueprints.maintenance import firmware as firmware_page
from doorctl.blueprints.menu import collect, menu_for
from doorctl.blueprints.status import status
from doorctl.blueprints.system import (
    certificates,
    date_time,
    discovery,
    ieee8021x,
    kiosk_display,
    mqtt,
    network,
    network_ip,
    proxy,
    security,
    snmp,
    snmp_mib,
    snmp_users,
    users,
)
from doorctl.core.appliance import CHRONY_SOCKET, CHRONY_SOURCES, Appliance
from doorctl.core.errors import DoorctlError
from doorctl.core.logs import network_trace as network_trace_core
from doorctl.core.maintenance import firmware
from doorctl.core.maintenance.upgrade import Firmware
from doorctl.core.secrets import session_key
from doorctl.core.system.date_time.chrony import Chrony
from doorctl.core.system.network.http_https import CONFIRM_SECONDS
from doorctl.core.system.network.https import NAMES_CHECK_SECONDS
from doorctl.core.system.network.nm import NetworkManager
from doorctl.json_answers import JSONAnswers

log = logging.getLogger(__name__)
# The largest request body: a 100,000-cardholder CSV is about 8 MiB, reader firmware less.
MAX_UPLOAD = 32 * 1024 * 1024
MAX_RECORD_ID = 2**63 - 1
# On every answer (page, API, static file): only the device's own scripts and styles,
# no framing, no type sniffing, no address leaked to other sites, no powerful features.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=()"
    ),
}


class SessionCookie(SecureCookieSessionInterface):
    """The session cookie, marked Secure whenever the page came over HTTPS."""

    def get_cookie_name(self, app) -> str:
        """HTTPS keeps a cookie of its own (__Host-: Secure, this host only). A browser
        never lets plain HTTP replace a Secure cookie, so one shared name would keep a
        browser that used HTTPS from logging in over HTTP on the same host (after a
        change to HTTP only); and a cookie set over HTTP never logs in over HTTPS."""
        return "__Host-session" if request.is_secure else super().get_cookie_name(app)

    def get_cookie_secure(self, app) -> bool:
        """Secure over HTTPS, so the browser never sends the cookie over plain HTTP."""
        return request.is_secure or super().get_cookie_secure(app)


def security_headers(response):
    """Tell the browser to confine every answer, errors and static files included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class RecordId(IntegerConverter):
    """<int:...> in URLs, no larger than SQLite's integers: a bigger one is a 404.

    The 404 is raised here: a converter that only refuses the value would let the
    router answer 405 to a PUT or DELETE of an id too large.
    """

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_RECORD_ID:
            raise NotFound(f"No record has an id above {MAX_RECORD_ID}.")
        return number


# Werkzeug's titles and messages of the errors a person meets, in the page's language
# (a view's own message is kept).
HTTP_ERRORS = {
    400: (lazy_gettext("Bad request"), lazy_gettext("The request could not be understood.")),
    404: (lazy_gettext("Page not found"), lazy_gettext("There is no page at this address.")),
    405: (
        lazy_gettext("Method not allowed"),
        lazy_gettext("This address does not take this kind of request."),
    ),
    413: (lazy_gettext("Too large"), lazy_gettext("The request is larger than the device takes.")),
}

SECTIONS = (
    setup,
    status,
    doors,
    cardholders,
    credentials,
    groups,
    schedules,
    access_rules,
    access_settings,
    alarms,
    peripherals,
    io_ports,
    simulator,
    users,
    date_time,
    network,
    network_ip,
    discovery,
    security,
    ieee8021x,
    mqtt,
    proxy,
    snmp,
    snmp_mib,
    snmp_users,
    kiosk_display,
    certificates,
    reports,
    system_log,
    events,
    access_log,
    audit_log,
    network_trace,
    remote_syslog,
    backup,
    firmware_page,
    maintenance,
    help,
    kiosk,
    live,
    openapi,
)


def default_data_dir() -> Path:
    """/var/lib/doorctl as root, else the user's XDG data directory."""
    if os.geteuid() == 0:
        return Path("/var/lib/doorctl")
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg) / "doorctl"


def network_manager(config) -> NetworkManager:
    """The NetworkManager whose connection the IP settings change (the Pi's eth0 and
    its system bus by default; tests give their own interface and bus)."""
    return NetworkManager(
        interface=config["NETWORK_INTERFACE"],
        connection=config["NETWORK_CONNECTION"],
        bus_address=config["NETWORK_BUS"],
        system_hostname=bool(config["NETWORK_SYSTEM_HOSTNAME"]),
    )


def create_app(config: dict | None = None) -> Flask:
    """Build the app: appliance, extensions, blueprints and error pages."""
    app = Flask(__name__)
    app.get_send_file_max_age = static_max_age
    app.json = JSONAnswers(app)
    app.url_map.converters["int"] = RecordId
    app.config.from_mapping(
        DATA_DIR=str(default_data_dir()),
        HARDWARE="sim",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        READER_TEST_PORTS=False,
        ENGINE_PROCESS=True,
        CONFIRM_SECONDS=CONFIRM_SECONDS,
        NAMES_CHECK_SECONDS=NAMES_CHECK_SECONDS,
        CHRONY_SOCKET=CHRONY_SOCKET,
        CHRONY_SOURCES=CHRONY_SOURCES,
        CHRONYC="chronyc",
        CHRONY_SERVER_OPTIONS="iburst",
        TIMEDATECTL=None,  # timedatectl on a Pi, none elsewhere
        NETWORK_INTERFACE="eth0",
        NETWORK_CONNECTION="",
        NETWORK_BUS="",
        NETWORK_SYSTEM_HOSTNAME=True,
        TCPDUMP=network_trace_core.TCPDUMP,
        SNMPD="snmpd",
        SNMP_ADDRESS="0.0.0.0",  # where snmpd listens (tests: 127.0.0.1)
    )
    app.config.update(config or {})
    app.config.setdefault(
        "FIRMWARE_DIR",
        os.environ.get(firmware.FIRMWARE_DIR_ENV) or firmware.default_dir(app.config["DATA_DIR"]),
    )
    doorctl = Appliance(
        Path(app.config["DATA_DIR"]),
        app.config["HARDWARE"],
        role="web" if app.config["ENGINE_PROCESS"] else "whole",
        reader_test_ports=bool(app.config["READER_TEST_PORTS"]),
    )
    app.extensions["doorctl"] = doorctl
    app.extensions["doorctl.firmware"] = Firmware(
        Path(app.config["FIRMWARE_DIR"]),
        Path(app.config["DATA_DIR"]),
        doorctl.bus,
        lambda: doorctl.maintenance.restart_after("firmware"),
    )
    doorctl.http_https.confirm_seconds = app.config["CONFIRM_SECONDS"]
    doorctl.https.check_every = app.config["NAMES_CHECK_SECONDS"]
    doorctl.ip_network.confirm_seconds = app.config["CONFIRM_SECONDS"]
    doorctl.ip_network.engine = network_manager(app.config)
    app.secret_key = session_key(doorctl.secret_key)
    _use_time_engines(app, doorctl)
    doorctl.ieee8021x.engine = doorctl.ip_network.engine
    doorctl.network_trace.tcpdump = app.config["TCPDUMP"]
    doorctl.snmp.snmpd = app.config["SNMPD"]
    doorctl.snmp.address = app.config["SNMP_ADDRESS"]
    app.session_interface = SessionCookie()
    app.after_request(security_headers)
    Htmx(app)
    language.init_app(app)
    auth.init_app(app)
    for section in SECTIONS:
        app.register_blueprint(section.bp)
    app.extensions["doorctl.menu"] = collect(SECTIONS)
    _register_errors(app)
    app.context_processor(lambda: {"menu": menu_for, "device": doorctl.device})
    app.add_template_filter(duration)
    app.add_template_filter(localtime)
    app.add_template_filter(isotime)
    app.add_template_filter(number)
    return app


def _use_time_engines(app: Flask, doorctl: Appliance) -> None:
    """chrony's socket, doorctl's sources file and timedatectl, as configured."""
    config = app.config
    timedatectl = config["TIMEDATECTL"]
    if timedatectl is None:
        timedatectl = "timedatectl" if config["HARDWARE"] == "rpi" else ""
    chrony = Chrony(config["CHRONY_SOCKET"], config["CHRONY_SOURCES"], config["CHRONYC"])
    doorctl.date_time.use(chrony, timedatectl, config["CHRONY_SERVER_OPTIONS"])


def static_max_age(filename: str | None) -> int | None:
    """A day in the browser's cache for vendored files (pinned, changed only by an upgrade):
    live panels swap icons in, and each <use> of the sprite would otherwise ask again."""
    return 86400 if filename and filename.startswith("vendor/") else None


def localtime(epoch: float) -> str:
    """An event time in the device's time zone, to the second, written the way the
    page's language writes dates and times (manual: "Date and time")."""
    moment = datetime.fromtimestamp(epoch).astimezone()
    return format_datetime(moment, "medium", tzinfo=moment.tzinfo, locale=get_locale())


def isotime(epoch: float) -> str:
    """An event time as ISO 8601 with its UTC offset, for machines and <time>."""
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="milliseconds")


def number(value: float) -> str:
    """A count or measure written the page's way (12,345 in English, 12.345 in German)."""
    return format_decimal(value, locale=get_locale())


# The units of a duration, largest first, as CLDR names them.
DURATION_UNITS = ((86400, "duration-day"), (3600, "duration-hour"), (60, "duration-minute"))


def duration(seconds: float) -> str:
    """Seconds as the '3 days 4 hr 5 min' a person reads at a glance, in the page's
    language; under a minute, the seconds."""
    rest = int(seconds)
    parts = []
    for size, unit in DURATION_UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(format_unit(count, unit, length="short", locale=get_locale()))
    return " ".join(parts) or format_unit(
        rest, "duration-second", length="short", locale=get_locale()
    )


def _register_errors(app: Flask) -> None:
    """Bad input and missing pages answer with a message, never a traceback."""

    @app.errorhandler(DoorctlError)
    def doorctl_error(error: DoorctlError):
        return error_answer(error.status, _("Error"), error.message, error.fields)

    @app.errorhandler(OverflowError)
    def too_large(error: OverflowError):
        message = _("A number in the request is too large (at most %(most)d).", most=MAX_RECORD_ID)
        return error_answer(400, _("Number too large"), message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        title, said = HTTP_ERRORS.get(error.code, (error.name, None))
        own = error.description != type(error).description  # a message of ours
        return error_answer(error.code, title, error.description if own or not said else said)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        message = _("Something went wrong on the device; the event is in the system log.")
        return error_answer(500, _("Internal error"), message)
