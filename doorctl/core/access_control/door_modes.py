"""Door modes, after ONVIF's DoorMode, and the commands that set them.

Locked is the normal, secure mode (card access works); Accessed is a momentary
unlock for the access time; Unlocked holds the lock released; Blocked refuses cards
but REX still lets people out; Locked down and Locked open are overrides that only
"release" (return to normal) ends.
"""

from __future__ import annotations

LOCKED, UNLOCKED, ACCESSED, BLOCKED = "locked", "unlocked", "accessed", "blocked"
LOCKED_DOWN, LOCKED_OPEN = "locked_down", "locked_open"
ONVIF_MODE = {
    LOCKED: "Locked",
    UNLOCKED: "Unlocked",
    ACCESSED: "Accessed",
    BLOCKED: "Blocked",
    LOCKED_DOWN: "LockedDown",
    LOCKED_OPEN: "LockedOpen",
}
RELEASED_MODES = (UNLOCKED, ACCESSED, LOCKED_OPEN)
ACTIONS = ("access", "lock", "unlock", "block", "lockdown", "lockopen", "release")
