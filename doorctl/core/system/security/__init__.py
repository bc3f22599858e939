"""System > Security (manual): prevent brute-force attacks, the IP address filter, and
the connected clients (System > Network in the manual).

One settings section serves both; `Security` holds what they need at run time and is
the one way to check a password from the web (the login form, HTTP Basic, the current
password asked before a change of password, and any later way), so that every way is
counted toward blocking.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form
from wtforms.validators import NumberRange, ValidationError

from doorctl.core.errors import Invalid
from doorctl.core.events import EventBus
from doorctl.core.fields import Choice, ListField, Present, StrictInteger, Switch
from doorctl.core.system.network.clients import ConnectedClients
from doorctl.core.system.security import ip_filter
from doorctl.core.system.security.blocking import Blocked, Blocking
from doorctl.core.system.users import User, Users

SECTION = "security"
POLICIES = (("allow", lazy_gettext("Allow")), ("deny", lazy_gettext("Deny")))
HOLD_SECONDS = 1.0
__all__ = ["SECTION", "Blocked", "Security", "SecuritySettings"]


def _count(label: str, default: int, high: int) -> StrictInteger:
    message = lazy_gettext("Enter 1 to %(most)d.", most=high)
    return StrictInteger(
        label, default=default, validators=[Present(), NumberRange(1, high, message)]
    )


class SecuritySettings(Form):
    """Prevent brute-force attacks and the IP address filter."""

    blocking = Switch(lazy_gettext("Blocking"), default=True)
    blocking_period = _count(lazy_gettext("Blocking period (s)"), 30, 86400)
    page_failures = _count(lazy_gettext("Failures allowed per second, page level"), 3, 1000)
    device_failures = _count(lazy_gettext("Failures allowed per second, device level"), 10, 1000)
    use_filter = Switch(lazy_gettext("Use filter"), default=False)
    policy = Choice(lazy_gettext("Policy"), choices=POLICIES, default="allow")
    addresses = ListField(lazy_gettext("Addresses"))

    def validate_addresses(self, field) -> None:
        """Each entry an address or a CIDR range; at most MAX_ENTRIES of them."""
        if len(field.data) > ip_filter.MAX_ENTRIES:
            raise ValidationError(
                _("Enter at most %(most)d addresses.", most=ip_filter.MAX_ENTRIES)
            )
        for entry in field.data:
            problem = ip_filter.entry_error(entry)
            if problem:
                raise ValidationError(problem)


class Security:
    """The brute-force blocking and the IP address filter in force."""

    def __init__(self, bus: EventBus, users: Users, settings: dict):
        self.users = users
        self.blocking = Blocking(bus, settings)
        self.clients = ConnectedClients()
        self.apply(settings)

    def apply(self, settings: dict) -> None:
        """Take new settings: the filter's ranges and the blocking limits."""
        self.settings = settings
        self._ranges = ip_filter.networks(settings["addresses"])
        self.blocking.apply(settings)

    def admits(self, address: str | None) -> bool:
        """Whether the IP address filter lets this client in."""
        settings = self.settings
        return ip_filter.admits(settings["use_filter"], settings["policy"], self._ranges, address)

    def hold(self, environ: dict) -> float:
        """How long the server holds a request from a blocked address before answering,
        so that a flood of attempts costs the device a sleeping greenlet, not requests."""
        return HOLD_SECONDS if self.blocking.retry_after(environ.get("REMOTE_ADDR", "")) else 0.0

    def authenticate(self, username: str, password: str, address: str, page: str, method: str):
        """The user when the password is right; raise Blocked (and hash nothing) when the
        address is blocked or this attempt starts a block."""
        if self.users.remembered(username, password):
            seconds = self.blocking.retry_after(address)
            if seconds:
                raise Blocked(seconds)
            return self.users.authenticate(username, password)
        attempt = self.blocking.begin(address, page)
        user: User | None = self.users.authenticate(username, password)
        if user is None:
            known = any(u.username == username for u in self.users.list())
            # what was typed may be a password in the wrong field: name only real users
            self.blocking.failed(attempt, username if known else None, method)
        else:
            self.blocking.succeeded(attempt)
        return user

    def change_own_password(
        self, username: str, old: object, password: object, address: str, page: str
    ) -> User:
        """A user's new password, given the current one. The current one is checked as a
        login is, so guessing it through this form counts toward a block like any login."""
        old = old if isinstance(old, str) else ""
        if self.authenticate(username, old, address, page, "password change") is None:
            raise Invalid({"old_password": _("The current password is wrong.")})
        return self.users.update(username, password=password)

    def start(self) -> None:
        """Nothing runs on its own: blocks end on their own timers."""

    def stop(self) -> None:
        """Nothing to stop."""

    def status(self) -> dict:
        """The addresses blocked now."""
        return self.blocking.status()
