"""Errors core raises for bad input; blueprints turn them into per-field messages."""

from __future__ import annotations


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


class Invalid(DoorctlError):
    """One or more fields hold values that are not allowed."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in fields.items()), fields)


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
