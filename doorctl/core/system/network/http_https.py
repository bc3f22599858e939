"""HTTP and HTTPS (System > Network): protocols, ports and certificate, changed safely.

A change of any of them applies at once and is kept only when it is confirmed from
the new address within the confirmation time (60 s); otherwise the settings in force
before come back by themselves, so a wrong port or a certificate the browser refuses
can't lock the administrator out. Only a confirmed change is stored.

The core knows nothing of web servers: whoever serves (the command line's listener
manager) registers with `on_change` and opens the listeners a record asks for, or
raises Invalid naming the port it could not open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import gevent
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form, StringField
from wtforms.validators import Length, NumberRange, ValidationError

from doorctl.core.errors import Conflict, Invalid
from doorctl.core.events import EventBus
from doorctl.core.fields import Choice, Present, StrictInteger
from doorctl.core.settings import Settings
from doorctl.core.system.network.https import DEVICE_CERTIFICATE, Https

log = logging.getLogger(__name__)
# The section keeps the name it had when it held only the certificate, so a stored
# choice of certificate carries over.
SECTION = "https"
PROTOCOLS = (("both", lazy_gettext("HTTP and HTTPS")), ("http", "HTTP"), ("https", "HTTPS"))
CONFIRM_SECONDS = 60.0
# How the page confirms a port in 1-1023 (the API says how it does, in its place).
CONFIRM_WARNING = lazy_gettext("confirm the warning to use it")
STANDARD_PORTS = {"http_port": 80, "https_port": 443}
PRIVILEGED = range(1, 1024)
REVERTED_TOPIC = "tns1:Device/Network/HttpHttps/Reverted"
CONFIRMED_TOPIC = "tns1:Device/Network/HttpHttps/Confirmed"


def _port(label: str, default: int) -> StrictInteger:
    message = lazy_gettext(
        "Enter %(default)d or a port from 1024 to 65535 (1 to 1023 after a warning).",
        default=default,
    )
    return StrictInteger(
        label, default=default, validators=[Present(), NumberRange(1, 65535, message)]
    )


class HttpHttpsSettings(Form):
    """HTTP and HTTPS: allow access through HTTP, HTTPS or both; ports; certificate."""

    protocols = Choice(lazy_gettext("Allow access through"), choices=PROTOCOLS, default="both")
    http_port = _port(lazy_gettext("HTTP port"), 80)
    https_port = _port(lazy_gettext("HTTPS port"), 443)
    certificate = StringField(
        lazy_gettext("Certificate"), default=DEVICE_CERTIFICATE, validators=[Length(1, 64)]
    )

    def validate_https_port(self, field) -> None:
        """HTTP and HTTPS can't share a port."""
        if field.data is not None and field.data == self.http_port.data:
            raise ValidationError(_("The HTTPS port must differ from the HTTP port."))


def serves(record: dict, scheme: str, port: int) -> bool:
    """Whether the settings `record` serve the pages over `scheme` on `port`."""
    allowed = record["protocols"] in ("both", scheme)
    return allowed and record.get(f"{scheme}_port") == port


def privileged_errors(record: dict, current: dict) -> dict[str, str]:
    """A message for each new port in 1-1023 other than the standard one."""
    errors = {}
    for name, standard in STANDARD_PORTS.items():
        port = record[name]
        if port in PRIVILEGED and port not in (standard, current.get(name)):
            errors[name] = _(
                "Port %(port)d is in the range 1-1023 that system services use: %(how)s.",
                port=port,
                how=CONFIRM_WARNING,
            )
    return errors


@dataclass
class Pending:
    """A change in force that waits for its confirmation; `old` comes back without it."""

    old: dict
    new: dict
    deadline: float
    timer: gevent.Greenlet | None = None

    def to_dict(self, now: float) -> dict:
        """The change as the API shows it."""
        return {"settings": self.new, "deadline": self.deadline, "seconds": self.left(now)}

    def left(self, now: float) -> int:
        """Whole seconds left to confirm."""
        return max(0, round(self.deadline - now))


