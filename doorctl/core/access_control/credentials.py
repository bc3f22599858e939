"""Credentials: a card, a PIN, or a card and a PIN, each belonging to one cardholder.

A card is stored as one indexed key, "<format>:<facility>:<number>" or
"raw:<bits>:<number>", so a read finds its credential with one index search. PINs are
never stored: a keyed hash (HMAC-SHA256 with the device secret) of the PIN alone
finds a PIN-only credential by index; a card's PIN is hashed together with its card
so that two equal PINs on different cards don't look equal in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.core.errors import Conflict, Invalid, NotFound, unknown_fields
from doorctl.core.logs.audit import audit
from doorctl.core.store import Store, Transaction
from doorctl.hal.wiegand import CARD_FORMATS, CardRead, encode_card

FORMATS = (*CARD_FORMATS, "raw")
PIN = re.compile(r"^[0-9]{4,12}$")
PIN_RULE = lazy_gettext("Enter 4 to 12 digits.")
KIND = "Credential"
FIELDS = ("cardholder_id", "enabled", "card", "pin")
LABELS = {
    "cardholder_id": lazy_gettext("Cardholder"),
    "enabled": lazy_gettext("Enabled"),
    "card": lazy_gettext("Card"),
    "card.format": lazy_gettext("Card format"),
    "card.facility": lazy_gettext("Facility"),
    "card.number": lazy_gettext("Card number"),
    "card.bits": lazy_gettext("Bits"),
    "pin": lazy_gettext("PIN"),
}


def card_key(format: str, facility: int | None, number: int, bits: int | None = None) -> str:
    """The one string a card is stored and found by."""
    if format == "raw":
        return f"raw:{bits}:{number}"
    return f"{format}:{'' if facility is None else facility}:{number}"


def read_key(read: CardRead) -> str:
    """The key of the card a reader read."""
    return card_key(read.format, read.facility, read.number, read.bits)


def card_of(key: str | None) -> dict | None:
    """The card's JSON shape from its key."""
    if key is None:
        return None
    format, middle, number = key.split(":")
    if format == "raw":
        return {"format": "raw", "facility": None, "number": int(number), "bits": int(middle)}
    return {"format": format, "facility": int(middle) if middle else None, "number": int(number)}


def describe(key: str) -> str:
    """A card as a person reads it: 'H10301 12:345' or 'raw 26-bit 12345'."""
    card = card_of(key)
    if card["format"] == "raw":
        return f"raw {card['bits']}-bit {card['number']}"
    facility = "" if card["facility"] is None else f"{card['facility']}:"
    return f"{card['format']} {facility}{card['number']}"


def describe_card(card: dict | None) -> str:
    """A card in its JSON shape as a person reads it ("H10301 12:345"); '' for none."""
    if card is None:
        return ""
    middle = card.get("bits") if card["format"] == "raw" else card.get("facility")
    return describe(card_key(card["format"], middle, card["number"], card.get("bits")))


class PinHasher:
    """Keyed hashes of PINs with the device secret (fast enough for an index lookup)."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def use(self, secret: bytes) -> None:
        """Hash with this key from now on (the PIN key a restored backup brought)."""
        self._secret = secret

    def pin_only(self, pin: str) -> str:
        """The hash a PIN-only credential is found by."""
        return hmac.new(self._secret, b"pin\0" + pin.encode(), hashlib.sha256).hexdigest()

    def with_card(self, key: str, pin: str) -> str:
        """The hash of a card's PIN, bound to that card."""
        message = f"card\0{key}\0{pin}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def stored(self, key: str | None, pin: str) -> str:
        """The hash a credential stores: bound to its card if it has one, else PIN-only."""
        return self.with_card(key, pin) if key else self.pin_only(pin)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_card(card: object, errors: dict, where: str = "card") -> str | None:
    """The key of a card given as {"format", "facility", "number", "bits"}; errors by field."""
    if card is None:
        return None
    if not isinstance(card, dict):
        errors[where] = _("Give the card as an object with format, facility and number.")
        return None
    format, facility = card.get("format"), card.get("facility")
    number, bits = card.get("number"), card.get("bits") or 0
    if format not in FORMATS:
        errors[f"{where}.format"] = _("Choose one of: %(formats)s.", formats=", ".join(FORMATS))
        return None
    for name, value in (("facility", facility), ("number", number), ("bits", bits)):
        if value is not None and (not _int(value) or value < 0):
            errors[f"{where}.{name}"] = _("Enter a whole number, 0 or more.")
    if f"{where}.number" not in errors and number is None:
        errors[f"{where}.number"] = _("Enter the card number.")
    if any(k.startswith(where + ".") for k in errors):
        return None
    return _encodable(format, facility, number, bits, errors, where)


