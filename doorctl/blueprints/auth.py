"""Log in, log out, and the gate every request passes: first access, login, role, CSRF.

Pages log in with a session cookie (flask-login); the REST API also takes HTTP Basic.
Roles are checked here for every route, from what each view declared with allow();
a view that declared nothing needs an administrator.
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from doorctl.blueprints.common import (
    PUBLIC,
    appliance,
    error_answer,
    is_api,
    public,
    render,
    required_role,
)
from doorctl.blueprints.system import security
from doorctl.core.logs import actor
from doorctl.core.system import kiosk
from doorctl.core.system.network.sessions import new_session_id
from doorctl.core.system.security import Blocked
from doorctl.core.system.users import ROLES, User

bp = Blueprint("auth", __name__)
# environ: (Authorization header, its user) once checked, so a request counts once
BASIC_CHECKED = "doorctl.basic_checked"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# What a page of another site can send without asking first (CORS-safelisted types).
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


def init_app(app) -> None:
    """Attach flask-login, CSRF protection and the request gate to the app."""
    # Only the kiosk display logs in with remember=True: its login outlives the browser.
    app.config.setdefault("REMEMBER_COOKIE_NAME", "doorctl_kiosk")
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=3650))
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    manager = LoginManager(app)
    manager.user_loader(_load_user)
    manager.request_loader(_basic_auth_user)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.extensions["doorctl.csrf"] = CSRFProtect(app)
    app.before_request(_acting)  # first: the events of a refused request name it too
    app.before_request(_gate)
    app.teardown_request(lambda error: actor.done())
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_blueprint(bp)


def _acting() -> None:
    """Every event this request makes names who made it and from where (Audit log)."""
    actor.acting(_actor)


def _actor() -> dict:
    """The request's user (once loaded: loading it may itself log a failed login),
    address, and whether it came through the API or a page."""
    user = g.get("_login_user")
    name = user.username if user is not None and user.is_authenticated else None
    return {"user": name, "address": request.remote_addr, "via": "api" if is_api() else "web"}


def _load_user(session_id: str) -> User | None:
    """The session's user while its generation is current and it was used lately.

    HTTP Basic credentials sent along take precedence over the cookie (the session's
    or the kiosk's remember cookie, after which flask-login asks no request loader).
    """
    if _basic_header(request):
        return _basic_auth_user(request)
    if session_id.startswith(kiosk.SESSION_PREFIX):
        return _kiosk_user(session_id)
    now = time.time()
    if now - session.get("seen", 0) > appliance().users.idle_timeout:
        return None
    if appliance().ended_sessions.ended(session.get("sid")):
        return None  # an administrator ended it (System > Network > Connected clients)
    session["seen"] = now
    session.setdefault("sid", new_session_id())
    request.environ["doorctl.session"] = session["sid"]
    return appliance().users.of_session(session_id)


def _kiosk_user(session_id: str) -> User | None:
    """The kiosk display, only from the Pi itself (the TCP peer), with no idle timeout:
    its login lasts across reboots (a remember cookie, kiosk.py)."""
    session.setdefault("sid", new_session_id())
    request.environ["doorctl.session"] = session["sid"]
    return appliance().kiosk.user(session_id, request.remote_addr)


def _basic_auth_user(req) -> User | None:
    """HTTP Basic for REST clients; pages use the session cookie."""
    header = _basic_header(req)
    if not header:
        return None
    checked = req.environ.get(BASIC_CHECKED)
    if checked is not None and checked[0] == header:
        user = checked[1]  # checked (and counted) before the upload's body was read
    else:
        user = _check_basic(header)
        req.environ[BASIC_CHECKED] = (header, user)
    g.doorctl_basic = user is not None
    return user


def _check_basic(header: str) -> User | None:
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return security.authenticate(username, password, "basic")


def upload_gate(app):
    """What the server asks before it writes an upload to disk (server.Limits.spooled):
    whether the headers alone pass the IP filter, login and role of the route."""

    def admits(environ: dict) -> bool:
        with app.request_context(environ):
            try:
                return _passes_gate()
            except Blocked:
                return False  # the app answers 429 without reading the body

    return admits


def _passes_gate() -> bool:
    if security.admit() is not None or request.endpoint is None:
        return False
    role = required_role(current_app.view_functions[request.endpoint])
    if role == PUBLIC:
        return True
    return current_user.is_authenticated and current_user.has_role(role)


def _basic_header(req) -> str:
    header = req.headers.get("Authorization", "")
    return header if header.startswith("Basic ") and req.path.startswith("/api/") else ""


def _gate():
    """IP filter, first access, login, role, then CSRF; the first that fails answers."""
    refused = security.admit()
    if refused is not None:
        return refused
    if request.endpoint in (None, "static"):
        return None
    view = current_app.view_functions.get(request.endpoint)
    role = required_role(view)
    if appliance().users.count() == 0 and not getattr(view, "doorctl_setup", False):
        return _to_setup()
    if role != PUBLIC and not current_user.is_authenticated:
        return _to_login()
    if role != PUBLIC and not current_user.has_role(role):
        return _forbidden(role)
    return _check_csrf()


def _check_csrf():
    """Unsafe methods need the CSRF token with a cookie session, whatever the body; API
    writes also refuse form content types and pages of other sites (cached Basic too)."""
    if request.method not in UNSAFE:
        return None
    if not is_api():
        _csrf().protect()
        return None
    if _cross_site():
        message = _("Refused: the request came from a page of another site.")
        return jsonify(error=message, fields={}), 403
    not_json = request.mimetype in FORM_TYPES or (request.content_length and not request.is_json)
    if not_json and not _upload_allowed():
        message = _("Send JSON with Content-Type: application/json.")
        return jsonify(error=message, fields={}), 415
    if current_user.is_authenticated and not g.get("doorctl_basic"):
        _csrf().protect()  # a session cookie: the page's X-CSRFToken header
    return None


def _cross_site() -> bool:
    """What the browser says: a foreign Origin, or Sec-Fetch-Site other than this origin.

    Clients that are not browsers send neither header, so scripts keep working.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.host}"


