"""Errors core raises for bad input; blueprints turn them into per-field messages.

Each field's message says what is wrong and what is allowed; the summary names each
field by its label as the page shows it ("Interval 1: start"), never by its key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext as _

# "intervals[0].start": a list field's item (numbered from 1 for people) and its part.
ITEM = re.compile(r"^(\w+)\[(\d+)\](?:\.(.+))?$")


class DoorctlError(Exception):
    """Base of the errors a user can cause and must be told about."""

    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def to_dict(self) -> dict:
        """The JSON error body of the REST API."""
        return {"error": self.message, "fields": self.fields}


def label_of(key: str, labels: Mapping[str, str]) -> str:
    """A field's key as its label: "intervals[0].start" -> "Interval 1: start".

    `labels` holds each field's label by key, a list's item as "intervals[]" with
    %(number)d, and the parts of an item by their own key ("start").
    """
    if key in labels:
        return str(labels[key])
    item = ITEM.match(key)
    if item:
        name, index, part = item.groups()
        whole = str(labels.get(f"{name}[]", f"{name} %(number)d")) % {"number": int(index) + 1}
        return f"{whole}: {label_of(part, labels)}" if part else whole
    head, dot, rest = key.partition(".")
    if dot:
        return f"{label_of(head, labels)}: {label_of(rest, labels)}"
    return key.replace("_", " ").capitalize()


def summary(fields: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """Every field's message after its label, in one line for the API's "error"."""
    return " ".join(f"{label_of(k, labels)}: {v}" for k, v in fields.items())


class Invalid(DoorctlError):
    """One or more fields hold values that are not allowed.

    `labels` name the fields as the page shows them, for the summary (`message`).
    """

    def __init__(
        self,
        fields: dict[str, str],
        message: str | None = None,
        labels: Mapping[str, str] | None = None,
    ):
        fields = {k: str(v) for k, v in fields.items()}
        super().__init__(message or summary(fields, labels or {}), fields)
        self.labels = dict(labels or {})


def unknown_fields(body: Mapping, known) -> dict[str, str]:
    """A message for each field of a request that the record doesn't have."""
    allowed = ", ".join(sorted(known))
    message = _("There is no such field; the fields are: %(fields)s.", fields=allowed)
    return {name: message for name in sorted(set(body) - set(known))}


class Conflict(DoorctlError):
    """The request contradicts what is stored (duplicate name, limit reached)."""

    status = 409


class NotFound(DoorctlError):
    """The named record does not exist."""

    status = 404


class Forbidden(DoorctlError):
    """The rule protects this record (root cannot be deleted) or the role is too low."""

    status = 403


class NoAnswer(DoorctlError):
    """A device did not answer in time (a reader asked to take a new key); what it did
    is settled later."""

    status = 504
