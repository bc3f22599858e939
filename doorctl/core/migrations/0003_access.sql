-- Access control: cardholders and their groups, credentials, schedules, access rules.
-- Every lookup a decision makes is an index search (see tests/test_access.py).
CREATE TABLE cardholders (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    valid_from  TEXT,
    valid_until TEXT,
    long_access INTEGER NOT NULL DEFAULT 0,
    notes       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cardholders_name ON cardholders (name COLLATE NOCASE, id);

CREATE TABLE cardholder_groups (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE
);

CREATE TABLE group_members (
    group_id      INTEGER NOT NULL REFERENCES cardholder_groups (id) ON DELETE CASCADE,
    cardholder_id INTEGER NOT NULL REFERENCES cardholders (id) ON DELETE CASCADE,
    PRIMARY KEY (cardholder_id, group_id)
) WITHOUT ROWID;
CREATE INDEX group_members_group ON group_members (group_id);

-- card: "<format>:<facility>:<number>" or "raw:<bits>:<number>"; pin_hash: HMAC-SHA256
-- with the device secret, over the PIN alone (PIN only) or over card and PIN.
CREATE TABLE credentials (
    id            INTEGER PRIMARY KEY,
    cardholder_id INTEGER NOT NULL REFERENCES cardholders (id) ON DELETE CASCADE,
    enabled       INTEGER NOT NULL DEFAULT 1,
    card          TEXT,
    pin_hash      TEXT,
    CHECK (card IS NOT NULL OR pin_hash IS NOT NULL)
);
CREATE UNIQUE INDEX credentials_card ON credentials (card) WHERE card IS NOT NULL;
CREATE UNIQUE INDEX credentials_pin_only ON credentials (pin_hash) WHERE card IS NULL;
CREATE INDEX credentials_cardholder ON credentials (cardholder_id);

CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    intervals  TEXT NOT NULL,
    exceptions TEXT NOT NULL
);

CREATE TABLE access_rules (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL DEFAULT '',
    door_id        INTEGER NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('entry', 'exit', 'both')),
    schedule_id    INTEGER REFERENCES schedules (id) ON DELETE RESTRICT,
    authentication TEXT NOT NULL CHECK (authentication IN ('card', 'pin', 'card+pin'))
);

CREATE TABLE rule_cardholders (
    rule_id       INTEGER NOT NULL REFERENCES access_rules (id) ON DELETE CASCADE,
    cardholder_id INTEGER NOT NULL REFERENCES cardholders (id) ON DELETE CASCADE,
    PRIMARY KEY (cardholder_id, rule_id)
) WITHOUT ROWID;
CREATE INDEX rule_cardholders_rule ON rule_cardholders (rule_id);

CREATE TABLE rule_groups (
    rule_id  INTEGER NOT NULL REFERENCES access_rules (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES cardholder_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, rule_id)
) WITHOUT ROWID;
CREATE INDEX rule_groups_rule ON rule_groups (rule_id);