def _csrf() -> CSRFProtect:
    return current_app.extensions["doorctl.csrf"]


def _upload_allowed() -> bool:
    """File uploads to views that take them: text/csv or application/octet-stream (a
    cross-site form can't send them), or multipart with HTTP Basic or the CSRF token."""
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "doorctl_upload", False):
        return False
    if request.mimetype in ("text/csv", "application/octet-stream"):
        return True
    if request.mimetype != "multipart/form-data":
        return False
    if not g.get("doorctl_basic"):
        _csrf().protect()
    return True


def _to_setup():
    if is_api():
        message = _(
            "The root password is not set. Set it on the page /setup "
            "or with POST /api/v1/setup {password, password_repeat}."
        )
        return jsonify(error=message, fields={}, setup="/setup"), 403
    return _redirect(url_for("setup.page"))


def _to_login():
    if is_api():
        response = jsonify(error=_("Log in: send HTTP Basic credentials."), fields={})
        response.headers["WWW-Authenticate"] = 'Basic realm="doorctl"'
        return response, 401
    return _redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _forbidden(role: str):
    message = _(
        "This needs the %(role)s role; you are %(yours)s.", role=role, yours=current_user.role
    )
    return error_answer(403, _("Not allowed"), message)


def _redirect(location: str):
    """A redirect that also works when htmx made the request (it would swap the target)."""
    if getattr(request, "htmx", None):
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, 303)


def _csrf_error(error: CSRFError):
    message = _("The form's security token is missing or stale. Reload the page and try again.")
    if is_api():
        message = _("Send the page's X-CSRFToken header with the session, or use HTTP Basic.")
    return error_answer(400, _("Form expired"), message)


def log_in(user: User, remember: bool = False) -> None:
    """Start the user's session with a new CSRF token; put the login in the event log."""
    session.pop("csrf_token", None)
    session["seen"] = time.time()
    session["sid"] = new_session_id()
    request.environ["doorctl.session"] = session["sid"]
    login_user(user, remember=remember)
    appliance().bus.publish(
        "tns1:Device/User/Login", {"user": user.username}, {"address": request.remote_addr}
    )


def safe_next(target: str | None) -> str:
    """Only a local path may follow a login, never another site."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not (target or "").startswith("/"):
        return url_for("status.page")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The login page."""
    if request.method in ("GET", "HEAD"):
        return render("auth/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    user = security.authenticate(username, request.form.get("password", ""), "form")
    if user is None:
        error = _("The username or the password is wrong.")
        return render(
            "auth/login.html",
            401,
            error=error,
            username=username,
            next=request.form.get("next", ""),
        )
    log_in(user)
    return redirect(safe_next(request.form.get("next")), 303)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Log out, ending every session of the user, and go back to the login page."""
    if current_user.is_authenticated and current_user.role != kiosk.ROLE:
        appliance().users.end_sessions(current_user.username)
    logout_user()
    session.pop("csrf_token", None)
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"), 303)


# The roles as the pages name them, in the page's language.
ROLE_NAMES = {
    "viewer": lazy_gettext("Viewer"),
    "operator": lazy_gettext("Operator"),
    "administrator": lazy_gettext("Administrator"),
    "kiosk": lazy_gettext("Kiosk display"),
}


@bp.app_context_processor
def _roles():
    return {"ROLES": ROLES, "ROLE_NAMES": ROLE_NAMES}
