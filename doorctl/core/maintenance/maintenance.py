"""Maintenance > Maintenance (manual: Maintenance): restart, restore, factory default.

Each is asked for here, recorded as an event, and carried out by `doorctl serve`
once it has stopped: the listeners close, the engine puts every output to its normal
state ("During restart the output circuit is open"), the event log writes what it
holds, then restore or factory default changes the data directory (reset.py) while
nothing has it open, and doorctl starts again (restart.py). An appliance that was
not started by `doorctl serve` (a test's app) can't restart and says so.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import gevent
from flask_babel import gettext as _

from doorctl.core.errors import Conflict, Invalid
from doorctl.core.events import EventBus
from doorctl.core.maintenance import firmware as fw
from doorctl.core.maintenance import reset, restart
from doorctl.core.maintenance.upgrade import on_trial_message

log = logging.getLogger(__name__)

RESTART = "tns1:Device/Maintenance/Restart"
RESTORE = "tns1:Device/Maintenance/Restore"
FACTORY_DEFAULT = "tns1:Device/Maintenance/FactoryDefault"
CONFIRMATION = "default"
"""What the user types to confirm a factory default (the manual's button says Default)."""


class Maintenance:
    """Asks `doorctl serve` to stop and start again, restoring or resetting between."""

    def __init__(self, data_dir: Path, bus: EventBus):
        self.data_dir = data_dir
        self.bus = bus
        self.pending: dict | None = None
        self.reboot_command = restart.REBOOT_COMMAND
        self.reboot_available = restart.systemd_runs()
        self._stop: Callable[[], None] | None = None
        self.start_token = secrets.token_hex(8)

    def serve_with(self, stop: Callable[[], None]) -> None:
        """`doorctl serve` tells how to stop it; only then can doorctl restart."""
        self._stop = stop

    def start(self) -> None:
        """After a factory default, begin the new log with when and how it was asked."""
        note = reset.take_done_note(self.data_dir)
        if note is not None:
            source = {"user": note["user"]} if note.get("user") else {}
            data = {"state": "done", "how": note.get("how"), "requested": note.get("time")}
            self.bus.publish(FACTORY_DEFAULT, source, data)

    def stop(self) -> None:
        """Nothing runs between requests."""

    def apply(self, settings: dict) -> None:
        """No settings of its own (the reboot command is the command line's)."""

    def status(self) -> dict:
        """Whether doorctl can restart, and the whole device, and what is under way."""
        return {
            "can_restart": self._stop is not None,
            "device_restart": self.reboot_available,
            "pending": self.pending["action"] if self.pending else None,
        }

    def restart(self, user: str, device: bool = False) -> None:
        """Restart doorctl, or with `device` the whole device (where systemd runs)."""
        if device and not self.reboot_available:
            message = _("Only doorctl can restart here: the device's restart needs systemd.")
            raise Invalid({"device": message})
        self._ask("restart", user, RESTART, {"device": device})

    def restore(self, user: str) -> None:
        """Settings back to factory values, the network's kept, then restart."""
        self._ask("restore", user, RESTORE, {"kept": list(reset.NETWORK_SECTIONS)})

    def factory_default(self, user: str | None, confirmation) -> None:
        """Everything back to new once the user typed the confirmation word."""
        if not isinstance(confirmation, str) or confirmation.strip().lower() != CONFIRMATION:
            message = _("Type “%(word)s” to confirm the factory default.", word=CONFIRMATION)
            raise Invalid({"confirmation": message})
        self._ask("factory_default", user, FACTORY_DEFAULT, {"state": "requested"})

    def _ask(self, action: str, user: str | None, topic: str, data: dict) -> None:
        """Record the event, then stop serving (the answer goes out first)."""
        self._can_restart()
        if fw.state_of(fw.configured_dir(self.data_dir))["trial"]:
            raise Conflict(on_trial_message())
        self.bus.publish(topic, {"user": user} if user else {}, data)
        self._stop_for({"action": action, "user": user, "device": data.get("device", False)})

    def restart_after(self, action: str) -> None:
        """Stop serving and start again after `action` (a firmware switch or rollback),
        which records its own events."""
        self._stop_for({"action": action, "user": None, "device": False})

    def _can_restart(self) -> None:
        """Refuse when no `doorctl serve` can stop, or a restart is already under way."""
        if self._stop is None:
            raise Conflict(_("This doorctl was not started by doorctl serve: it can't restart."))
        if self.pending is not None:
            raise Conflict(_("doorctl is restarting already."))

    def _stop_for(self, pending: dict) -> None:
        self._can_restart()
        self.pending = pending
        gevent.spawn(self._stop)

    def carry_out(self, ports: dict[str, int]) -> int:
        """After the stop: restore or reset, restart the device if asked, then start
        doorctl again on the same `ports`; the exit code for a supervisor."""
        action = self.pending["action"]
        if action == "restore":
            reset.restore(self.data_dir)
        elif action == "factory_default":
            by = self.pending["user"]
            reset.factory_default(self.data_dir, reset.requested_by(by, "web" if by else "button"))
        restart.remember_ports(self.data_dir, ports)
        if self.pending["device"]:
            restart.reboot(self.reboot_command)
        log.warning("doorctl starts again (%s)", action)
        return restart.start_again()
