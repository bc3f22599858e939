"""Access rules: who may open which door, through which reader, when, and how.

A rule names cardholders and/or cardholder groups, a door, the reader direction
(entry, exit or both), a schedule (none: always) and the authentication the reader
asks for: card only, PIN only, or card + PIN.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.core.access_control.cardholders import id_list, missing_ids
from doorctl.core.errors import Invalid, NotFound, unknown_fields
from doorctl.core.logs.audit import audit
from doorctl.core.store import Store, Transaction

KIND = "AccessRule"
AUTHENTICATIONS = ("card", "pin", "card+pin")
DIRECTIONS = ("entry", "exit", "both")
# Each value as the page says it.
AUTHENTICATION_WORDS = {
    "card": lazy_gettext("Card"),
    "pin": lazy_gettext("PIN"),
    "card+pin": lazy_gettext("Card and PIN"),
}
DIRECTION_WORDS = {
    "entry": lazy_gettext("Entry reader"),
    "exit": lazy_gettext("Exit reader"),
    "both": lazy_gettext("Entry and exit readers"),
}
LABELS = {
    "name": lazy_gettext("Name"),
    "cardholder_ids": lazy_gettext("Cardholders"),
    "group_ids": lazy_gettext("Groups"),
    "door_id": lazy_gettext("Door"),
    "direction": lazy_gettext("Reader"),
    "schedule_id": lazy_gettext("Schedule"),
    "authentication": lazy_gettext("Authentication"),
}
NAME_MAX = 64
FIELDS = (
    "name",
    "cardholder_ids",
    "group_ids",
    "door_id",
    "direction",
    "schedule_id",
    "authentication",
)

# The decision's one query for rules: both membership paths are primary-key searches.
RULES_FOR = """
SELECT r.id, r.schedule_id, r.authentication FROM access_rules r
WHERE r.door_id = :door AND r.direction IN (:direction, 'both') AND r.id IN (
    SELECT rule_id FROM rule_cardholders WHERE cardholder_id = :holder
    UNION
    SELECT g.rule_id FROM group_members m JOIN rule_groups g ON g.group_id = m.group_id
    WHERE m.cardholder_id = :holder)