class HttpHttps:
    """The HTTP and HTTPS settings in force, and the change that waits for a confirmation."""

    def __init__(
        self,
        settings: Settings,
        https: Https,
        bus: EventBus,
        confirm_seconds: float = CONFIRM_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.https = https
        self.bus = bus
        self.confirm_seconds = confirm_seconds
        self.clock = clock
        self.pending: Pending | None = None
        self._first_ports: dict[str, int] = {}
        self._listeners: list[Callable[[dict], None]] = []
        settings.register(SECTION, HttpHttpsSettings)
        settings.check(SECTION, self._check)
        self.in_force = settings.get(SECTION)
        https.certificate_id = self.in_force["certificate"]

    def on_change(self, serve: Callable[[dict], None]) -> None:
        """Call `serve(record)` to open the listeners a record asks for; it raises
        Invalid (naming the port) when one can't be opened, and the old ones stay."""
        self._listeners.append(serve)

    def first_start(self, http_port: int, https_port: int) -> dict:
        """The settings to serve at start: the stored ones, else the command line's ports."""
        self._first_ports = {"http_port": http_port, "https_port": https_port}
        self.settings.set_defaults(SECTION, self._first_ports)
        self.in_force = self.settings.get(SECTION)
        return self.in_force

    def serving(self, record: dict, first_start: dict | None = None) -> None:
        """The listeners serve `record` (the ports they bound, when asked for any free
        one, become the first-start ports)."""
        if first_start:
            self._first_ports.update(first_start)
            self.settings.set_defaults(SECTION, self._first_ports)
        self.in_force = record

    def _check(self, record: dict) -> dict[str, str]:
        """The certificate must be in the store, with its private key."""
        cert_id = record["certificate"]
        store = self.https.certificates
        if not store.exists(cert_id):
            return {"certificate": _("There is no certificate %(id)s in the store.", id=cert_id)}
        if not store.get(cert_id)["private_key"]:
            return {"certificate": _("Choose a client/server certificate: a CA one has no key.")}
        return {}

    def validated(self, changes: dict, privileged: bool = False) -> dict:
        """The record `changes` make of the settings in force; raise Invalid."""
        form = self.settings.validated(SECTION, changes, over=self.in_force)
        return self.check(form, privileged)

    def check(self, form: Form, privileged: bool = False) -> dict:
        """A filled form's record, a port in 1-1023 only when `privileged`; raise Invalid."""
        record = self.settings.check_form(SECTION, form)
        problems = {} if privileged else privileged_errors(record, self.in_force)
        if problems:
            for name, message in problems.items():
                form[name].errors = [message]
            raise Invalid(problems)
        return record

    def change(self, record: dict) -> Pending | None:
        """Serve a validated record at once; the change waits for its confirmation.
        None when nothing changed. Raise Invalid when a port can't be opened."""
        if record == self.in_force:
            return None
        self._serve(record)
        old = self.pending.old if self.pending else self.in_force
        self._cancel()
        self.in_force = record
        if record == old:
            return None  # back to what was confirmed: nothing to confirm
        self.pending = Pending(old, record, self.clock() + self.confirm_seconds)
        self.pending.timer = gevent.spawn_later(self.confirm_seconds, self._revert)
        return self.pending

    def confirm(self, scheme: str, port: int) -> dict:
        """Keep the change, confirmed over `scheme` on `port`; raise Conflict when no
        change waits or the confirmation did not come through the new settings."""
        pending = self.pending
        if pending is None:
            raise Conflict(_("No change of HTTP and HTTPS waits for a confirmation."))
        if not serves(pending.new, scheme, port):
            raise Conflict(_("Confirm from the new address, so that it is known to work."))
        self.settings.save(SECTION, HttpHttpsSettings(data=pending.new))
        self._cancel()
        self.bus.publish(CONFIRMED_TOPIC, {}, {"settings": _summary(pending.new)})
        return pending.new

    def _revert(self) -> None:
        """No confirmation in time: serve the settings in force before the change."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        try:
            self._serve(pending.old)
        except Invalid as error:
            log.error("the HTTP and HTTPS settings could not come back: %s", error.message)
            return
        self.in_force = pending.old
        reason = f"not confirmed within {self.confirm_seconds:g} s"
        data = {"reason": reason, "settings": _summary(pending.old)}
        self.bus.publish(REVERTED_TOPIC, {}, data)
        log.warning("HTTP and HTTPS settings back to %s: %s", _summary(pending.old), reason)

    def _serve(self, record: dict) -> None:
        """Open the record's listeners, then serve its certificate."""
        for serve in self._listeners:
            serve(record)
        if record["certificate"] != self.https.certificate_id:
            self.https.serve_certificate(record["certificate"])

    def _cancel(self) -> None:
        if self.pending is not None and self.pending.timer is not None:
            self.pending.timer.kill(block=False)
        self.pending = None

    def status(self) -> dict:
        """The settings in force, and the change waiting for its confirmation if any."""
        pending = self.pending
        return {
            "settings": self.in_force,
            "pending": pending.to_dict(self.clock()) if pending else None,
        }

    def start(self) -> None:
        """Nothing runs until a change waits for its confirmation."""

    def stop(self) -> None:
        """A change still waiting is dropped: the stored settings apply at the next start."""
        self._cancel()


def _summary(record: dict) -> str:
    """The settings in a few words, for an event or the log."""
    parts = {"both": "HTTP and HTTPS", "http": "HTTP only", "https": "HTTPS only"}
    return (
        f"{parts[record['protocols']]}, HTTP port {record['http_port']}, "
        f"HTTPS port {record['https_port']}, certificate {record['certificate']}"
    )
