"""Cardholders: the people credentials belong to, and simple groups of them.

A cardholder may be disabled, or valid only from / until a date or a date and time
(device local time; a date alone as valid_until means through the end of that day).
Long access gives the door's long access time, for people who need more time.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.core.errors import Conflict, Invalid, NotFound, unknown_fields
from doorctl.core.logs.audit import audit
from doorctl.core.store import Store, Transaction

NAME_MAX = 64
NOTES_MAX = 1000
VALIDITY_RULE = lazy_gettext(
    "Enter a date (2026-12-31) or a date and time (2026-12-31T17:00), or leave empty."
)
KIND = "Cardholder"
GROUP_KIND = "CardholderGroup"
FIELDS = ("name", "enabled", "valid_from", "valid_until", "long_access", "notes", "group_ids")
LABELS = {
    "name": lazy_gettext("Name"),
    "enabled": lazy_gettext("Enabled"),
    "valid_from": lazy_gettext("Valid from"),
    "valid_until": lazy_gettext("Valid until"),
    "long_access": lazy_gettext("Long access time"),
    "notes": lazy_gettext("Notes"),
    "group_ids": lazy_gettext("Groups"),
    "cardholder_ids": lazy_gettext("Members"),
}


def parse_validity(text: str) -> datetime | date:
    """A validity limit as a date or a naive local datetime; ValueError otherwise."""
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        raise ValueError("no time zone offsets: times are the device's local time")
    return moment.replace(microsecond=0)


def validity_epoch(text: str | None, tz: ZoneInfo, end: bool) -> float | None:
    """The instant a validity limit means in `tz`; a date alone ends at its midnight."""
    if not text:
        return None
    limit = parse_validity(text)
    if not isinstance(limit, datetime):
        limit = datetime.combine(limit + timedelta(days=1) if end else limit, time())
    return limit.replace(tzinfo=tz).timestamp()


def _text(body: dict, name: str, limit: int, errors: dict, required: bool = False) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value.strip()) > limit or (required and not value.strip()):
        if required:
            errors[name] = _("Enter 1 to %(max)d characters.", max=limit)
        else:
            errors[name] = _("Use text of up to %(max)d characters.", max=limit)
        return ""
    return value.strip()


def _bool(body: dict, name: str, default: bool, errors: dict) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        errors[name] = _("Must be true or false.")
        return default
    return value


def _validity(body: dict, name: str, errors: dict) -> str | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(name)
        return parse_validity(value).isoformat()
    except ValueError:
        errors[name] = str(VALIDITY_RULE)
        return None


def id_list(body: dict, name: str, errors: dict) -> list[int]:
    """A JSON list of record ids (no duplicates, sorted); a wrong one is a field error."""
    value = body.get(name, [])
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        errors[name] = _("Give a list of ids.")
        return []
    return sorted(set(value))


def validate(body: dict) -> dict:
    """A clean cardholder record from a request; raise Invalid naming each bad field,
    the rule between the two dates included, all at once."""
    errors = unknown_fields(body, (*FIELDS, "id"))
    record = {
        "name": _text(body, "name", NAME_MAX, errors, required=True),
        "enabled": _bool(body, "enabled", True, errors),
        "valid_from": _validity(body, "valid_from", errors),
        "valid_until": _validity(body, "valid_until", errors),
        "long_access": _bool(body, "long_access", False, errors),
        "notes": _text(body, "notes", NOTES_MAX, errors),
        "group_ids": id_list(body, "group_ids", errors),
    }
    if _until_before_from(record):
        errors["valid_until"] = _("Must be after Valid from.")
    if errors:
        raise Invalid(errors, labels=LABELS)
    return record


def _until_before_from(record: dict) -> bool:
    start, until = record["valid_from"], record["valid_until"]
    if not start or not until:
        return False
    utc = ZoneInfo("UTC")
    return validity_epoch(until, utc, end=True) <= validity_epoch(start, utc, end=False)


class Cardholders:
    """Cardholders and cardholder groups in the store."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, cardholder_id: int) -> dict:
        """One cardholder as the REST API shows it; raise NotFound."""
        row = self.store.execute(
            "SELECT * FROM cardholders WHERE id = ?", (cardholder_id,)
        ).fetchone()
        if row is None:
            raise NotFound(_("There is no cardholder with id %(id)d.", id=cardholder_id))
        return self._to_dict(row)

    def search(self, text: str = "", offset: int = 0, limit: int = 50) -> tuple[list[dict], int]:
        """Cardholders whose name contains `text`, by name, one page; and the total (on
        the store's reading thread: counting 100,000 names would stall the hub)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self.store.read(_search, pattern, offset, limit)

    def create(self, body: dict) -> dict:
        """Add a cardholder; raise Invalid."""
        return self.get(self.store.write(_insert, validate(body)))

    def update(self, cardholder_id: int, changes: dict) -> dict:
        """Change the given fields of a cardholder; raise NotFound or Invalid."""
        record = validate({**self.get(cardholder_id), **changes})
        self.store.write(_update, cardholder_id, record)
        return self.get(cardholder_id)

    def delete(self, cardholder_id: int) -> None:
        """Remove a cardholder with its credentials and rule memberships."""
        self.store.write(_delete, cardholder_id)

    def _to_dict(self, row: sqlite3.Row) -> dict:
        return _record(self.store.conn, row)

    # --- groups ---------------------------------------------------------------------------

    def groups(self) -> list[dict]:
        """Every cardholder group with its member count and rule count, by name."""
        rows = self.store.execute(GROUPS + " ORDER BY g.name COLLATE NOCASE, g.id")
        return [dict(r) for r in rows]

    def group(self, group_id: int) -> dict:
        """One group with its members' ids; raise NotFound."""
        row = self.store.execute(GROUPS + " HAVING g.id = ?", (group_id,)).fetchone()
        if row is None:
            raise NotFound(_("There is no group with id %(id)d.", id=group_id))
        members = self.store.execute(
            "SELECT cardholder_id FROM group_members WHERE group_id = ? ORDER BY cardholder_id",
            (group_id,),
        )
        return {**dict(row), "cardholder_ids": [m[0] for m in members]}

    def members(self, group_id: int) -> list[dict]:
        """A group's members (id and name), by name."""
        rows = self.store.execute(
            "SELECT h.id, h.name, h.enabled FROM group_members m JOIN cardholders h "
            "ON h.id = m.cardholder_id WHERE m.group_id = ? ORDER BY h.name COLLATE NOCASE",
            (group_id,),
        )
        return [dict(r) for r in rows]

    def group_rules(self, group_id: int) -> list[dict]:
        """The access rules that name a group (id and name), for the delete question."""
        rows = self.store.execute(
            "SELECT r.id, r.name FROM rule_groups g JOIN access_rules r ON r.id = g.rule_id "
            "WHERE g.group_id = ? ORDER BY r.id",
            (group_id,),
        )
        return [dict(r) for r in rows]

    def create_group(self, body: object) -> dict:
        """Add a group `{"name", "cardholder_ids"?}`; raise Invalid or Conflict."""
        group = validate_group(body if isinstance(body, dict) else {"name": body})
        return self.group(self.store.write(_write_group, None, group))

    def update_group(self, group_id: int, changes: dict) -> dict:
        """Rename a group or replace its members: the fields given, the others stay."""
        current = self.group(group_id)
        if not isinstance(changes, dict):
            validate_group(changes)
        group = validate_group({k: current[k] for k in GROUP_FIELDS} | changes)
        self.store.write(_write_group, group_id, group)
        return self.group(group_id)

    def add_members(self, group_id: int, cardholder_ids: list[int]) -> dict:
        """Put cardholders into a group (those in it already stay)."""
        current = self.group(group_id)
        ids = sorted({*current["cardholder_ids"], *cardholder_ids})
        return self.update_group(group_id, {"cardholder_ids": ids})

    def remove_member(self, group_id: int, cardholder_id: int) -> dict:
        """Take one cardholder out of a group (the cardholder stays)."""
        current = self.group(group_id)
        ids = [i for i in current["cardholder_ids"] if i != cardholder_id]
        return self.update_group(group_id, {"cardholder_ids": ids})

    def delete_group(self, group_id: int) -> None:
        """Remove a group (its members stay; rules lose the group)."""
        self.store.write(_delete_group, group_id)


