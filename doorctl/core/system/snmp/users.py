"""The SNMP v3 users (System > SNMP): their form (page, REST API, store) and their table.

Each user has a name, an authentication protocol (SHA or SHA-256), an authentication
key and a privacy key (AES), whether it may read, and whether it is the one user that
sends the traps and informs. The keys are stored sealed with the device key (place
`snmp_users.<field>`), never shown back (`auth_key_set`, `privacy_key_set` say whether
one is stored), and an empty or absent key on a change keeps the stored one. Each add,
change and removal is stored with its configuration event
(`tns1:Configuration/SnmpUser/...`) in one transaction, then snmpd is restarted with
the users (`changed`).

A v3 user that an earlier version kept in the SNMP settings (`v3_user`, ...) moves
into the table when doorctl starts (`adopt`), its keys sealed again for their place.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form
from wtforms.validators import ValidationError

from doorctl.core.errors import Conflict, Invalid, NotFound, unknown_fields
from doorctl.core.fields import Choice, Switch, Text
from doorctl.core.logs.audit import audit
from doorctl.core.secrets import Sealer, Unsealable
from doorctl.core.settings import first_errors, labels
from doorctl.core.store import Store, Transaction

from .settings import AUTHENTICATIONS, MIN_KEY, MOVED, SECTION, line_error

KIND = "SnmpUser"
KEYS = ("auth_key", "privacy_key")
FIELDS = ("name", "authentication", *KEYS, "read", "notify")
MAX_USERS = 16
MAX_NAME = 32
MAX_KEY = 255


class UserForm(Form):
    """One SNMP v3 user, as the page and the REST API give it."""

    name = Text(
        lazy_gettext("User name"),
        default="",
        description=lazy_gettext("The name SNMP managers and trap receivers know it by."),
    )
    authentication = Choice(
        lazy_gettext("Authentication"), choices=AUTHENTICATIONS, default="SHA-256"
    )
    auth_key = Text(
        lazy_gettext("Authentication password"),
        default="",
        description=lazy_gettext("At least 8 characters."),
    )
    privacy_key = Text(
        lazy_gettext("Privacy password (AES)"),
        default="",
        description=lazy_gettext("At least 8 characters; AES-128."),
    )
    read = Switch(
        lazy_gettext("May read"),
        default=True,
        description=lazy_gettext("Managers may read with it (authentication and privacy both)."),
    )
    notify = Switch(
        lazy_gettext("Sends traps"),
        default=False,
        description=lazy_gettext("Traps and informs are sent as this user (one user at a time)."),
    )

    def validate_name(self, field) -> None:
        if not field.data:
            raise ValidationError(_("Enter the user's name."))
        if len(field.data) > MAX_NAME:
            raise ValidationError(_("At most %(most)d characters.", most=MAX_NAME))
        if any(c.isspace() for c in field.data) or line_error(field.data):
            raise ValidationError(_("A user name has no spaces, quotes or backslashes."))

    def validate_auth_key(self, field) -> None:
        _key_rule(field)

    def validate_privacy_key(self, field) -> None:
        _key_rule(field)


def _key_rule(field) -> None:
    """A v3 password: 8 characters at least (RFC 3414; net-snmp refuses shorter ones)."""
    if not field.data:
        raise ValidationError(
            _("Enter a password of at least %(least)d characters.", least=MIN_KEY)
        )
    if len(field.data) < MIN_KEY:
        raise ValidationError(
            _("At least %(least)d characters (SNMP v3 refuses shorter ones).", least=MIN_KEY)
        )
    if len(field.data) > MAX_KEY or line_error(field.data):
        raise ValidationError(
            line_error(field.data) or _("At most %(most)d characters.", most=MAX_KEY)
        )


def public(user: dict) -> dict:
    """A user as shown back: never a key, only whether each one is stored."""
    shown = {k: v for k, v in user.items() if k not in KEYS}
    return shown | {f"{name}_set": bool(user.get(name)) for name in KEYS}


class SnmpUsers:
    """The users' table: read, and add, change and remove with their audit events.

    `changed()` runs after each stored change (snmpd restarts with the users);
    `sending()` says whether SNMP v3 sends traps now (the sending user must stay).
    """

    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        changed: Callable[[], None] = lambda: None,
        sending: Callable[[], bool] = lambda: False,
    ):
        self.store, self.sealer = store, sealer
        self.changed, self.sending = changed, sending

    def list(self) -> list[dict]:
        """Every user (no keys), in the order they were added."""
        return [public(user) for user in self._rows()]

    def get(self, user_id: int) -> dict:
        """One user (no keys); NotFound when there is none with the id."""
        return public(self._row(user_id))

    def opened(self) -> list[dict]:
        """Every user with its keys in clear, for snmpd's configuration only."""
        return [{**user, **{k: self._open(user, k) for k in KEYS}} for user in self._rows()]

    def keys(self) -> set[str]:
        """Every stored key in clear (the server report scrubs them from its text)."""
        return {user[k] for user in self.opened() for k in KEYS if user[k]}

    def create(self, body: dict) -> dict:
        """Add a user; Invalid names every bad field at once. The first user sends the
        traps until another is chosen."""
        record = self.checked({**UserForm().data, **body})
        if len(self._rows()) >= MAX_USERS:
            raise Conflict(_("At most %(most)d SNMP users can be added.", most=MAX_USERS))
        record["notify"] = record["notify"] or not any(u["notify"] for u in self._rows())
        user_id = self.store.write(_insert, self._sealed(record), after=self._after)
        return self.get(user_id)

    def update(self, user_id: int, body: dict) -> dict:
        """Change the fields given of a user; an empty or absent key keeps the stored one."""
        current = self._row(user_id)
        changes = {k: v for k, v in body.items() if k not in KEYS or v}
        record = self.checked({**current, **changes}, user_id)
        if current["notify"] and not record["notify"] and self.sending():
            raise Invalid({"notify": _("Traps are sent as this user: choose another first.")})
        sealed = {k: v for k, v in self._sealed(record).items() if k not in KEYS or k in changes}
        self.store.write(_update, user_id, sealed, after=self._after)
        return self.get(user_id)

    def delete(self, user_id: int) -> None:
        """Remove a user; the one that sends the traps stays while SNMP v3 sends any."""
        if self._row(user_id)["notify"] and self.sending():
            raise Conflict(
                _("Traps are sent as this user: choose another user to send them first.")
            )
        self.store.write(_delete, user_id, after=self._after)

    def checked(self, body: dict, user_id: int | None = None) -> dict:
        """The clean record, else Invalid with each field's message."""
        given = {k: v for k, v in body.items() if k != "id"}
        errors = unknown_fields(given, FIELDS)
        form = UserForm(data={k: given[k] for k in FIELDS if k in given})
        form.validate()
        errors |= first_errors(form)
        if "name" not in errors and self._taken(form.data["name"], user_id):
            errors["name"] = _("There is an SNMP user named %(name)s already.", name=body["name"])
        if errors:
            raise Invalid(errors, labels=labels(form))
        return {k: form.data[k] for k in FIELDS}

    def adopt(self, settings_row: dict) -> dict:
        """Move the one v3 user of an earlier version's SNMP settings into the table;
        the settings as they are to be stored, without it."""
        kept = {k: v for k, v in settings_row.items() if k not in MOVED}
        name = settings_row.get("v3_user")
        if not name or self._taken(name, None):
            return kept
        user = {"name": name, "authentication": settings_row.get("v3_authentication", "SHA")}
        for key in KEYS:
            user[key] = self._open_old(settings_row.get(f"v3_{key}", ""), f"v3_{key}")
        user |= {"read": True, "notify": True}
        self.store.write(_adopt, self._sealed(user), kept)
        return kept

    def _after(self, _result) -> None:
        self.changed()

    def _taken(self, name: str, user_id: int | None) -> bool:
        row = self.store.execute("SELECT id FROM snmp_users WHERE name = ?", (name,)).fetchone()
        return row is not None and row[0] != user_id

    def _rows(self) -> list[dict]:
        rows = self.store.execute("SELECT * FROM snmp_users ORDER BY id")
        return [_record(row) for row in rows]

    def _row(self, user_id: int) -> dict:
        row = self.store.execute("SELECT * FROM snmp_users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFound(_("There is no SNMP user %(id)d.", id=user_id))
        return _record(row)

    def _sealed(self, record: dict) -> dict:
        return record | {k: self.sealer.seal(record[k], f"snmp_users.{k}") for k in KEYS}

    def _open(self, user: dict, key: str) -> str:
        """A key opened; one sealed by another device (a database copied over) is
        empty, and snmpd then refuses the user, rather than the list failing."""
        try:
            return self.sealer.open(user[key], f"snmp_users.{key}")
        except Unsealable:
            return ""

    def _open_old(self, stored: str, name: str) -> str:
        try:
            return self.sealer.open(stored, f"{SECTION}.{name}") if stored else ""
        except Unsealable:
            return ""


def _record(row) -> dict:
    user = dict(row)
    return user | {"read": bool(user["read"]), "notify": bool(user["notify"])}


def _insert(tx: Transaction, record: dict) -> int:
    if record["notify"]:
        tx.execute("UPDATE snmp_users SET notify = 0")
    names = ", ".join(FIELDS)
    user_id = tx.execute(
        f"INSERT INTO snmp_users ({names}) VALUES ({', '.join('?' * len(FIELDS))})",
        [record[k] for k in FIELDS],
    ).lastrowid
    audit(tx, KIND, "create", user_id, {"name": record["name"]})
    return user_id


def _update(tx: Transaction, user_id: int, record: dict) -> None:
    if record["notify"]:
        tx.execute("UPDATE snmp_users SET notify = 0 WHERE id != ?", (user_id,))
    names = [k for k in FIELDS if k in record]
    tx.execute(
        f"UPDATE snmp_users SET {', '.join(f'{k} = ?' for k in names)} WHERE id = ?",
        [*(record[k] for k in names), user_id],
    )
    audit(tx, KIND, "update", user_id, {"name": record["name"]})


def _delete(tx: Transaction, user_id: int) -> None:
    tx.execute("DELETE FROM snmp_users WHERE id = ?", (user_id,))
    audit(tx, KIND, "delete", user_id)


def _adopt(tx: Transaction, record: dict, settings_row: dict) -> None:
    """The earlier version's user into the table, and out of the settings record."""
    _insert(tx, record)
    tx.execute(
        "UPDATE settings SET data = ? WHERE section = ?", (json.dumps(settings_row), SECTION)
    )
