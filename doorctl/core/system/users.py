"""Users (manual: "Users"): up to 100 accounts, root among them, each with a role.

Passwords are kept only as salted scrypt hashes (Werkzeug's). Hashing is slow on
purpose (about 100 ms of CPU and 32 MiB), so it runs on one thread of its own: a
login never stalls reader polling, and a burst of logins can take at most one core.
REST clients send HTTP Basic with every call, so a verified name and password is
remembered for a minute (as an HMAC with a per-process key, never in clear) rather
than hashed again each time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from gevent.threadpool import ThreadPool
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import Form

from doorctl.core.errors import Conflict, Forbidden, Invalid, NotFound
from doorctl.core.events import EventBus
from doorctl.core.fields import seconds
from doorctl.core.store import Store, Transaction
from doorctl.core.waiting import off_hub

ROOT = "root"
MAX_USERS = 100
ROLES = ("viewer", "operator", "administrator")
# Below every user's role: the kiosk display's (core/system/kiosk.py), for its page only.
LEVELS = ("kiosk", *ROLES)
USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
USERNAME_RULE = lazy_gettext("1 to 32 characters: letters A-Z and a-z, digits 0-9, and . _ -")
PASSWORD_RULE = lazy_gettext("1 to 64 printable ASCII characters (codes 32 to 126)")
PASSWORD_MAX = 64
VERIFIED_SECONDS = 60
SECTION = "sessions"
USER_COLUMNS = "username, role, sessions, language"
# The languages of the web interface, by code (blueprints/language.py names them).
LANGUAGES = ("en", "de", "sv")


class SessionSettings(Form):
    """How long a logged-in browser may stay idle before its session ends."""

    idle_timeout = seconds(lazy_gettext("Idle timeout"), 1800, 60, 86400)


@dataclass(frozen=True)
class User:
    """A user as the web layer sees it; flask-login needs get_id and is_authenticated."""

    username: str
    role: str
    sessions: int = 0  # the generation of this user's sessions (see end_sessions)
    language: str | None = None  # None: the browser's preferred language

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        """The id flask-login keeps in the session cookie: name and session generation."""
        return f"{self.username}:{self.sessions}"

    def has_role(self, role: str) -> bool:
        """True when this user's role is `role` or a higher one."""
        return LEVELS.index(self.role) >= LEVELS.index(role)

    def to_dict(self) -> dict:
        """The user as the REST API shows it (never the password)."""
        return {"username": self.username, "role": self.role, "language": self.language}


def password_error(password: object) -> str | None:
    """Why a password is not allowed, or None when it is."""

    def too_long(length: int) -> str | None:
        if length <= PASSWORD_MAX:
            return None
        return _(
            "The password is %(length)d characters long; at most %(most)d.",
            length=length,
            most=PASSWORD_MAX,
        )

    return printable_password_error(password, PASSWORD_RULE, too_long)


def printable_password_error(
    password: object, rule: str, length_error: Callable[[int], str | None]
) -> str | None:
    """Why a password of printable ASCII (a user's, a backup's) is not allowed: none
    given, `length_error(length)`, or a character outside codes 32 to 126; `rule`
    says what is allowed."""
    if not isinstance(password, str) or not password:
        return _("Enter a password: %(rule)s.", rule=rule)
    wrong_length = length_error(len(password))
    if wrong_length:
        return wrong_length
    if any(not 32 <= ord(c) <= 126 for c in password):
        return _("The password has a character that is not allowed: %(rule)s.", rule=rule)
    return None


def username_error(username: object) -> str | None:
    """Why a username is not allowed, or None when it is."""
    if not isinstance(username, str) or not USERNAME.match(username):
        return _("Usernames are %(rule)s.", rule=USERNAME_RULE)
    return None


def role_error(role: object) -> str | None:
    """Why a role is not one of the three, or None."""
    if role not in ROLES:
        return _("Choose administrator, operator or viewer.")
    return None


