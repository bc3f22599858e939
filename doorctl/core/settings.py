"""Settings: one validated record per section of the manual, kept as JSON in SQLite.

A section is defined once, as a WTForms form (fields, limits, defaults). The same
definition validates the web page's form, the REST API's JSON and what is stored, so
the three can never disagree about what a value may be.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms import Form

from doorctl.core.errors import Invalid, NotFound
from doorctl.core.logs.audit import audit
from doorctl.core.secrets import Sealer, Unsealable, is_sealed
from doorctl.core.store import Store, Transaction, secret_key

log = logging.getLogger(__name__)
Listener = Callable[[dict], None]
Check = Callable[[dict], dict[str, str]]


def type_errors(defaults: dict, values: dict) -> dict[str, str]:
    """Fields whose JSON value is not of their default's type (true is not a number).

    WTForms takes `data=` as it comes, so a number where text belongs would reach a
    validator that can't handle it; this says which field is wrong instead.
    """
    errors = {}
    for name, value in values.items():
        default = defaults.get(name)
        if default is None or name not in defaults:
            continue
        message = _type_error(default, value)
        if message:
            errors[name] = message
    return errors


def _type_error(default, value) -> str | None:
    if isinstance(default, bool):
        return None if isinstance(value, bool) else _("Must be true or false.")
    if isinstance(default, int | float):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            return _("Must be a number.")
        fraction = isinstance(default, int) and isinstance(value, float)
        return _("Must be a whole number.") if fraction and not value.is_integer() else None
    for kind, message in (
        (str, _("Must be text.")),
        (list, _("Must be a list.")),
        (dict, _("Must be an object.")),
    ):
        if isinstance(default, kind):
            return None if isinstance(value, kind) else message
    return None


def first_errors(form: Form) -> dict[str, str]:
    """The first message of each field that failed, keyed by field name."""
    return {name: str(messages[0]) for name, messages in form.errors.items() if messages}


def labels(form: Form) -> dict[str, str]:
    """Each field's label as the page shows it, by field name."""
    return {field.name: str(field.label.text) for field in form}


