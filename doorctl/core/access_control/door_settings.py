"""Door settings (manual: "Doors"): lock type, access times, relock, door monitor, REX.

One form defines the fields, limits and defaults for the settings page, the REST API
and the store.
"""

from __future__ import annotations

from wtforms import Form
from wtforms.validators import ValidationError

from doorctl.core.fields import Choice, Name, OptionalId, Switch, seconds

SECTION = "door"


class DoorSettings(Form):
    """Door settings (Administrator): lock, times, relock rule, door monitor and REX."""

    name = Name("Door name", default="Door 1")
    lock_type = Choice(
        "Lock type",
        choices=[
            ("fail_secure", "Fail-secure (relay active while unlocked)"),
            ("fail_safe", "Fail-safe (relay active while locked)"),
        ],
        default="fail_secure",
    )
    access_time = seconds("Access time", 7, 0.1, 3600)
    long_access_time = seconds("Long access time", 20, 0.1, 3600)
    open_too_long_time = seconds("Open-too-long time", 15, 0.1, 3600)
    pre_alarm_time = seconds("Pre-alarm before open too long (0 = none)", 5, 0, 3600)
    relock = Choice(
        "Relock",
        choices=[
            ("door_closed", "When the door closes"),
            ("access_time", "After the access time"),
        ],
        default="door_closed",
    )
    door_monitor_normal_state = Choice(
        "Door monitor normal state (door closed)",
        choices=[("closed", "Closed circuit"), ("open", "Open circuit")],
        default="closed",
    )
    rex_active_state = Choice(
        "REX active state",
        choices=[("closed", "Closed circuit"), ("open", "Open circuit")],
        default="closed",
    )
    rex_unlocks = Switch("REX unlocks the door", default=True)
    unlock_schedule_id = OptionalId("Scheduled unlock: unlocked during this schedule")
    first_person_in = Switch("First person in (scheduled unlock waits for a valid card)")

    def validate_long_access_time(self, field):
        if _numbers(field, self.access_time) and field.data < self.access_time.data:
            raise ValidationError("Must be at least the access time.")

    def validate_pre_alarm_time(self, field):
        limit = self.open_too_long_time
        if _numbers(field, limit) and field.data >= limit.data:
            raise ValidationError("Must be shorter than the open-too-long time.")


def _numbers(*fields) -> bool:
    """True when every field holds a number (else its own error is already reported)."""
    return all(isinstance(f.data, float) for f in fields)