def _encodable(format, facility, number, bits, errors, where) -> str | None:
    """The key when the format can carry the numbers; the format's limit otherwise."""
    try:
        encode_card(format, facility if format != "raw" else None, number, bits)
    except ValueError as error:
        name = "facility" if "facility" in str(error) or "company" in str(error) else "number"
        name = "bits" if format == "raw" and "length" in str(error) else name
        errors[f"{where}.{name}"] = str(error).capitalize() + "."
        return None
    if format != "raw" and facility is None and format != "H10302":
        facility = 0
    return card_key(format, facility, number, bits if format == "raw" else None)


def parse_pin(pin: object, errors: dict) -> str | None:
    """A PIN of 4 to 12 digits, or None."""
    if pin in (None, ""):
        return None
    if not isinstance(pin, str) or not PIN.match(pin):
        errors["pin"] = str(PIN_RULE)
        return None
    return pin


def card_and_pin(body: dict, errors: dict, keep=None) -> tuple[str | None, str | None, bool]:
    """A credential's card key, PIN and enabled from a request, each bad one in `errors`:
    the cardholder's page checks them along with the cardholder, before either is added."""
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["enabled"] = _("Must be true or false.")
    key = parse_card(body.get("card"), errors)
    pin = parse_pin(body.get("pin"), errors)
    given = "card" in body and body["card"] is not None or body.get("pin") not in (None, "")
    if not given and not (keep and keep[1]):
        errors["card"] = _("Give a card, a PIN, or both.")
    return key, pin, enabled


class Credentials:
    """The credentials of all cardholders."""

    def __init__(self, store: Store, pins: PinHasher):
        self.store = store
        self.pins = pins

    def get(self, credential_id: int) -> dict:
        """One credential as the REST API shows it (never its PIN); raise NotFound."""
        return to_dict(self._stored(credential_id))

    def _stored(self, credential_id: int) -> sqlite3.Row:
        row = self.store.execute(
            "SELECT * FROM credentials WHERE id = ?", (credential_id,)
        ).fetchone()
        if row is None:
            raise NotFound(_("There is no credential with id %(id)d.", id=credential_id))
        return row

    def of(self, cardholder_id: int) -> list[dict]:
        """A cardholder's credentials."""
        rows = self.store.execute(
            "SELECT * FROM credentials WHERE cardholder_id = ? ORDER BY id", (cardholder_id,)
        )
        return [to_dict(r) for r in rows]

    def list(self, offset: int = 0, limit: int = 100) -> list[dict]:
        """All credentials by id, one page (on the store's reading thread)."""
        return self.store.read(_page, offset, limit)

    def create(self, body: dict) -> dict:
        """Add a credential; raise Invalid, NotFound (cardholder) or Conflict (duplicate)."""
        return self.get(self.store.write(_write, INSERT, self.row(body), "create"))

    def update(self, credential_id: int, changes: dict) -> dict:
        """Change enabled, card or PIN; a card with a PIN needs the PIN again if it changes."""
        stored = self._stored(credential_id)
        body = {**to_dict(stored), **changes}
        body.pop("has_pin", None)
        body.pop("id", None)
        keep = None if "pin" in changes else (stored["card"], stored["pin_hash"])
        row = {**self.row(body, keep=keep), "id": credential_id}
        self.store.write(_write, UPDATE, row, "update")
        return self.get(credential_id)

    def delete(self, credential_id: int) -> None:
        """Remove a credential."""
        self.store.write(_delete, credential_id)

    def row(self, body: dict, keep: tuple[str | None, str | None] | None = None) -> dict:
        """The stored row of a credential from a request; raise Invalid naming each field."""
        errors = unknown_fields(body, FIELDS)
        holder = body.get("cardholder_id")
        if not _int(holder):
            errors["cardholder_id"] = _("Give the id of the cardholder.")
        key, pin, enabled = card_and_pin(body, errors, keep)
        if errors:
            raise Invalid(errors, labels=LABELS)
        self._holder_exists(holder)
        pin_hash = self._pin_hash(key, pin, keep)
        return {"cardholder_id": holder, "enabled": enabled, "card": key, "pin_hash": pin_hash}

    def _pin_hash(self, key: str | None, pin: str | None, keep) -> str | None:
        """A new PIN's hash, or the stored one while the card it is bound to stays."""
        if pin is not None:
            return self.pins.stored(key, pin)
        if keep is None or keep[1] is None:
            return None
        if key != keep[0]:
            message = _("Enter the PIN again: it is stored bound to the card.")
            raise Invalid({"pin": message}, labels=LABELS)
        return keep[1]

    def _holder_exists(self, cardholder_id: int) -> None:
        row = self.store.execute("SELECT 1 FROM cardholders WHERE id = ?", (cardholder_id,))
        if row.fetchone() is None:
            message = _("There is no cardholder with id %(id)d.", id=cardholder_id)
            raise Invalid({"cardholder_id": message}, labels=LABELS)


