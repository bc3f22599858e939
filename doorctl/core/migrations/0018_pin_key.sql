-- Backup and restore (Maintenance > Backup): the key of the PIN hashes, when it is not
-- this unit's own. PINs are stored as HMACs keyed with the device secret; a backup
-- restored on a replacement unit brings the key its PIN hashes were made with, kept
-- here sealed with the new unit's device key. No row: the device secret is the key.
CREATE TABLE IF NOT EXISTS pin_key (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    key  TEXT NOT NULL
);
