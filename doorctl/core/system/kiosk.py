"""Kiosk display (System > Kiosk display): the Pi's own screen shows the doors live.

The kiosk is an identity of its own, not a user: it logs in without a password, only
from the Pi itself (the TCP peer is a loopback address, as the WSGI server saw it; no
forwarded header counts) and only with the login token of the last `doorctl kiosk
install` (kiosk_token.py: a local user, a tunnel or a reverse proxy is loopback too).
Its role, `kiosk`, opens the kiosk page and its live feed and nothing else. Its login
lasts across reboots; turning the kiosk off ends it and the token. Operator actions on
the screen are off by default; when on, each asks for the operator PIN, kept as a
salted slow hash; runs of wrong PINs block the actions longer each time, kept in the
database so that a restart does not end a block.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import Form, StringField
from wtforms.validators import NumberRange, ValidationError

from doorctl.core.errors import DoorctlError, Forbidden
from doorctl.core.events import EventBus
from doorctl.core.fields import Choice, Present, StrictInteger, Switch
from doorctl.core.logs.audit import audit
from doorctl.core.settings import Settings
from doorctl.core.store import Store, Transaction
from doorctl.core.system import kiosk_token
from doorctl.core.system.security.blocking import FAILED_TOPIC, Blocking
from doorctl.core.system.users import User, Users

SECTION = "kiosk"
ROLE = "kiosk"
NAME = "kiosk"
# '@' is in no username, so a kiosk login can't be taken for a user's.
SESSION_PREFIX = "@kiosk:"
# A new PIN: 6 to 8 digits (a 4- or 5-digit PIN set before keeps working until changed).
PIN = re.compile(r"^[0-9]{6,8}$")
LOGIN_PAGE = "/kiosk/login"
# Wrong PINs in a row (a run) before the actions are refused: PIN_LOCK_SECONDS after the
# first run, twice as long after each next one, at most PIN_LOCK_MAX; a right PIN resets.
PIN_TRIES = 3
PIN_LOCK_SECONDS = 60
PIN_LOCK_MAX = 3600
MAX_DIM_MINUTES = 240
THEMES = (("dark", lazy_gettext("Dark")), ("light", lazy_gettext("Light")))


class KioskSettings(Form):
    """The kiosk display: on or off, operator actions and their PIN, dimming."""

    enabled = Switch(lazy_gettext("Kiosk display"), default=False)
    operator_actions = Switch(lazy_gettext("Operator actions"), default=False)
    pin = StringField(lazy_gettext("Operator PIN"), default="")
    theme = Choice(lazy_gettext("Theme"), choices=THEMES, default="dark")
    dim_minutes = StrictInteger(
        lazy_gettext("Dim after (minutes)"),
        default=0,
        validators=[
            Present(),
            NumberRange(
                0,
                MAX_DIM_MINUTES,
                lazy_gettext("Enter 0 (never) to %(most)d minutes.", most=MAX_DIM_MINUTES),
            ),
        ],
    )

    def validate_pin(self, field) -> None:
        """Empty (keep the stored PIN) or 6 to 8 digits."""
        if not isinstance(field.data, str):
            raise ValidationError(_("Must be text."))
        if field.data and not PIN.match(field.data):
            raise ValidationError(_("Enter 6 to 8 digits, or leave empty to keep the PIN."))


@dataclass(frozen=True)
class KioskUser(User):
    """The kiosk as flask-login sees it: role kiosk, its id apart from every user's."""

    def get_id(self) -> str:
        """The kiosk's id: the prefix no username has, and its login generation."""
        return f"{SESSION_PREFIX}{self.sessions}"


class WrongPin(DoorctlError):
    """The operator PIN was wrong (403)."""

    status = 403


class TooManyPins(WrongPin):
    """Too many wrong PINs in a row: 429 until `seconds` have passed."""

    status = 429

    def __init__(self, seconds: float):
        self.seconds = max(1, round(seconds))
        super().__init__(
            _("Too many wrong PINs: try again in %(seconds)d s.", seconds=self.seconds)
        )


