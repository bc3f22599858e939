"""The Flask application factory: builds the web appliance over one data directory.

create_app() has no side effects at import and starts no service; `doorctl serve`
starts them (see cli.py).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from htmx_flask import Htmx
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from doorctl.blueprints import auth, help, language, openapi, setup
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
from doorctl.blueprints.logs import access_log, events
from doorctl.blueprints.menu import collect, menu_for
from doorctl.blueprints.status import status
from doorctl.blueprints.system import certificates, mqtt, network, security, users
from doorctl.core.appliance import Appliance
from doorctl.core.errors import DoorctlError
from doorctl.core.system.network.http_https import CONFIRM_SECONDS
from doorctl.core.system.network.https import NAMES_CHECK_SECONDS
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
    network,
    security,
    mqtt,
    certificates,
    events,
    access_log,
    help,
    openapi,
)


def default_data_dir() -> Path:
    """/var/lib/doorctl as root, else the user's XDG data directory."""
    if os.geteuid() == 0:
        return Path("/var/lib/doorctl")
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg) / "doorctl"


def create_app(config: dict | None = None) -> Flask:
    """Build the app: appliance, extensions, blueprints and error pages."""
    app = Flask(__name__)
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
        ENGINE_PROCESS=False,
        CONFIRM_SECONDS=CONFIRM_SECONDS,
        NAMES_CHECK_SECONDS=NAMES_CHECK_SECONDS,
    )
    app.config.update(config or {})
    doorctl = Appliance(
        Path(app.config["DATA_DIR"]),
        app.config["HARDWARE"],
        role="web" if app.config["ENGINE_PROCESS"] else "whole",
        reader_test_ports=bool(app.config["READER_TEST_PORTS"]),
    )
    app.extensions["doorctl"] = doorctl
    doorctl.http_https.confirm_seconds = app.config["CONFIRM_SECONDS"]
    doorctl.https.check_every = app.config["NAMES_CHECK_SECONDS"]
    app.secret_key = doorctl.secret_key
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
    return app


def localtime(epoch: float) -> str:
    """An event time in the device's time zone, to the second."""
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def isotime(epoch: float) -> str:
    """An event time as ISO 8601 with its UTC offset, for machines and <time>."""
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="milliseconds")


def duration(seconds: float) -> str:
    """Seconds as the '3 d 4 h 5 min' a person reads at a glance."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    text = " ".join(f"{n} {unit}" for n, unit in parts if n)
    return text or f"{secs} s"


def _register_errors(app: Flask) -> None:
    """Bad input and missing pages answer with a message, never a traceback."""

    @app.errorhandler(DoorctlError)
    def doorctl_error(error: DoorctlError):
        return error_answer(error.status, "Error", error.message, error.fields)

    @app.errorhandler(OverflowError)
    def too_large(error: OverflowError):
        message = "A number in the request is too large (at most 9223372036854775807)."
        return error_answer(400, "Number too large", message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_answer(error.code, error.name, error.description)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        message = "Something went wrong on the device; the event is in the system log."
        return error_answer(500, "Internal error", message)
