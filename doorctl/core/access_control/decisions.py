"""Access decisions: granted, or denied with the reason, from a card or a PIN.

A decision is two indexed SELECTs (the credential with its cardholder, then the
cardholder's rules for this door and direction) and in-memory schedule checks; it
never scans the credentials and never waits for the event log.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from doorctl.core.access_control.access_rules import AccessRules
from doorctl.core.access_control.cardholders import validity_epoch
from doorctl.core.access_control.credentials import PinHasher, card_of
from doorctl.core.access_control.door import LOCKED_DOWN
from doorctl.core.access_control.schedules import Schedules
from doorctl.core.store import Store

GRANTED = "granted"
UNKNOWN = "unknown_credential"
DISABLED = "disabled"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
NO_RULE = "no_access_rule"
OUTSIDE_SCHEDULE = "outside_schedule"
WRONG_PIN = "wrong_pin"
PIN_TIMEOUT = "pin_timeout"
NO_PIN = "no_pin"
DOOR_BLOCKED = "door_blocked"
DOOR_LOCKED_DOWN = "door_locked_down"
PIN_NEEDED = "pin_needed"  # not a result: the reader waits for the PIN after a card

MESSAGES = {
    GRANTED: "Access granted.",
    UNKNOWN: "The credential is not known.",
    DISABLED: "The credential or its cardholder is disabled.",
    NOT_YET_VALID: "The cardholder is not valid yet.",
    EXPIRED: "The cardholder's validity has expired.",
    NO_RULE: "No access rule lets this credential through this reader.",
    OUTSIDE_SCHEDULE: "Outside the schedule of the cardholder's access rules.",
    WRONG_PIN: "Wrong PIN.",
    PIN_TIMEOUT: "No PIN was entered in time.",
    NO_PIN: "The rule asks for card and PIN, and this card has no PIN.",
    DOOR_BLOCKED: "The door is blocked.",
    DOOR_LOCKED_DOWN: "The door is locked down.",
    PIN_NEEDED: "Enter the PIN and press #.",
}

_CREDENTIAL = """
SELECT c.id, c.enabled, c.card, c.pin_hash, h.id AS holder, h.name, h.enabled AS holder_enabled,
       h.valid_from, h.valid_until, h.long_access
FROM credentials c JOIN cardholders h ON h.id = c.cardholder_id
"""
BY_CARD = _CREDENTIAL + "WHERE c.card = ?"
BY_PIN = _CREDENTIAL + "WHERE c.pin_hash = ? AND c.card IS NULL"


@dataclass(frozen=True)
class Reader:
    """A reader: its id, the door it opens and its direction (entry or exit)."""

    id: str
    door_id: int
    direction: str = "entry"


@dataclass(frozen=True)
class Decision:
    """The result of presenting a credential, with what the events and the log show."""

    reason: str
    credential_id: int | None = None
    cardholder_id: int | None = None
    cardholder: str | None = None
    card: str | None = None
    long_access: bool = False
    pin_hash: str | None = None

    @property
    def granted(self) -> bool:
        """True when the door may open."""
        return self.reason == GRANTED

    def but(self, reason: str) -> Decision:
        """The same credential with another outcome."""
        return Decision(reason, *[getattr(self, f) for f in _IDENTITY])

    def to_data(self) -> dict:
        """The event's data: who and which credential, never the PIN."""
        data = {"reason": self.reason, "message": MESSAGES[self.reason]}
        if self.cardholder_id is not None:
            data.update(cardholder_id=self.cardholder_id, cardholder=self.cardholder)
            data["credential_id"] = self.credential_id
        if self.card is not None:
            data["card"] = card_of(self.card)
        return data


_IDENTITY = ("credential_id", "cardholder_id", "cardholder", "card", "long_access", "pin_hash")


class Decider:
    """Decides card reads and PINs against credentials, cardholders, rules and schedules."""

    def __init__(self, store: Store, pins: PinHasher, rules: AccessRules, schedules: Schedules):
        self.store = store
        self.pins = pins
        self.rules = rules
        self.schedules = schedules

    def card(self, key: str, reader: Reader, door, now: float, tz: ZoneInfo) -> Decision:
        """A card read: granted, denied, or PIN_NEEDED when a rule asks for card + PIN."""
        row = self.store.execute(BY_CARD, (key,)).fetchone()
        if row is None:
            return Decision(UNKNOWN, card=key)
        return self._decide(row, "card", reader, door, now, tz)

    def pin(self, pin: str, reader: Reader, door, now: float, tz: ZoneInfo) -> Decision:
        """A PIN typed on its own."""
        row = self.store.execute(BY_PIN, (self.pins.pin_only(pin),)).fetchone()
        if row is None:
            return Decision(UNKNOWN)
        return self._decide(row, "pin", reader, door, now, tz)

    def card_pin(self, pending: Decision, pin: str, reader, door, now, tz) -> Decision:
        """The PIN typed after a card that needed one: checked against the card's hash."""
        if not hmac.compare_digest(self.pins.with_card(pending.card, pin), pending.pin_hash):
            return pending.but(WRONG_PIN)
        row = self.store.execute(BY_CARD, (pending.card,)).fetchone()
        if row is None:
            return pending.but(UNKNOWN)
        return self._decide(row, "card+pin", reader, door, now, tz)

    def _decide(self, row, method: str, reader, door, now, tz) -> Decision:
        decision = _identity(row)
        refusal = _credential_refusal(row, now, tz) or _door_refusal(door)
        if refusal:
            return decision.but(refusal)
        rules = self.rules.for_cardholder(row["holder"], reader.door_id, reader.direction)
        if not rules:
            return decision.but(NO_RULE)
        active = {r.authentication for r in rules if self._in_schedule(r.schedule_id, now, tz)}
        if not active:
            return decision.but(OUTSIDE_SCHEDULE)
        return decision.but(_by_authentication(method, active, decision.pin_hash))

    def _in_schedule(self, schedule_id: int | None, now: float, tz: ZoneInfo) -> bool:
        if schedule_id is None:
            return True
        schedule = self.schedules.all().get(schedule_id)
        return schedule is not None and schedule.active(now, tz)


def _identity(row) -> Decision:
    return Decision(
        GRANTED,
        row["id"],
        row["holder"],
        row["name"],
        row["card"],
        bool(row["long_access"]),
        row["pin_hash"],
    )


def _credential_refusal(row, now: float, tz: ZoneInfo) -> str | None:
    """Disabled, not yet valid or expired; None when the credential may be used."""
    if not row["enabled"] or not row["holder_enabled"]:
        return DISABLED
    start = validity_epoch(row["valid_from"], tz, end=False)
    if start is not None and now < start:
        return NOT_YET_VALID
    until = validity_epoch(row["valid_until"], tz, end=True)
    if until is not None and now >= until:
        return EXPIRED
    return None


def _door_refusal(door) -> str | None:
    allowed, _ = door.card_allowed()
    if allowed:
        return None
    return DOOR_LOCKED_DOWN if door.mode() == LOCKED_DOWN else DOOR_BLOCKED


def _by_authentication(method: str, active: set[str], pin_hash: str | None) -> str:
    """Whether what was presented is what an active rule asks for at this reader."""
    if method == "pin":
        return GRANTED if "pin" in active else NO_RULE
    if "card" in active or (method == "card+pin" and "card+pin" in active):
        return GRANTED
    if "card+pin" in active:
        return PIN_NEEDED if pin_hash else NO_PIN
    return NO_RULE