GROUP_FIELDS = ("name", "cardholder_ids")
GROUPS = (
    "SELECT g.id, g.name, (SELECT count(*) FROM group_members m WHERE m.group_id = g.id) "
    "AS members, (SELECT count(*) FROM rule_groups r WHERE r.group_id = g.id) AS rules "
    "FROM cardholder_groups g GROUP BY g.id"
)


def validate_group(body: object) -> dict:
    """A clean group `{"name", "cardholder_ids"}`; raise Invalid naming each bad field."""
    if not isinstance(body, dict):
        raise Invalid({"body": _("Send a JSON object with the group's name.")})
    errors = unknown_fields(body, (*GROUP_FIELDS, "id", "members", "rules"))
    group = {
        "name": _text(body, "name", NAME_MAX, errors, required=True),
        "cardholder_ids": id_list(body, "cardholder_ids", errors),
    }
    if errors:
        raise Invalid(errors, labels=LABELS)
    return group


# --- writes: each runs in one transaction with its audit event (Store.write) -----------


def _insert(tx: Transaction, record: dict) -> int:
    cursor = tx.execute(
        "INSERT INTO cardholders (name, enabled, valid_from, valid_until, long_access, "
        "notes) VALUES (:name, :enabled, :valid_from, :valid_until, :long_access, :notes)",
        record,
    )
    _set_groups(tx, cursor.lastrowid, record["group_ids"])
    audit(tx, KIND, "create", cursor.lastrowid)
    return cursor.lastrowid


