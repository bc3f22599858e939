"""The Logs pages' filters, read from the URL: every bad one named with its own message.

The pages mark each bad filter beside its field and still show the log (filtered by
the good ones); the REST API answers 400 with the same messages per field. Times
without a zone are the device's local time, as the pages show them.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from doorctl.blueprints.common import number_rule
from doorctl.core.inbound import whole_number
from doorctl.core.logs import kinds

# Epoch seconds beyond this are a mistake (the year 5138), not a time filter.
LATEST_EPOCH = 1e11


class Errors(dict):
    """{field: message} of the filters that could not be read."""


def parse_time(args: MultiDict, name: str, label: str, tz: ZoneInfo, errors: Errors):
    """A time filter: ISO 8601 (a date alone is its midnight; "until" a date means
    through that day) or epoch seconds; None when not given or bad (named in errors)."""
    text = (args.get(name) or "").strip()
    if not text:
        return None
    moment = _epoch(text) if _looks_numeric(text) else _iso(text, tz, end=name == "until")
    if moment is None:
        errors[name] = _(
            "%(label)s: “%(value)s” is not a date and time. Use 2026-11-25 08:00, a date "
            "(2026-11-25) or seconds since 1970.",
            label=label,
            value=text[:40],
        )
    return moment


def _looks_numeric(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


def _epoch(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 <= value < LATEST_EPOCH else None


def _iso(text: str, tz: ZoneInfo, end: bool) -> float | None:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end else day, datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def parse_int(args: MultiDict, name: str, label: str, errors: Errors, default=None, high=2**62):
    """A whole-number filter from 1 to `high`; None when not given or bad."""
    text = args.get(name)
    if text in (None, ""):
        return default
    number = whole_number(text)
    if number is None or not 1 <= number <= high:
        errors[name] = _("%(label)s: %(rule)s", label=label, rule=number_rule(1, high))
        return default
    return number


def page_filters(args: MultiDict, tz: ZoneInfo, errors: Errors, limit: int, older=None) -> dict:
    """The filters every log shares: its time range (From, Until) and its page (older
    than the id `before`, `limit` rows); `older` labels `before` (events by default)."""
    values = {
        "since": parse_time(args, "since", _("From"), tz, errors),
        "until": parse_time(args, "until", _("Until"), tz, errors),
        "before": parse_int(args, "before", older or _("Older than event"), errors),
        "limit": parse_int(args, "limit", _("Rows"), errors, limit, 1000),
    }
    time_order(values, errors)
    return values


def time_order(values: dict, errors: Errors) -> None:
    """Until must come after From: a range that can hold nothing is a mistake."""
    since, until = values.get("since"), values.get("until")
    if since is not None and until is not None and until <= since:
        errors["until"] = _("Until: must be later than From.")


def kind_prefixes(args: MultiDict, errors: Errors) -> tuple[str, ...]:
    """The topic prefixes of `?kind=` and of any `?topic=` given."""
    chosen = tuple(t for t in args.getlist("topic") if t)
    kind = args.get("kind") or ""
    if kind and kind not in kinds.KINDS:
        names = ", ".join(kinds.KINDS)
        errors["kind"] = _("Kind: choose one from the list (%(names)s).", names=names)
    elif kind:
        chosen += kinds.prefixes(kind)
    return chosen


def event_filters(args: MultiDict, tz: ZoneInfo, limit: int = 100) -> tuple[dict, Errors]:
    """The Event log's filters and the errors of the bad ones."""
    errors = Errors()
    prefixes = kind_prefixes(args, errors)
    return {"prefixes": prefixes, **page_filters(args, tz, errors, limit)}, errors


RESULTS = ("granted", "denied")


def access_filters(args: MultiDict, tz: ZoneInfo, named, limit: int = 50) -> tuple[dict, Errors]:
    """The Access log's filters and the errors of the bad ones; `named(name)` gives the
    ids of the cardholders of that name."""
    errors = Errors()
    result = args.get("result") or None
    if result not in (None, *RESULTS):
        errors["result"] = _("Result: choose Granted or Refused.")
        result = None
    values = {
        "cardholder_ids": _cardholders(args, named, errors),
        "door_id": parse_int(args, "door_id", _("Door"), errors, high=2**31),
        "result": result,
    }
    return {**values, **page_filters(args, tz, errors, limit)}, errors


def _cardholders(args: MultiDict, named, errors: Errors) -> tuple[int, ...] | None:
    """The cardholders a name (`cardholder`) and an id (`cardholder_id`) pick; None for all."""
    by_id = parse_int(args, "cardholder_id", _("Cardholder id"), errors)
    name = (args.get("cardholder") or "").strip()
    if not name:
        return None if by_id is None else (by_id,)
    ids = tuple(named(name))
    if not ids:
        errors["cardholder"] = _(
            "Cardholder: nobody is named “%(name)s”. Pick a name from the suggestions.",
            name=name[:64],
        )
        return None if by_id is None else (by_id,)
    return ids if by_id is None else tuple(i for i in ids if i == by_id)