INSERT = (
    "INSERT INTO credentials (cardholder_id, enabled, card, pin_hash) "
    "VALUES (:cardholder_id, :enabled, :card, :pin_hash)"
)
UPDATE = (
    "UPDATE credentials SET cardholder_id = :cardholder_id, enabled = :enabled, "
    "card = :card, pin_hash = :pin_hash WHERE id = :id"
)


def _write(tx: Transaction, sql: str, row: dict, action: str) -> int:
    """Insert or update a credential with its audit event; the id it has."""
    found = tx.execute("SELECT 1 FROM cardholders WHERE id = ?", (row["cardholder_id"],))
    if found.fetchone() is None:
        message = _("There is no cardholder with id %(id)d.", id=row["cardholder_id"])
        raise Invalid({"cardholder_id": message}, labels=LABELS)
    try:
        cursor = tx.execute(sql, row)
    except sqlite3.IntegrityError:
        raise _duplicate(tx, row) from None
    credential_id = row.get("id", cursor.lastrowid)
    if not cursor.rowcount:
        raise NotFound(_("There is no credential with id %(id)d.", id=credential_id))
    audit(tx, KIND, action, credential_id)
    return credential_id


def _delete(tx: Transaction, credential_id: int) -> None:
    if not tx.execute("DELETE FROM credentials WHERE id = ?", (credential_id,)).rowcount:
        raise NotFound(_("There is no credential with id %(id)d.", id=credential_id))
    audit(tx, KIND, "delete", credential_id)


def _duplicate(tx: Transaction, row: dict) -> Conflict:
    """The clear message for a card or PIN that is someone's already."""
    if row["card"] is not None:
        owner = tx.execute(
            "SELECT h.name FROM credentials c JOIN cardholders h ON h.id = c.cardholder_id "
            "WHERE c.card = ?",
            (row["card"],),
        ).fetchone()
        message = _(
            "The card %(card)s belongs to %(name)s already.",
            card=describe(row["card"]),
            name=owner[0],
        )
        return Conflict(message, {"card": message})
    message = _("That PIN is already a PIN-only credential of another cardholder; choose another.")
    return Conflict(message, {"pin": message})


def to_dict(row: sqlite3.Row) -> dict:
    """A credential as the REST API shows it: the PIN is write only."""
    return {
        "id": row["id"],
        "cardholder_id": row["cardholder_id"],
        "enabled": bool(row["enabled"]),
        "card": card_of(row["card"]),
        "pin": None,
        "has_pin": row["pin_hash"] is not None,
    }


def _page(conn: sqlite3.Connection, offset: int, limit: int) -> list[dict]:
    rows = conn.execute("SELECT * FROM credentials ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
    return [to_dict(r) for r in rows]