class Settings:
    """The settings records of every registered section."""

    def __init__(self, store: Store, sealer: Sealer | None = None):
        self.store = store
        self.sealer = sealer or Sealer(secret_key(store.path.parent))
        self.sections: dict[str, type[Form]] = {}
        self.secrets: dict[str, tuple[str, ...]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._checks: dict[str, Check] = {}
        self._defaults: dict[str, dict] = {}

    def register(self, section: str, form_class: type[Form], secrets: tuple = ()) -> None:
        """Make a section known, with the form that defines its fields and defaults.

        `secrets` name the fields stored sealed with the device key (passwords); one
        stored in clear by an older version is sealed now.
        """
        self.sections[section] = form_class
        self.secrets[section] = tuple(secrets)
        stored = self._stored(section)
        if any(stored.get(name) and not is_sealed(stored[name]) for name in secrets):
            self._seal_stored(section, stored)

    def public(self, section: str, record: dict | None = None) -> dict:
        """A record as shown back (page, API, report): each secret left out, with
        `<name>_set` saying whether one is stored."""
        record = self.get(section) if record is None else record
        secrets = self.secrets.get(section, ())
        shown = {k: v for k, v in record.items() if k not in secrets}
        return shown | {f"{name}_set": bool(record.get(name)) for name in secrets}

    def keeping_secrets(self, section: str, changes: dict) -> dict:
        """JSON changes where an empty or absent secret keeps the stored one (a secret is
        never shown back, so a client cannot send it again)."""
        secrets = self.secrets.get(section, ())
        return {k: v for k, v in changes.items() if k not in secrets or v}

    def posted_form(self, section: str, formdata: MultiDict) -> Form:
        """The section's form with a page's posted values; a secret left empty (the page
        never shows it) keeps the stored one."""
        form = self.form(section, formdata)
        stored = self.get(section)
        for name in self.secrets.get(section, ()):
            if not form[name].data:
                form[name].data = stored[name]
        return form

    def check(self, section: str, check: Check) -> None:
        """Add a rule the form alone can't know (e.g. that a named schedule exists).

        `check(record)` returns {field: message} for each problem, or {}.
        """
        self._checks[section] = check

    def on_change(self, section: str, listener: Listener) -> None:
        """Call `listener(new_record)` after each successful update of the section."""
        self._listeners.setdefault(section, []).append(listener)

    def form(self, section: str, formdata: MultiDict | None = None) -> Form:
        """The section's form holding the stored record, or the posted values over it."""
        return self._form_class(section)(formdata=formdata, data=self.get(section))

    def defaults(self, section: str) -> dict:
        """The factory default record of a section."""
        return {**self._form_class(section)().data, **self._defaults.get(section, {})}

    def set_defaults(self, section: str, values: dict) -> None:
        """Defaults known only at start (the ports the command line gives), in force
        until the section is saved."""
        self._defaults[section] = dict(values)

    def get(self, section: str) -> dict:
        """The stored record merged over the defaults (new fields get their default)."""
        record = self.defaults(section)
        stored = self._opened(section, self._stored(section))
        record.update({k: v for k, v in stored.items() if k in record})
        return record

    def _seal_stored(self, section: str, stored: dict) -> None:
        """Rewrite a record whose secrets an older version stored in clear, leaving no
        trace of them in the freed space or the write-ahead log."""
        self.store.execute("PRAGMA secure_delete = ON")
        self.store.execute(
            "UPDATE settings SET data = ? WHERE section = ?",
            (json.dumps(self._sealed(section, stored)), section),
        )
        self.store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.store.execute("PRAGMA secure_delete = OFF")

    def _stored(self, section: str) -> dict:
        """The record as it is in the database (secrets sealed), {} if never saved."""
        row = self.store.execute("SELECT data FROM settings WHERE section = ?", (section,))
        stored = row.fetchone()
        return json.loads(stored[0]) if stored else {}

    def _opened(self, section: str, record: dict) -> dict:
        """A record with its secret fields opened with the device key."""
        opened = dict(record)
        for name in self.secrets.get(section, ()):
            if isinstance(opened.get(name), str):
                opened[name] = self._open(section, name, opened[name])
        return opened

    def _open(self, section: str, name: str, stored: str) -> str:
        """A secret opened; one sealed by another device (a database copied over) is
        not set, and the log says so, rather than the section failing."""
        try:
            return self.sealer.open(stored, f"{section}.{name}")
        except Unsealable:
            log.warning("the %s of %s was sealed by another device: set it again", name, section)
            return ""

    def _sealed(self, section: str, record: dict) -> dict:
        """A record as stored: its secret fields sealed with the device key."""
        sealed = dict(record)
        for name in self.secrets.get(section, ()):
            if isinstance(sealed.get(name), str):
                sealed[name] = self.sealer.seal(sealed[name], f"{section}.{name}")
        return sealed

    def update(self, section: str, changes: dict) -> dict:
        """Validate `changes` over the stored record, store and announce it; raise Invalid."""
        return self.save(section, self.validated(section, changes))

    def validated(self, section: str, changes: dict, over: dict | None = None) -> Form:
        """The section's form with `changes` over `over` (the stored record), validated
        with the section's checks; raise Invalid. Nothing is stored."""
        current = self.get(section) if over is None else over
        unknown = sorted(set(changes) - set(current))
        if unknown:
            message = _("There is no such setting; the settings are: %(names)s.")
            names = ", ".join(sorted(current))
            raise Invalid(dict.fromkeys(unknown, message % {"names": names}))
        wrong = type_errors(self.defaults(section), changes)
        good = {k: v for k, v in changes.items() if k not in wrong}
        form = self._form_class(section)(data={**current, **good})
        if wrong:
            form.validate()
            raise Invalid({**first_errors(form), **wrong}, labels=labels(form))
        self.check_form(section, form, current)
        return form

    def check_form(self, section: str, form: Form, over: dict | None = None) -> dict:
        """Validate a filled form and the section's checks, all at once; its record, or
        raise Invalid naming every bad field (the form's fields then hold their messages).

        The checks see the good fields over the stored record, so a rule across fields
        is told along with a bad value in another field, not after it is fixed.
        """
        valid = form.validate()
        bad = first_errors(form)
        stored = self.get(section) if over is None else over
        record = {**stored, **{k: v for k, v in form.data.items() if k not in bad}}
        problems = {
            name: str(message)
            for name, message in self._checks.get(section, lambda _: {})(record).items()
            if name not in bad
        }
        for name, message in problems.items():
            form[name].errors = [message]
        if not valid or problems:
            raise Invalid({**bad, **problems}, labels=labels(form))
        return form.data

    def save(
        self, section: str, form: Form, also: Callable | None = None, withheld: tuple = ()
    ) -> dict:
        """Validate a filled form, store its record and tell the listeners; raise Invalid.
        The `withheld` fields are checked with the others but stored as their defaults;
        `also(tx)` writes in the same transaction (such a field kept elsewhere: a hash)."""
        checked = self.check_form(section, form)
        defaults = self.defaults(section)
        record = {**checked, **{name: defaults[name] for name in withheld}}
        stored = self.get(section)
        changed = sorted(name for name, value in record.items() if stored.get(name) != value)
        self.store.write(
            _save,
            section,
            self._sealed(section, record),
            changed,
            also,
            after=lambda _: self._apply(section, record),
        )
        return record

    def changed(self, section: str) -> None:
        """The section was saved by the other process (web or engine): hand the
        stored record to this process's listeners."""
        self._apply(section, self.get(section))

    def _apply(self, section: str, record: dict) -> None:
        """Hand a stored record to the section's listeners."""
        for listener in self._listeners.get(section, []):
            listener(record)

    def _form_class(self, section: str) -> type[Form]:
        try:
            return self.sections[section]
        except KeyError:
            raise NotFound(f"no settings section named {section!r}") from None


def _save(
    tx: Transaction, section: str, record: dict, changed: list[str], also: Callable | None = None
) -> None:
    """Store a section's record with its event (the names of the fields, never values:
    some are secrets), and what `also` writes with it."""
    tx.execute(
        "INSERT INTO settings (section, data) VALUES (?, ?) "
        "ON CONFLICT (section) DO UPDATE SET data = excluded.data",
        (section, json.dumps(record)),
    )
    audit(tx, "Settings", "update", section, {"changed": changed})
    if also is not None:
        also(tx)
