-- Doors: each door's held mode, stored when an operator's command is acknowledged, so
-- that after a restart or a power cut the door is back in that mode (a locked-down
-- door stays locked down). A momentary Access is never held.
CREATE TABLE door_modes (
    door          INTEGER PRIMARY KEY,
    base_mode     TEXT NOT NULL CHECK (base_mode IN ('locked', 'unlocked', 'blocked')),
    override      TEXT CHECK (override IS NULL OR override IN ('locked_down', 'locked_open')),
    scheduled     INTEGER NOT NULL DEFAULT 0,
    schedule_held INTEGER NOT NULL DEFAULT 0,
    first_in_seen INTEGER NOT NULL DEFAULT 0,
    time          REAL NOT NULL
);
