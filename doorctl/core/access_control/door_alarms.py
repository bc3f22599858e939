"""Door alarms: their names in the engine and their ONVIF DoorAlarm states."""

from __future__ import annotations

FORCED_OPEN, OPEN_TOO_LONG, PRE_ALARM, TAMPERED = (
    "forced_open",
    "open_too_long",
    "open_too_long_pre_alarm",
    "door_monitor_tampered",
)
ONVIF_ALARM = {
    FORCED_OPEN: "DoorForcedOpen",
    OPEN_TOO_LONG: "DoorOpenTooLong",
    PRE_ALARM: "DoorOpenTooLongPreAlarm",
}
