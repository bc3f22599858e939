"""The CSV file of cardholders with their credentials: its columns, rows and export.

One row per credential; rows with the same `ref` belong to one cardholder (an empty
ref: a cardholder of its own). cardholder_import reads such a file into the store.
PINs are never exported (only their keyed hashes are stored). A cell that a
spreadsheet would run as a formula is exported behind a single quote, as OWASP
advises against CSV injection, and an import takes the quote off again.
"""

from __future__ import annotations

import csv
import io
import sqlite3

from doorctl.core.access_control.cardholders import validate as validate_cardholder
from doorctl.core.access_control.credentials import PinHasher, card_of, parse_card, parse_pin
from doorctl.core.errors import Invalid
from doorctl.core.inbound import whole_number

COLUMNS = (
    "ref",
    "name",
    "enabled",
    "valid_from",
    "valid_until",
    "long_access",
    "notes",
    "card_format",
    "card_facility",
    "card_number",
    "card_bits",
    "pin",
    "credential_enabled",
)
TRUE, FALSE = {"", "1", "true", "yes", "y"}, {"0", "false", "no", "n"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralised(cell: str) -> str:
    """A cell as exported: a formula start (after any quotes) gets a quote in front."""
    return QUOTE + cell if cell.lstrip(QUOTE).startswith(FORMULA_STARTS) else cell


def restored(cell: str) -> str:
    """A cell as imported: the quote neutralised() put in front is taken off."""
    if cell.startswith(QUOTE) and cell.lstrip(QUOTE).startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _flag(value: str, name: str, errors: dict) -> bool:
    text = (value or "").strip().lower()
    if text not in TRUE | FALSE:
        errors[name] = "Use true or false."
    return text in TRUE


def _number(value: str, name: str, errors: dict) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    number = whole_number(text)
    if number is None:
        errors[name] = "Must be a whole number, 0 or more."
    return number


def holder_of(row: dict, errors: dict) -> dict | None:
    """The cardholder a row names, validated as the REST API does; None with errors."""
    flags = {k: _flag(row.get(k), k, errors) for k in ("enabled", "long_access")}
    body = {
        "name": row.get("name") or "",
        "valid_from": row.get("valid_from") or None,
        "valid_until": row.get("valid_until") or None,
        "notes": row.get("notes") or "",
        **flags,
    }
    try:
        return validate_cardholder(body)
    except Invalid as error:
        errors.update(error.fields)
        return None


def credential_of(row: dict, pins: PinHasher, errors: dict) -> dict | None:
    """The credential of a row, or None when the row has no card and no PIN."""
    card = None
    if (row.get("card_format") or "").strip():
        card = {
            "format": row["card_format"].strip(),
            "facility": _number(row.get("card_facility"), "card.facility", errors),
            "number": _number(row.get("card_number"), "card.number", errors),
            "bits": _number(row.get("card_bits"), "card.bits", errors),
        }
    key = parse_card(card, errors) if not errors else None
    pin = parse_pin((row.get("pin") or "").strip(), errors)
    enabled = _flag(row.get("credential_enabled"), "credential_enabled", errors)
    if key is None and pin is None:
        return None
    pin_hash = None if pin is None else pins.stored(key, pin)
    return {"card": key, "pin_hash": pin_hash, "enabled": enabled}


def export_rows(conn: sqlite3.Connection):
    """The CSV lines of every cardholder with its credentials (PINs are never exported)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    yield _take(out)
    rows = conn.execute(
        "SELECT h.*, c.card, c.pin_hash IS NOT NULL AS has_pin, c.enabled AS credential_enabled "
        "FROM cardholders h LEFT JOIN credentials c ON c.cardholder_id = h.id ORDER BY h.id, c.id"
    )
    for row in rows:
        writer.writerow([neutralised(cell) for cell in _export_row(row)])
        if out.tell() > 64_000:
            yield _take(out)
    yield _take(out)


def _export_row(row: sqlite3.Row) -> list[str]:
    card = card_of(row["card"]) or {}
    flag = {1: "true", 0: "false", None: ""}
    return [
        str(row["id"]),
        row["name"],
        flag[row["enabled"]],
        row["valid_from"] or "",
        row["valid_until"] or "",
        flag[row["long_access"]],
        row["notes"],
        card.get("format", ""),
        _blank(card.get("facility")),
        _blank(card.get("number")),
        _blank(card.get("bits")),
        "",
        flag[row["credential_enabled"]],
    ]


def _blank(value) -> str:
    return "" if value is None else str(value)


def _take(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text
