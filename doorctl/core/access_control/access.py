"""Access control: readers present cards and keys; decisions open doors and are events.

Each reader has a PIN entry: digits collect until '#', '*' clears them. After a card
whose rule asks for card + PIN, the reader waits up to the PIN timeout for the PIN.
Readers call `present(reader_id, result)` with the hal's CardRead / KeyPress /
BadFrame; the Wiegand reader is the entry reader of door 1, OSDP readers add
themselves with `add_reader(Reader(id, door_id, direction))`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent
from flask_babel import lazy_gettext
from wtforms import Form

from doorctl.core.access_control import decisions
from doorctl.core.access_control.access_rules import AccessRules
from doorctl.core.access_control.cardholders import Cardholders
from doorctl.core.access_control.credentials import Credentials, PinHasher, read_key
from doorctl.core.access_control.decisions import Decider, Decision, Reader
from doorctl.core.access_control.schedules import Schedules
from doorctl.core.errors import NotFound
from doorctl.core.events import EventBus
from doorctl.core.fields import seconds
from doorctl.core.store import Store
from doorctl.core.system.date_time import settings as date_time_settings
from doorctl.hal.wiegand import BadFrame, CardRead, KeyPress

log = logging.getLogger(__name__)

SECTION = "access"
WIEGAND = Reader("wiegand", 1, "entry")
MAX_PIN_DIGITS = 12
BAD_FRAME_TOPIC = "tns1:Device/Reader/BadFrame"
GRANTED_TOPIC = "tns1:AccessControl/AccessGranted/Credential"
DENIED_TOPIC = "tns1:AccessControl/Denied/Credential"
NOT_FOUND_CARD = "tns1:AccessControl/Denied/CredentialNotFound/Card"
NOT_FOUND_PIN = "tns1:AccessControl/Denied/CredentialNotFound/Pin"


class AccessSettings(Form):
    """Access control settings (Administrator): PIN entry. The time zone of schedules
    is the device's, set under System > Date and time."""

    pin_timeout = seconds(
        lazy_gettext("PIN entry timeout"),
        10,
        1,
        120,
        lazy_gettext(
            "Seconds a reader waits for the PIN after a card whose rule asks for one, "
            "and for the next key while a PIN is typed."
        ),
    )


class PinEntry:
    """One reader's keypad: the digits typed so far, and a card waiting for its PIN."""

    def __init__(self):
        self.digits = ""
        self.pending: Decision | None = None
        self.timer: gevent.Greenlet | None = None

    def cancel(self) -> None:
        """Forget the digits, the waiting card and the timer."""
        self.digits = ""
        self.pending = None
        if self.timer is not None:
            self.timer.kill(block=False)
            self.timer = None


