"""The request body of the certificate store: one check, for the page and the API."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.core.errors import Invalid
from doorctl.core.system.certificates.x509s import MAX_DAYS

ID_RULE = lazy_gettext("1 to 64 letters, digits, '.', '_' or '-'")
ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_NAMES = 32
MAX_DATA = 512 * 1024
FIELDS = {"id", "self_signed", "data", "password"}
SELF_SIGNED = {"common_name", "alternative_names", "days"}


def check_id(cert_id: object) -> str:
    """The certificate's id, or Invalid naming what an id may be."""
    if not isinstance(cert_id, str) or not ID.match(cert_id):
        raise Invalid({"id": _("Must be %(rule)s.", rule=ID_RULE)})
    return cert_id


def check_create(body: dict) -> dict:
    """A create body: an id and either `self_signed` settings or imported `data`."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise Invalid(dict.fromkeys(unknown, "unknown field"))
    check_id(body.get("id"))
    if ("self_signed" in body) == ("data" in body):
        raise Invalid({"data": _("Give either data to import or self_signed settings.")})
    if "self_signed" in body:
        return {**body, "self_signed": check_self_signed(body["self_signed"])}
    return {**body, **check_import(body)}


def check_import(body: dict) -> dict:
    """Imported data and its password as text of bounded size."""
    data, password = body.get("data"), body.get("password", "")
    if not isinstance(data, str) or not data.strip() or len(data) > MAX_DATA:
        raise Invalid({"data": _("Must be text of 1 to %(most)d characters.", most=MAX_DATA)})
    if not isinstance(password, str) or len(password) > 1024:
        raise Invalid({"password": _("Must be text of at most %(most)d characters.", most=1024)})
    return {"data": data.strip(), "password": password}


def check_self_signed(value: object) -> dict:
    """Common name, alternative names and days of a self-signed certificate."""
    if not isinstance(value, dict) or set(value) - SELF_SIGNED:
        fields = ", ".join(sorted(SELF_SIGNED))
        raise Invalid({"self_signed": _("Must be an object of %(fields)s.", fields=fields)})
    name = value.get("common_name", "")
    names = value.get("alternative_names", [])
    days = value.get("days", 365)
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not name.isprintable():
        raise Invalid({"common_name": _("Must be 1 to 64 printable characters.")})
    if not isinstance(names, list) or len(names) > MAX_NAMES or not all(map(_name, names)):
        rule = _("Must be a list of at most %(most)d DNS names or IP addresses.", most=MAX_NAMES)
        raise Invalid({"alternative_names": rule})
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Invalid({"days": _("Must be a whole number from 1 to %(most)d.", most=MAX_DAYS)})
    return {"common_name": name, "alternative_names": names, "days": days}


def _name(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 253
        and re.fullmatch(r"[A-Za-z0-9_.:*-]+", value)
    )