def language_error(language: object) -> str | None:
    """Why a language is not one the interface has, or None (None and "": the browser's)."""
    if language not in (None, "", *LANGUAGES):
        return _(
            "Choose one of: %(languages)s, or empty to follow the browser.",
            languages=", ".join(LANGUAGES),
        )
    return None


class Users:
    """The user accounts of the device."""

    def __init__(self, store: Store, bus: EventBus):
        self.store = store
        self.bus = bus
        self._pool: ThreadPool | None = None
        self._verified: dict[bytes, float] = {}
        self._verified_key = secrets.token_bytes(32)
        self._dummy_hash = generate_password_hash("not a password")

    def apply(self, sessions: dict) -> None:
        """Keep the sessions' idle timeout at hand: every request with a cookie asks."""
        self.idle_timeout = sessions["idle_timeout"]

    def count(self) -> int:
        """How many users exist; 0 means the root password is not set yet."""
        return self.store.execute("SELECT count(*) FROM users").fetchone()[0]

    def list(self) -> list[User]:
        """All users, root first, then by name."""
        rows = self.store.execute(
            f"SELECT {USER_COLUMNS} FROM users ORDER BY username != ?, username", (ROOT,)
        )
        return [User(*r) for r in rows]

    def get(self, username: str) -> User:
        """One user; raise NotFound."""
        row = self.store.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE username = ?", (username,)
        ).fetchone()
        if row is None:
            raise NotFound(_("There is no user named %(name)s.", name=repr(username)))
        return User(*row)

    def of_session(self, session_id: str) -> User | None:
        """The user a session cookie names, while its generation is the current one."""
        username, _, generation = session_id.partition(":")
        try:
            user = self.get(username)
        except NotFound:
            return None
        return user if str(user.sessions) == generation else None

    def end_sessions(self, username: str) -> User:
        """Logout: every session of the user ends, copies of the cookie included."""
        self.store.write(_end_sessions, username)
        return self.get(username)

    def set_root_password(self, password: str) -> User:
        """First access: create root as administrator; refused once any user exists."""
        _check({"password": password_error(password)})
        if self.count():
            raise Conflict(_("The root password is already set. Log in to change it."))
        return self._insert(ROOT, password, "administrator")

    def create(self, username: str, password: str, role: str, language: str | None = None):
        """Add a user; raise Invalid for bad fields, Conflict for a duplicate or the limit."""
        _check(
            {
                "username": username_error(username),
                "password": password_error(password),
                "role": role_error(role),
                "language": language_error(language),
            }
        )
        _check_room(self.store.conn, username)
        return self._insert(username, password, role, language or None)

    def update(
        self,
        username: str,
        password: str | None = None,
        role: str | None = None,
        language: str | None = None,
    ):
        """Change a user's password, role and/or language (None: unchanged; a language
        of "": follow the browser); root keeps the administrator role."""
        user = self.get(username)
        _check(
            {
                "password": password_error(password) if password is not None else None,
                "role": role_error(role) if role is not None else None,
                "language": language_error(language),
            }
        )
        if username == ROOT and role not in (None, "administrator"):
            message = _("root is always an administrator.")
            raise Forbidden(message, {"role": _("root cannot be demoted.")})
        hashed = None if password is None else self.hashed(generate_password_hash, password)
        given = (("password", password), ("role", role), ("language", language))
        changed = [name for name, value in given if value is not None]
        ends_sessions = hashed is not None or (role or user.role) != user.role
        kept = user.language if language is None else (language or None)
        change = _Change(hashed, role or user.role, kept, changed, ends_sessions)
        self.store.write(_update, username, change)
        self._verified.clear()
        return self.get(user.username)

    def forget_logins(self) -> None:
        """Forget the passwords verified within the minute (the users were replaced)."""
        self._verified.clear()

    def delete(self, username: str) -> None:
        """Remove a user; root cannot be removed."""
        self.get(username)
        if username == ROOT:
            raise Forbidden(_("You can't delete the root user."))
        self.store.write(_delete, username)
        self._verified.clear()

    def remembered(self, username: str, password: str) -> bool:
        """True when this name and password were verified within the minute (no hash)."""
        return self._verified.get(self._token(username, password), 0) > time.monotonic()

    def _token(self, username: str, password: str) -> bytes:
        message = f"{username}\0{password}".encode()
        return hmac.new(self._verified_key, message, hashlib.sha256).digest()

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is right; the same work is done for unknown names."""
        if self.remembered(username, password):
            return self.get(username)
        user = self._check_password(username, password)
        if user is not None:
            self._verified[self._token(username, password)] = time.monotonic() + VERIFIED_SECONDS
        return user

    def _check_password(self, username: str, password: str) -> User | None:
        row = self.store.execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
        stored = row["password_hash"] if row else self._dummy_hash
        ok = self.hashed(check_password_hash, stored, password or "")
        return self.get(username) if ok and row else None

    def hashed(self, function, *args):
        """`function(*args)`, a slow hash, on the one hashing thread (users' passwords and
        the kiosk's PIN): greenlets keep running meanwhile, and hashes wait in turn."""
        if self._pool is None:
            self._pool = ThreadPool(1)
        with off_hub():  # the hash is a request's longest wait: no place held meanwhile
            return self._pool.apply(function, args)

    def _insert(self, username: str, password: str, role: str, language=None) -> User:
        """Hash off the hub, then check the rules again and insert in one transaction."""
        hashed = self.hashed(generate_password_hash, password)
        self.store.write(_insert, username, hashed, role, language)
        return User(username, role, language=language)


# --- writes: each runs in one transaction with its event (Store.write) -----------------


def _check_room(conn, username: str) -> None:
    """Refuse a user beyond the limit, a duplicate name, or root added twice."""
    count = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    if username == ROOT and count:
        raise Conflict(_("The root password is already set. Log in to change it."))
    if count >= MAX_USERS:
        raise Conflict(_("You can add up to %(most)d users, root included.", most=MAX_USERS))
    if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        message = _("A user named %(name)s exists already.", name=repr(username))
        raise Conflict(message, {"username": message})


def _insert(tx: Transaction, username: str, hashed: str, role: str, language) -> None:
    _check_room(tx, username)
    tx.execute(
        "INSERT INTO users (username, password_hash, role, language, created)"
        " VALUES (?, ?, ?, ?, ?)",
        (username, hashed, role, language, time.time()),
    )
    _event(tx, "Added", username, {"role": role})


@dataclass(frozen=True)
class _Change:
    """What an update writes: the new hash (None: kept), role and language."""

    hashed: str | None
    role: str
    language: str | None
    changed: list
    ends_sessions: bool


def _update(tx: Transaction, username: str, change: _Change) -> None:
    cursor = tx.execute(
        "UPDATE users SET password_hash = coalesce(?, password_hash), role = ?,"
        " language = ?, sessions = sessions + ? WHERE username = ?",
        (change.hashed, change.role, change.language, int(change.ends_sessions), username),
    )
    if not cursor.rowcount:
        raise NotFound(_("There is no user named %(name)s.", name=repr(username)))
    _event(tx, "Updated", username, {"changed": change.changed, "role": change.role})


def _end_sessions(tx: Transaction, username: str) -> None:
    tx.execute("UPDATE users SET sessions = sessions + 1 WHERE username = ?", (username,))
    _event(tx, "Logout", username, {})


def _delete(tx: Transaction, username: str) -> None:
    if not tx.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount:
        raise NotFound(_("There is no user named %(name)s.", name=repr(username)))
    _event(tx, "Deleted", username, {})


def _event(tx: Transaction, change: str, username: str, data: dict) -> None:
    """An event for the audit trail: who was added, changed or removed."""
    tx.event(f"tns1:Device/User/{change}", {"user": username}, data)


def _check(problems: dict[str, str | None]) -> None:
    """Raise Invalid with every field that has a problem."""
    fields = {name: message for name, message in problems.items() if message}
    if fields:
        raise Invalid(fields)