class AccessControl:
    """Cardholders, credentials, schedules, rules, readers and the decisions they make."""

    def __init__(self, store: Store, bus: EventBus, doors: dict, secret: bytes, settings: dict):
        self.bus = bus
        self.doors = doors
        self.pins = PinHasher(secret)
        self.cardholders = Cardholders(store)
        self.credentials = Credentials(store, self.pins)
        self.schedules = Schedules(store)
        self.rules = AccessRules(store, lambda: doors.keys())
        self.decider = Decider(store, self.pins, self.rules, self.schedules)
        self.readers: dict[str, Reader] = {}
        self._entries: dict[str, PinEntry] = {}
        self.clock: Callable[[], float] = time.time
        self.tz = date_time_settings.zone_of({})
        self.apply(settings)
        self.add_reader(WIEGAND)

    def apply(self, settings: dict) -> None:
        """New access settings: the PIN timeout."""
        self.settings = settings

    def apply_zone(self, date_time: dict) -> None:
        """The device's time zone (System > Date and time), which schedules are in."""
        self.tz = date_time_settings.zone_of(date_time)

    def add_reader(self, reader: Reader) -> None:
        """Make a reader known (its id, door and direction); a reconfigured reader
        starts with an empty keypad entry."""
        self.remove_reader(reader.id)
        self.readers[reader.id] = reader
        self._entries[reader.id] = PinEntry()

    def remove_reader(self, reader_id: str) -> None:
        """Forget a reader, with any card still waiting there for its PIN."""
        entry = self._entries.pop(reader_id, None)
        if entry is not None:
            entry.cancel()
        self.readers.pop(reader_id, None)

    def reader(self, reader_id: str) -> Reader:
        """A known reader; raise NotFound."""
        try:
            return self.readers[reader_id]
        except KeyError:
            raise NotFound(f"There is no reader {reader_id!r}.") from None

    def present(self, reader_id: str, result) -> Decision | None:
        """What a reader read: a CardRead, a KeyPress or a BadFrame; the decision if made."""
        if isinstance(result, CardRead):
            return self.present_card(reader_id, read_key(result))
        if isinstance(result, KeyPress):
            return self.present_key(reader_id, result.key)
        if isinstance(result, BadFrame):
            self.bus.publish(
                BAD_FRAME_TOPIC,
                {"reader": reader_id},
                {"reason": result.reason, "bits": result.bits},
            )
        return None

    def present_card(self, reader_id: str, key: str) -> Decision:
        """A card (by its key) at a reader: decide, drive the door, publish."""
        reader, entry = self.reader(reader_id), self._entries[reader_id]
        entry.cancel()
        door = self.doors[reader.door_id]
        decision = self.decider.card(key, reader, door, self.clock(), self.tz)
        if decision.reason == decisions.PIN_NEEDED:
            self._wait_for_pin(reader, entry, decision)
            return decision
        return self._carry_out(reader, decision, "card")

    def present_key(self, reader_id: str, key: str) -> Decision | None:
        """One keypad key at a reader; '#' ends a PIN and returns its decision."""
        reader, entry = self.reader(reader_id), self._entries[reader_id]
        if key == "*":
            entry.digits = ""
            return None
        if key != "#":
            entry.digits = (entry.digits + key)[:MAX_PIN_DIGITS]
            self._arm(reader, entry)
            return None
        return self._pin_ended(reader, entry)

    def keys(self, reader_id: str, keys: str) -> Decision | None:
        """Several keys at once (an OSDP keypad report); the last decision made."""
        result = None
        for key in keys:
            result = self.present_key(reader_id, key) or result
        return result

    # --- PIN entry ------------------------------------------------------------------------

    def cancel_pin_entry(self, reader_id: str) -> None:
        """Forget what a reader's keypad has typed and any card waiting there for its PIN."""
        self._entries[reader_id].cancel()

    def _pin_ended(self, reader: Reader, entry: PinEntry) -> Decision | None:
        pin, pending = entry.digits, entry.pending
        entry.cancel()
        if not pin:
            return None
        door, now = self.doors[reader.door_id], self.clock()
        if pending is not None:
            decision = self.decider.card_pin(pending, pin, reader, door, now, self.tz)
            return self._carry_out(reader, decision, "card+pin")
        decision = self.decider.pin(pin, reader, door, now, self.tz)
        return self._carry_out(reader, decision, "pin")

    def _wait_for_pin(self, reader: Reader, entry: PinEntry, decision: Decision) -> None:
        entry.pending = decision
        self._arm(reader, entry)

    def _arm(self, reader: Reader, entry: PinEntry) -> None:
        """(Re)start the PIN timeout from now."""
        if entry.timer is not None:
            entry.timer.kill(block=False)
        gevent.get_hub().loop.update_now()
        entry.timer = gevent.spawn_later(self.settings["pin_timeout"], self._timed_out, reader)

    def _timed_out(self, reader: Reader) -> None:
        """No '#' in time: a waiting card is denied; loose digits are dropped."""
        entry = self._entries[reader.id]
        pending = entry.pending
        entry.timer = None
        entry.cancel()
        if pending is not None:
            self._carry_out(reader, pending.but(decisions.PIN_TIMEOUT), "card+pin")

    # --- outcome --------------------------------------------------------------------------

    def _carry_out(self, reader: Reader, decision: Decision, method: str) -> Decision:
        """Open the door or refuse at the reader, then publish the decision."""
        door = self.doors[reader.door_id]
        if decision.granted:
            source = {"by": "credential", "reader": reader.id, "credential": decision.credential_id}
            if not door.grant(long=decision.long_access, source=source):
                decision = decision.but(decisions.DOOR_LOCKED_DOWN)
        else:
            door.deny()
        self._publish(reader, decision, method)
        return decision

    def _publish(self, reader: Reader, decision: Decision, method: str) -> None:
        if decision.granted:
            topic = GRANTED_TOPIC
        elif decision.reason == decisions.UNKNOWN:
            topic = NOT_FOUND_CARD if decision.card else NOT_FOUND_PIN
        else:
            topic = DENIED_TOPIC
        source = {"door": reader.door_id, "reader": reader.id, "direction": reader.direction}
        data = {**decision.to_data(), "authentication": method}
        self.bus.publish(topic, source, data, {"door": reader.door_id})


class WiegandReader:
    """The Wiegand port as the entry reader of door 1: frames go to access control."""

    def __init__(self, board, access: AccessControl):
        self.board = board
        self.access = access
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Hand every decoded frame to access control."""
        self._unsubscribe = self.board.wiegand.on_read(self._read)

    def stop(self) -> None:
        """Stop listening; forget any PIN being typed."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.access.cancel_pin_entry(WIEGAND.id)

    def _read(self, result) -> None:
        if WIEGAND.id not in self.access.readers:
            return  # out of use: the reader connector carries OSDP readers
        try:
            self.access.present(WIEGAND.id, result)
        except Exception:
            # The type only: a KeyPress holds a PIN digit, which never goes to a log.
            log.exception("access decision failed for a %s", type(result).__name__)
