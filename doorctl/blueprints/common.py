"""What every blueprint shares: the appliance, page rendering, roles and JSON errors."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    request,
    session,
    stream_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from doorctl.core.appliance import Appliance
from doorctl.core.errors import DoorctlError, Invalid, label_of
from doorctl.core.inbound import json_object, whole_number
from doorctl.core.waiting import in_slices

ROLE_ATTRIBUTE = "doorctl_role"
# Parsing and checking JSON runs on the hub: a body this size takes a few milliseconds.
MAX_JSON = 256 * 1024
PUBLIC = "public"
# Above this a limit is no limit a person would type: "1 or more" says it.
REALISTIC = 10**9


def appliance() -> Appliance:
    """The appliance this app serves (kept in app.extensions, never a global)."""
    return current_app.extensions["doorctl"]


def is_api() -> bool:
    """True for REST calls, which answer JSON instead of pages."""
    return request.path.startswith("/api/")


def allow(role: str) -> Callable:
    """Let users of `role` and above call this view; views without it need administrator."""

    def mark(view: Callable) -> Callable:
        setattr(view, ROLE_ATTRIBUTE, role)
        return view

    return mark


public = allow(PUBLIC)


def required_role(view: Callable | None) -> str:
    """The role a view needs: what allow() said, else administrator (deny by default)."""
    return getattr(view, ROLE_ATTRIBUTE, "administrator")


def render(template: str, status: int = 200, **context):
    """The page's fragment when htmx swaps #main, the whole page otherwise.

    Boosted links and forms swap the body and get the whole page, so nothing inside
    a page inherits a target it did not ask for.
    """
    htmx = getattr(request, "htmx", None)
    partial = htmx and htmx.target == "main" and not htmx.history_restore_request
    layout = "_partial.html" if partial else "base.html"
    # Rendered in slices: a long page (the Cardholders page is 80 KiB) would otherwise
    # keep a due reader poll waiting for the whole of it.
    page = "".join(in_slices(stream_template(template, layout=layout, **context)))
    response = make_response(page, status)
    response.vary.add("HX-Request")
    return response


def form_failed(page: Callable, error: DoorctlError, **context):
    """A page again after its form was refused: the posted values, each field's message.

    Bad fields answer 422 (htmx swaps it in); a conflict or a protected record keeps
    its own status.
    """
    status = 422 if error.status == 400 else error.status
    context.setdefault("values", request.form)
    return page(status, errors=error.fields, message=error.message, **context)


def save_section(section: str, page: Callable, saved: str, endpoint: str):
    """Save a settings section from its page's form: back to the page (303) with `saved`
    shown, or the page again (422) with each bad field's message beside it and the
    values as typed."""
    settings = appliance().settings
    form = settings.form(section, request.form)
    try:
        settings.save(section, form)
    except DoorctlError as error:
        return page(422, form=form, errors=error.fields, message=error.message)
    flash(saved)
    return redirect(url_for(endpoint), 303)


def field_errors(errors: dict[str, str], labels: dict, prefix: str) -> list[str]:
    """The messages of the list items under a field ("intervals[0].start"), each after
    its label ("Interval 1: start: ..."), for the one place on the page that holds them."""
    return [
        f"{label_of(key, labels)}: {message}"
        for key, message in errors.items()
        if key.startswith(prefix + "[")
    ]


def error_answer(status: int, title: str, message: str, fields: dict | None = None):
    """An error as the caller reads it: the API's `{"error", "fields"}`, else the error page."""
    if is_api():
        return jsonify(error=message, fields=fields or {}), status
    if "_user_id" in session and current_user.is_authenticated:
        # A page with no view (404) has not loaded its user: the error page comes in the
        # user's language, as every page does. A visitor's session is left untouched, so
        # a favicon's 404 can't answer with a cookie that overwrites a login's.
        refresh()
    return render("errors/error.html", status, title=title, message=message)


def json_body() -> dict:
    """The request's JSON object, nested within limits and all text; raise a clear error."""
    if not request.is_json:
        raise DoorctlError(_("Send a JSON object with Content-Type: application/json."))
    if (request.content_length or 0) > MAX_JSON:
        limit = _("A JSON body is at most %(size)d KiB.", size=MAX_JSON // 1024)
        raise RequestEntityTooLarge(limit)
    return json_object(request.get_data(cache=True))


def field(body: dict | MultiDict, name: str, kind: type = str, required: bool = True):
    """One field of a request, of the given type; raise Invalid naming the field."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise Invalid({name: _("This field is required.")})
        return None
    if not isinstance(value, kind):
        raise Invalid({name: _("Must be a %(kind)s.", kind=kind.__name__)})
    return value


def query_number(name: str, text: str | None, default: int | None, low: int, high: int):
    """A whole-number query parameter within limits; raise Invalid naming it, with a
    range a person would type ("1 or more", not "1 to 4611686018427387904")."""
    if text in (None, ""):
        return default
    number = whole_number(text)
    if number is None or not low <= number <= high:
        raise Invalid({name: number_rule(low, high)})
    return number


def number_rule(low: int, high: int) -> str:
    """What a whole number may be, in words."""
    if high >= REALISTIC:
        return _("Enter a whole number of %(low)d or more.", low=low)
    return _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)


def form_number(text: str):
    """A whole number typed in a form, else the text as typed (validation names the field)."""
    number = whole_number(text)
    return text if number is None else number


def form_ids(form: MultiDict, name: str) -> list[int]:
    """The ids ticked in a form's list; anything that is not an id is left out."""
    return [n for n in map(whole_number, form.getlist(name)) if n is not None]


def check_repeat(password, repeat) -> None:
    """The retyped password must be the password; raise Invalid naming password_repeat."""
    if password != repeat:
        raise Invalid({"password_repeat": _("The passwords don't match.")})
