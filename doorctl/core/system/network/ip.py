"""IP settings in force (System > Network): changed with a rollback, kept when confirmed.

A change applies at once through NetworkManager under a checkpoint; it is stored only
when confirmed (from the new address) within the confirmation time. Without the
confirmation doorctl rolls the checkpoint back; NetworkManager rolls it back by itself
a little later should doorctl not run then. Where NetworkManager does not run, the
page shows the addresses in use (from the kernel) and changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent
from flask_babel import gettext as _

from doorctl.core.errors import Conflict, DoorctlError
from doorctl.core.events import EventBus
from doorctl.core.settings import Settings
from doorctl.core.system.network.http_https import Pending
from doorctl.core.system.network.ip_form import SECTION, IpSettings, profile
from doorctl.core.system.network.nm import NetworkManager, kernel_addresses

log = logging.getLogger(__name__)
CONFIRM_SECONDS = 60.0
# NetworkManager's own rollback comes this much after doorctl's, as a safety net.
ENGINE_MARGIN = 30
REVERTED_TOPIC = "tns1:Device/Network/IpSettings/Reverted"
CONFIRMED_TOPIC = "tns1:Device/Network/IpSettings/Confirmed"


class IpNetwork:
    """The IP settings in force, and the change that waits for its confirmation."""

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        engine: NetworkManager | None = None,
        confirm_seconds: float = CONFIRM_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.bus = bus
        self.engine = engine or NetworkManager()
        self.confirm_seconds = confirm_seconds
        self.clock = clock
        self.pending: Pending | None = None
        self.checkpoint = ""
        settings.register(SECTION, IpSettings)
        self.in_force = settings.get(SECTION)

    def not_running(self) -> str | None:
        """Why the settings can't be changed here, or None."""
        return self.engine.not_running()

    def validated(self, changes: dict) -> dict:
        """The record `changes` make of the settings in force; raise Invalid."""
        form = self.settings.validated(SECTION, changes, over=self.in_force)
        return form.data

    def check(self, form: IpSettings) -> dict:
        """A posted form's record; raise Invalid (the fields hold their messages)."""
        return self.settings.check_form(SECTION, form, self.in_force)

    def change(self, record: dict) -> Pending | None:
        """Apply a validated record under a checkpoint; it waits for its confirmation.
        None when nothing changed; Conflict where NetworkManager does not run."""
        if record == self.in_force:
            return None
        why = self.not_running()
        if why:
            raise Conflict(why)
        old = self.pending.old if self.pending else self.in_force
        self._checkpoint()
        try:
            self.engine.apply(profile(record), _hostname(record, self.in_force))
        except DoorctlError:
            self._roll_back(old)
            raise
        self.in_force = record
        self.pending = Pending(old, record, self.clock() + self.confirm_seconds)
        self.pending.timer = gevent.spawn_later(self.confirm_seconds, self._revert)
        return self.pending

    def _checkpoint(self) -> None:
        """A checkpoint to come back to; a change before the last is confirmed keeps
        the last's checkpoint (it holds the settings confirmed before), given more time."""
        seconds = self.confirm_seconds + ENGINE_MARGIN
        if self.pending is not None:
            self._cancel_timer()
            self.engine.extend(self.checkpoint, seconds)
        else:
            self.checkpoint = self.engine.checkpoint(seconds)

    def confirm(self, host: str) -> dict:
        """Keep the change, confirmed through `host`; Conflict when none waits or the
        confirmation came to the old static address."""
        pending = self.pending
        if pending is None:
            raise Conflict(_("No change of the IP settings waits for a confirmation."))
        old_address = pending.old["ip_address"] if not pending.old["ipv4_automatic"] else ""
        moved = old_address != pending.new["ip_address"]
        if moved and host == old_address:
            raise Conflict(_("Confirm from the new address, so that it is known to work."))
        self.engine.keep(self.checkpoint)
        self.settings.save(SECTION, IpSettings(data=pending.new))
        self._cancel_timer()
        self.pending = None
        self.bus.publish(CONFIRMED_TOPIC, {}, {"settings": summary(pending.new)})
        return pending.new

    def _revert(self) -> None:
        """No confirmation in time: the previous settings come back."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        self._roll_back(pending.old)
        reason = f"not confirmed within {self.confirm_seconds:g} s"
        data = {"reason": reason, "settings": summary(pending.old)}
        self.bus.publish(REVERTED_TOPIC, {}, data)
        log.warning("IP settings back to %s: %s", summary(pending.old), reason)

    def _roll_back(self, old: dict) -> None:
        self._cancel_timer()
        self.pending = None
        try:
            self.engine.rollback(self.checkpoint)
            self.engine.set_hostname(_hostname(old, self.in_force))
        except DoorctlError as error:
            log.error("the IP settings could not come back: %s", error.message)
        self.in_force = old

    def _cancel_timer(self) -> None:
        if self.pending is not None and self.pending.timer is not None:
            self.pending.timer.kill(block=False)

    def status(self) -> dict:
        """Settings in force, the change waiting if any, and the addresses in use."""
        pending = self.pending
        return {
            "settings": self.in_force,
            "pending": pending.to_dict(self.clock()) if pending else None,
            "read_only": self.not_running(),
            "current": kernel_addresses(),
        }

    def start(self) -> None:
        """Until the settings are first saved, the page shows NetworkManager's own."""
        if self.not_running():
            return
        try:
            self.settings.set_defaults(SECTION, self.engine.read())
        except DoorctlError as error:
            log.warning("the IP settings of NetworkManager could not be read: %s", error.message)
            return
        self.in_force = self.settings.get(SECTION)

    def stop(self) -> None:
        """A change still waiting is rolled back by NetworkManager's own timeout."""
        self._cancel_timer()
        self.pending = None


def _hostname(record: dict, before: dict) -> str | None:
    """The system hostname a record asks for ('' for automatic), None if unchanged."""
    wanted = "" if record["hostname_automatic"] else record["hostname"]
    was = "" if before["hostname_automatic"] else before["hostname"]
    return None if wanted == was else wanted


def summary(record: dict) -> str:
    """The settings in a few words, for an event or the log."""
    if record["ipv4_automatic"]:
        ipv4 = "IPv4 by DHCP"
    else:
        ipv4 = f"IPv4 {record['ip_address']}/{record['subnet_mask']}"
        ipv4 += f" via {record['router']}" if record["router"] else ""
    ipv6 = "IPv6 automatic" if record["ipv6_automatic"] else "IPv6 off"
    name = "hostname automatic" if record["hostname_automatic"] else record["hostname"]
    dns = "DNS automatic" if record["dns_automatic"] else "DNS " + ", ".join(record["dns_servers"])
    return f"{ipv4}, {ipv6}, {name}, {dns}"
