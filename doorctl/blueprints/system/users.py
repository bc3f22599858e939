"""Users (manual: "Users"): add, update and delete accounts; administrators only."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_user

from doorctl.blueprints.auth import safe_next
from doorctl.blueprints.common import (
    allow,
    appliance,
    check_repeat,
    form_failed,
    json_body,
    render,
)
from doorctl.blueprints.language import LANGUAGES
from doorctl.blueprints.system.security import change_own_password, with_retry_after
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.system.security import Blocked
from doorctl.core.system.users import (
    MAX_USERS,
    PASSWORD_RULE,
    ROOT,
    SECTION,
    USERNAME_RULE,
    SessionSettings,
    User,
)

MENU_ITEMS = [("System", lazy_gettext("Users"), "users.page")]
bp = Blueprint("users", __name__)


def _page(status: int = 200, **context):
    return render(
        "system/users/page.html",
        status,
        users=appliance().users.list(),
        root=ROOT,
        max_users=MAX_USERS,
        languages=LANGUAGES,
        username_rule=USERNAME_RULE,
        password_rule=PASSWORD_RULE,
        sessions=context.pop("sessions", appliance().settings.get(SECTION)),
        errors=context.pop("errors", {}),
        **context,
    )


def _keep_own_session(user: User) -> None:
    """A change to your own password or role ends your other sessions, not this one."""
    if current_user.is_authenticated and current_user.username == user.username:
        login_user(user)


def _failed(error: DoorctlError, form_id: str):
    """The page again, with the error under each field of the form that failed."""
    return form_failed(_page, error, form_id=form_id)


@bp.route("/users")
def page():
    """The Users page."""
    return _page()


@bp.route("/users", methods=["POST"])
def add():
    """Add user."""
    form = request.form
    try:
        check_repeat(form.get("password", ""), form.get("password_repeat", ""))
        user = appliance().users.create(
            form.get("username", ""),
            form.get("password", ""),
            form.get("role", ""),
            form.get("language") or None,
        )
    except DoorctlError as error:
        return _failed(error, "add")
    flash(_("User %(name)s added.", name=user.username))
    return redirect(url_for("users.page"), 303)


@bp.route("/users/<username>", methods=["POST"])
def update(username: str):
    """Update user: a new password (when given) and the role."""
    form = request.form
    password = form.get("password") or None
    try:
        if password is not None:
            check_repeat(password, form.get("password_repeat", ""))
        user = appliance().users.update(
            username,
            password=password,
            role=form.get("role") or None,
            language=form.get("language"),
        )
    except DoorctlError as error:
        return _failed(error, f"update-{username}")
    _keep_own_session(user)
    flash(_("User %(name)s updated.", name=username))
    return redirect(url_for("users.page"), 303)


@bp.route("/users/<username>/delete", methods=["POST"])
def delete(username: str):
    """Delete user (never root)."""
    try:
        appliance().users.delete(username)
    except DoorctlError as error:
        return _failed(error, f"update-{username}")
    flash(_("User %(name)s deleted.", name=username))
    return redirect(url_for("users.page"), 303)


@bp.route("/api/v1/users")
def api_list():
    """All users, without passwords."""
    return jsonify([u.to_dict() for u in appliance().users.list()])


@bp.route("/api/v1/users", methods=["POST"])
def api_create():
    """Create a user from `{"username", "password", "role", "language"?}`."""
    body = json_body()
    user = appliance().users.create(
        body.get("username"), body.get("password"), body.get("role"), body.get("language")
    )
    return jsonify(user.to_dict()), 201


@bp.route("/api/v1/users/<username>")
def api_get(username: str):
    """One user."""
    return jsonify(appliance().users.get(username).to_dict())


@bp.route("/api/v1/users/<username>", methods=["PUT", "PATCH"])
def api_update(username: str):
    """Change password, role and/or language: `{"password"?, "role"?, "language"?}`
    (a language of null or "": follow the browser)."""
    body = json_body()
    unknown = sorted(set(body) - {"username", "password", "role", "language"})
    if unknown:
        raise Invalid({name: _("unknown field") for name in unknown})
    if body.get("username", username) != username:
        raise Invalid({"username": _("A user can't be renamed; add a new one instead.")})
    language = "" if "language" in body and body["language"] is None else body.get("language")
    user = appliance().users.update(username, body.get("password"), body.get("role"), language)
    _keep_own_session(user)
    return jsonify(user.to_dict())


@bp.route("/api/v1/users/<username>", methods=["DELETE"])
def api_delete(username: str):
    """Delete a user (never root)."""
    appliance().users.delete(username)
    return "", 204


@bp.route("/session-settings", methods=["POST"])
def sessions_save():
    """Sessions: the idle timeout after which a browser must log in again."""
    form = SessionSettings(request.form)
    try:
        appliance().settings.save(SECTION, form)
    except Invalid as error:
        return _page(422, form_id="sessions", errors=error.fields, sessions=request.form)
    flash(_("Session settings saved."))
    return redirect(url_for("users.page"), 303)


@bp.route("/api/v1/session-settings")
def api_sessions():
    """The idle timeout of logged-in browsers, in seconds."""
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/session-settings", methods=["PUT", "PATCH"])
def api_sessions_update():
    """Change the idle timeout: `{"idle_timeout": seconds}` (60 to 86400)."""
    return jsonify(appliance().settings.update(SECTION, json_body()))


def _password_page(status: int = 200, **context):
    return render(
        "system/users/password.html",
        status,
        password_rule=PASSWORD_RULE,
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/account/password")
@allow("viewer")
def password_page():
    """Change password: every user may change their own."""
    return _password_page()


@bp.route("/account/password", methods=["POST"])
@allow("viewer")
def password_change():
    """Your new password, given the current one; your other sessions end."""
    form = request.form
    try:
        check_repeat(form.get("password", ""), form.get("password_repeat", ""))
        user = change_own_password(
            current_user.username, form.get("old_password", ""), form.get("password", "")
        )
    except Blocked as error:  # said on the page itself, as the login page does
        return with_retry_after(form_failed(_password_page, error, values={}), error)
    except DoorctlError as error:
        return form_failed(_password_page, error, values={})
    _keep_own_session(user)
    flash(_("Your password is changed. Your other sessions have ended."))
    return redirect(url_for("users.password_page"), 303)


@bp.route("/api/v1/account/password", methods=["PUT"])
@allow("viewer")
def api_password_change():
    """`{"old_password", "password"}`: the caller's own new password."""
    body = json_body()
    user = change_own_password(
        current_user.username, body.get("old_password"), body.get("password")
    )
    _keep_own_session(user)
    return jsonify(user.to_dict())


@bp.route("/account/language", methods=["POST"])
@allow("viewer")
def language_change():
    """The user menu's language: yours, kept with your user; empty follows the browser."""
    try:
        appliance().users.update(current_user.username, language=request.form.get("language", ""))
    except DoorctlError as error:
        flash(error.fields.get("language") or error.message)
    return redirect(safe_next(request.form.get("next")), 303)