"""


@dataclass(frozen=True)
class Applicable:
    """A rule as a decision needs it."""

    id: int
    schedule_id: int | None
    authentication: str


def _optional_id(body: dict, name: str, errors: dict) -> int | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        errors[name] = _("Choose a schedule from the list, or Always.")
        return None
    return value


def _choice(value, words: dict, name: str, errors: dict) -> None:
    """A value that must be one of `words`' keys (a page offers them in a list, so a
    wrong one comes from the API, which sends the values)."""
    if not isinstance(value, str) or value not in words:
        errors[name] = _("Choose one of: %(choices)s.", choices=", ".join(words))


def validate(body: dict, door_ids: set[int]) -> dict:
    """A clean rule from a request; raise Invalid naming each bad field, all at once."""
    errors = unknown_fields(body, (*FIELDS, "id"))
    rule = {
        "name": body.get("name", ""),
        "cardholder_ids": id_list(body, "cardholder_ids", errors),
        "group_ids": id_list(body, "group_ids", errors),
        "door_id": body.get("door_id", 1),
        "direction": body.get("direction", "both"),
        "schedule_id": _optional_id(body, "schedule_id", errors),
        "authentication": body.get("authentication", "card"),
    }
    if rule["name"] is None:
        rule["name"] = ""
    if not isinstance(rule["name"], str) or len(rule["name"]) > NAME_MAX:
        errors["name"] = _("Use text of up to %(max)d characters.", max=NAME_MAX)
    door_id = rule["door_id"]
    if isinstance(door_id, bool) or not isinstance(door_id, int) or door_id not in door_ids:
        known = ", ".join(map(str, sorted(door_ids)))
        errors["door_id"] = _("Choose a door: %(doors)s.", doors=known)
    _choice(rule["direction"], DIRECTION_WORDS, "direction", errors)
    _choice(rule["authentication"], AUTHENTICATION_WORDS, "authentication", errors)
    lists_given = "cardholder_ids" not in errors and "group_ids" not in errors
    if lists_given and not rule["cardholder_ids"] and not rule["group_ids"]:
        errors["cardholder_ids"] = _("Choose at least one cardholder or group.")
    if errors:
        raise Invalid(errors, labels=LABELS)
    return rule


class AccessRules:
    """The access rules in the store."""

    def __init__(self, store: Store, door_ids):
        self.store = store
        self._door_ids = door_ids

    def for_cardholder(self, cardholder_id: int, door_id: int, direction: str):
        """The rules that let this cardholder through this door in this direction."""
        rows = self.store.execute(
            RULES_FOR, {"door": door_id, "direction": direction, "holder": cardholder_id}
        )
        return [Applicable(*r) for r in rows]

    def list(self) -> list[dict]:
        """Every rule, by id."""
        ids = [r[0] for r in self.store.execute("SELECT id FROM access_rules ORDER BY id")]
        return [self.get(i) for i in ids]

    def get(self, rule_id: int) -> dict:
        """One rule as the REST API shows it; raise NotFound."""
        row = self.store.execute("SELECT * FROM access_rules WHERE id = ?", (rule_id,)).fetchone()
        if row is None:
            raise NotFound(_("There is no access rule with id %(id)d.", id=rule_id))
        return {
            "id": row["id"],
            "name": row["name"],
            "cardholder_ids": self._members("rule_cardholders", "cardholder_id", rule_id),
            "group_ids": self._members("rule_groups", "group_id", rule_id),
            "door_id": row["door_id"],
            "direction": row["direction"],
            "schedule_id": row["schedule_id"],
            "authentication": row["authentication"],
        }

    def create(self, body: dict) -> dict:
        """Add a rule; raise Invalid."""
        rule = validate(body, set(self._door_ids()))
        return self.get(self.store.write(_insert, rule))

    def update(self, rule_id: int, changes: dict) -> dict:
        """Change the given fields of a rule; raise NotFound or Invalid."""
        rule = validate({**self.get(rule_id), **changes}, set(self._door_ids()))
        self.store.write(_update, rule_id, rule)
        return self.get(rule_id)

    def delete(self, rule_id: int) -> None:
        """Remove a rule."""
        self.store.write(_delete, rule_id)

    def _members(self, table: str, column: str, rule_id: int) -> list[int]:
        rows = self.store.execute(
            f"SELECT {column} FROM {table} WHERE rule_id = ? ORDER BY {column}", (rule_id,)
        )
        return [r[0] for r in rows]


# --- writes: each runs in one transaction with its audit event (Store.write) -----------


def _insert(tx: Transaction, rule: dict) -> int:
    _check_schedule(tx, rule)
    cursor = tx.execute(
        "INSERT INTO access_rules (name, door_id, direction, schedule_id, authentication)"
        " VALUES (:name, :door_id, :direction, :schedule_id, :authentication)",
        rule,
    )
    _set_members(tx, cursor.lastrowid, rule)
    audit(tx, KIND, "create", cursor.lastrowid)
    return cursor.lastrowid


def _update(tx: Transaction, rule_id: int, rule: dict) -> None:
    _check_schedule(tx, rule)
    cursor = tx.execute(
        "UPDATE access_rules SET name = :name, door_id = :door_id, direction = "
        ":direction, schedule_id = :schedule_id, authentication = :authentication "
        "WHERE id = :id",
        {**rule, "id": rule_id},
    )
    if not cursor.rowcount:
        raise NotFound(_("There is no access rule with id %(id)d.", id=rule_id))
    _set_members(tx, rule_id, rule)
    audit(tx, KIND, "update", rule_id)


def _delete(tx: Transaction, rule_id: int) -> None:
    if not tx.execute("DELETE FROM access_rules WHERE id = ?", (rule_id,)).rowcount:
        raise NotFound(_("There is no access rule with id %(id)d.", id=rule_id))
    audit(tx, KIND, "delete", rule_id)


def _check_schedule(tx: Transaction, rule: dict) -> None:
    schedule_id = rule["schedule_id"]
    if schedule_id is None:
        return
    found = tx.execute("SELECT 1 FROM schedules WHERE id = ?", (schedule_id,))
    if found.fetchone() is None:
        message = _(
            "There is no schedule with id %(id)d; choose one from the list.", id=schedule_id
        )
        raise Invalid({"schedule_id": message}, labels=LABELS)


def _set_members(tx: Transaction, rule_id: int, rule: dict) -> None:
    """Replace the rule's cardholders and groups; unknown ids are named in the error."""
    for table, column, key, source in (
        ("rule_cardholders", "cardholder_id", "cardholder_ids", "cardholders"),
        ("rule_groups", "group_id", "group_ids", "cardholder_groups"),
    ):
        missing = missing_ids(tx, source, rule[key])
        if missing:
            message = _("There is none with id %(ids)s; choose from the list.", ids=missing)
            raise Invalid({key: message}, labels=LABELS)
        tx.execute(f"DELETE FROM {table} WHERE rule_id = ?", (rule_id,))
        tx.executemany(
            f"INSERT INTO {table} (rule_id, {column}) VALUES (?, ?)",
            [(rule_id, i) for i in rule[key]],
        )
