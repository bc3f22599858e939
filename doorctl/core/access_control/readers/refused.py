"""Commands a reader refuses: its NAKs to the controller's commands, published sparingly.

A reader may answer LED, buzzer, text or output commands with osdp_NAK: it lacks the
function, or can't carry out the command just now. The bus counts every NAK in the
reader's live fields (``naks``); here each refused command also becomes an event, at
most one per reader and command every REFUSED_EVERY seconds, so that a reader that
refuses its LED at every card does not flood the log. Cards from the reader go on
being read and decided as before.
"""

from __future__ import annotations

import time

from doorctl.hal.osdp import messages as m

from .topics import COMMAND_REFUSED

REFUSED_EVERY = 60.0
# Link and secure channel commands have their own events; a refused file is an upgrade's.
NOT_REPORTED = frozenset({m.POLL, m.ID, m.CAP, m.CHLNG, m.SCRYPT, m.KEYSET, m.FILETRANSFER})


class RefusedCommands:
    """Readers' NAKs to commands, as rate-limited CommandRefused events."""

    def _refused(self, reader_id: str, data: dict) -> None:
        """Publish a refused command unless this reader's last event for it is recent."""
        if data.get("command") in NOT_REPORTED:
            return
        refusals = self._status.setdefault(reader_id, {}).setdefault("refused", {})
        name = data.get("name") or m.command_name(data.get("command", 0))
        last = refusals.setdefault(name, {"at": None, "times": 0})
        last["times"] += 1
        now = time.monotonic()
        if last["at"] is not None and now - last["at"] < REFUSED_EVERY:
            return
        event = {"command": name, "code": data.get("code"), "error": data.get("error")}
        self._publish(COMMAND_REFUSED, reader_id, {**event, "times": last["times"]})
        last.update(at=now, times=0)