def is_loopback(address: str | None) -> bool:
    """Whether the TCP peer is this machine (127.0.0.0/8, ::1, or IPv4 mapped in IPv6)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


class Kiosk:
    """The kiosk's login, its operator PIN and the throttle on wrong PINs."""

    def __init__(
        self, store: Store, settings: Settings, bus: EventBus, blocking: Blocking, users: Users
    ):
        self.store = store
        self.settings = settings
        self.bus = bus
        self.blocking = blocking
        self.users = users  # its hashing thread hashes the PIN too
        self.data_dir = store.path.parent  # where `doorctl kiosk install` keeps the token
        settings.register(SECTION, KioskSettings)
        settings.check(SECTION, self._check)
        settings.on_change(SECTION, self._changed)

    def record(self) -> dict:
        """The stored settings (the PIN field is always empty: only its hash is kept)."""
        return self.settings.get(SECTION)

    def public(self) -> dict:
        """The settings as the API shows them: whether a PIN is set, never the PIN."""
        record = {k: v for k, v in self.record().items() if k != "pin"}
        return {**record, "pin_set": self.pin_set()}

    def pin_set(self) -> bool:
        """Whether an operator PIN is stored."""
        return bool(self._row()["pin_hash"])

    def user(self, session_id: str, address: str | None) -> KioskUser | None:
        """The kiosk for a login cookie: while on, of the current generation, from loopback."""
        generation = session_id.removeprefix(SESSION_PREFIX)
        if not is_loopback(address) or not self.record()["enabled"]:
            return None
        sessions = self._row()["sessions"]
        return self._user(sessions) if str(sessions) == generation else None

    def log_in(self, address: str | None, token: object) -> KioskUser:
        """The kiosk, when asked from this machine with the install's token while on;
        else a failed login (with the address), refused."""
        local, on = is_loopback(address), self.record()["enabled"]
        if local and on and kiosk_token.matches(self.data_dir, token):
            return self._user(self._row()["sessions"])
        attempt = self.blocking.begin(address or "", LOGIN_PAGE)
        self.blocking.failed(attempt, NAME, "kiosk")
        if not on:
            raise Forbidden(_("The kiosk display is off (System > Kiosk display)."))
        if not local:
            raise Forbidden(
                _(
                    "The kiosk logs in only from the device itself, not from %(address)s.",
                    address=address,
                )
            )
        raise Forbidden(
            _(
                "The kiosk's login token is missing or no longer good: run "
                "%(command)s on the device again.",
                command="sudo doorctl kiosk install",
            )
        )

    def check_pin(self, pin: object, address: str | None) -> None:
        """Let an operator action through with the right PIN; raise WrongPin otherwise."""
        if not self.record()["operator_actions"]:
            raise Forbidden(_("Operator actions are off on the kiosk display."))
        row = self._row()
        left = row["pin_blocked_until"] - time.time()
        if left > 0:
            raise TooManyPins(left)
        stored = row["pin_hash"]
        typed = pin if isinstance(pin, str) else ""
        if stored and self.users.hashed(check_password_hash, stored, typed):
            if row["pin_wrong"] or row["pin_runs"]:
                self.store.write(_pin_right)
            return
        self._note_wrong(address)

    def _note_wrong(self, address: str | None) -> None:
        """A failed login event; PIN_TRIES wrong in a row block the actions, longer
        after each run."""
        self.bus.publish(
            FAILED_TOPIC, {"user": NAME}, {"address": address or "", "method": "kiosk PIN"}
        )
        blocked = self.store.write(_pin_wrong, time.time())
        if blocked:
            raise TooManyPins(blocked)
        raise WrongPin(_("The PIN is wrong."))

    def save(self, form: Form) -> dict:
        """Validate and store the settings; a PIN typed is stored as its hash only."""
        record = self.settings.check_form(SECTION, form)
        was_on = self.record()["enabled"]
        pin = record["pin"]
        hashed = self.users.hashed(generate_password_hash, pin) if pin else None
        # one transaction: the settings and the PIN change together or not at all
        also = (lambda tx: _set_pin(tx, hashed)) if hashed else None
        saved = self.settings.save(SECTION, form, also=also, withheld=("pin",))
        form.pin.data = ""
        if was_on and not saved["enabled"]:
            kiosk_token.revoke(self.data_dir)  # turned off: the install's token ends
        return saved

    def update(self, changes: dict) -> dict:
        """The API's change: the same rules as the page's form."""
        return self.save(self.settings.validated(SECTION, changes))

    def end_logins(self) -> None:
        """Every kiosk login ends (the kiosk logs in again from the Pi)."""
        self.store.write(_end_logins)

    def _check(self, record: dict) -> dict[str, str]:
        """Operator actions need a PIN, stored or typed now."""
        if record.get("operator_actions") and not record.get("pin") and not self.pin_set():
            return {"pin": _("Set an operator PIN: operator actions ask for it.")}
        return {}

    def _changed(self, record: dict) -> None:
        """Turned off: the kiosk's login ends."""
        if not record["enabled"]:
            self.end_logins()

    def _row(self) -> dict:
        """The PIN's hash and the login generation (none yet: a restored older backup)."""
        row = self.store.execute(
            "SELECT pin_hash, sessions, pin_wrong, pin_runs, pin_blocked_until "
            "FROM kiosk WHERE id = 1"
        ).fetchone()
        none = {"pin_wrong": 0, "pin_runs": 0, "pin_blocked_until": 0.0}
        return dict(row) if row else {"pin_hash": None, "sessions": 0, **none}

    def _user(self, sessions: int) -> KioskUser:
        return KioskUser(NAME, ROLE, sessions)


def _set_pin(tx: Transaction, hashed: str) -> None:
    tx.execute(
        "INSERT INTO kiosk (id, pin_hash) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET pin_hash = excluded.pin_hash",
        (hashed,),
    )
    audit(tx, "Settings", "update", SECTION, {"changed": ["pin"]})


def _pin_wrong(tx: Transaction, now: float) -> float:
    """One more wrong PIN; the seconds of the block it starts (0: none yet)."""
    tx.execute("INSERT OR IGNORE INTO kiosk (id) VALUES (1)")
    wrong, runs = tx.execute("SELECT pin_wrong, pin_runs FROM kiosk WHERE id = 1").fetchone()
    if wrong + 1 < PIN_TRIES:
        tx.execute("UPDATE kiosk SET pin_wrong = ? WHERE id = 1", (wrong + 1,))
        return 0
    seconds = min(PIN_LOCK_SECONDS * 2 ** min(runs, 16), PIN_LOCK_MAX)
    tx.execute(
        "UPDATE kiosk SET pin_wrong = 0, pin_runs = ?, pin_blocked_until = ? WHERE id = 1",
        (min(runs + 1, 16), now + seconds),
    )
    return seconds


def _pin_right(tx: Transaction) -> None:
    """The right PIN ends the runs of failures."""
    tx.execute("UPDATE kiosk SET pin_wrong = 0, pin_runs = 0, pin_blocked_until = 0")


def _end_logins(tx: Transaction) -> None:
    tx.execute(
        "INSERT INTO kiosk (id, sessions) VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET sessions = sessions + 1"
    )
