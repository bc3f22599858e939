-- SNMP v3 users (System > SNMP): each with its authentication protocol, its two keys
-- (sealed with the device key, never in clear) and whether it may read; one of them
-- sends the traps and informs. A v3 user stored in the SNMP settings by an earlier
-- version moves here when doorctl starts (its keys sealed again for their new place).
CREATE TABLE IF NOT EXISTS snmp_users (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    authentication  TEXT NOT NULL CHECK (authentication IN ('SHA', 'SHA-256')),
    auth_key        TEXT NOT NULL,
    privacy_key     TEXT NOT NULL,
    read            INTEGER NOT NULL DEFAULT 1 CHECK (read IN (0, 1)),
    notify          INTEGER NOT NULL DEFAULT 0 CHECK (notify IN (0, 1))
);