def _update(tx: Transaction, cardholder_id: int, record: dict) -> None:
    cursor = tx.execute(
        "UPDATE cardholders SET name = :name, enabled = :enabled, valid_from = "
        ":valid_from, valid_until = :valid_until, long_access = :long_access, notes = "
        ":notes WHERE id = :id",
        {**record, "id": cardholder_id},
    )
    if not cursor.rowcount:
        raise NotFound(_("There is no cardholder with id %(id)d.", id=cardholder_id))
    _set_groups(tx, cardholder_id, record["group_ids"])
    audit(tx, KIND, "update", cardholder_id)


def _delete(tx: Transaction, cardholder_id: int) -> None:
    if not tx.execute("DELETE FROM cardholders WHERE id = ?", (cardholder_id,)).rowcount:
        raise NotFound(_("There is no cardholder with id %(id)d.", id=cardholder_id))
    audit(tx, KIND, "delete", cardholder_id)


def missing_ids(tx: Transaction, table: str, ids: list[int]) -> str:
    """The ids given that are not in `table`, as text for a message ('' if none)."""
    marks = ",".join("?" * len(ids))
    rows = tx.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", ids)
    return ", ".join(map(str, sorted(set(ids) - {r[0] for r in rows})))


def _set_groups(tx: Transaction, cardholder_id: int, ids: list[int]) -> None:
    """Replace a cardholder's groups; unknown group ids are named in the error."""
    tx.execute("DELETE FROM group_members WHERE cardholder_id = ?", (cardholder_id,))
    missing = missing_ids(tx, "cardholder_groups", ids)
    if missing:
        message = _("There is no group with id %(ids)s.", ids=missing)
        raise Invalid({"group_ids": message}, labels=LABELS)
    tx.executemany(
        "INSERT INTO group_members (group_id, cardholder_id) VALUES (?, ?)",
        [(g, cardholder_id) for g in ids],
    )


def _write_group(tx: Transaction, group_id: int | None, group: dict) -> int:
    """Add a group (no id) or change one: its name and its members."""
    action = "create" if group_id is None else "update"
    try:
        if group_id is None:
            cursor = tx.execute("INSERT INTO cardholder_groups (name) VALUES (?)", (group["name"],))
            group_id = cursor.lastrowid
        else:
            sql = "UPDATE cardholder_groups SET name = ? WHERE id = ?"
            if not tx.execute(sql, (group["name"], group_id)).rowcount:
                raise NotFound(_("There is no group with id %(id)d.", id=group_id))
    except sqlite3.IntegrityError:
        message = _(
            "A group named %(name)s exists already; choose another name.", name=group["name"]
        )
        raise Conflict(message, {"name": message}) from None
    _set_members(tx, group_id, group["cardholder_ids"])
    audit(tx, GROUP_KIND, action, group_id)
    return group_id


def _set_members(tx: Transaction, group_id: int, ids: list[int]) -> None:
    """Replace a group's members; unknown cardholder ids are named in the error."""
    missing = missing_ids(tx, "cardholders", ids)
    if missing:
        message = _("There is no cardholder with id %(ids)s.", ids=missing)
        raise Invalid({"cardholder_ids": message}, labels=LABELS)
    tx.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
    tx.executemany(
        "INSERT INTO group_members (group_id, cardholder_id) VALUES (?, ?)",
        [(group_id, c) for c in ids],
    )


def _delete_group(tx: Transaction, group_id: int) -> None:
    if not tx.execute("DELETE FROM cardholder_groups WHERE id = ?", (group_id,)).rowcount:
        raise NotFound(_("There is no group with id %(id)d.", id=group_id))
    audit(tx, GROUP_KIND, "delete", group_id)


def _search(conn: sqlite3.Connection, pattern: str, offset: int, limit: int):
    where = "name LIKE ? ESCAPE '\\'"
    count = f"SELECT count(*) FROM cardholders WHERE {where}"
    total = conn.execute(count, (pattern,)).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM cardholders WHERE {where} ORDER BY name COLLATE NOCASE, id "
        "LIMIT ? OFFSET ?",
        (pattern, limit, offset),
    ).fetchall()
    return [_record(conn, r) for r in rows], total


def _record(conn: sqlite3.Connection, row: sqlite3.Row) -> dict:
    """A cardholder's row as the API shows it, with its groups."""
    groups = conn.execute(
        "SELECT group_id FROM group_members WHERE cardholder_id = ? ORDER BY group_id",
        (row["id"],),
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "enabled": bool(row["enabled"]),
        "valid_from": row["valid_from"],
        "valid_until": row["valid_until"],
        "long_access": bool(row["long_access"]),
        "notes": row["notes"],
        "group_ids": [g[0] for g in groups],
    }
