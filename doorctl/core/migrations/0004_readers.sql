-- Readers (Access control > Peripherals): OSDP readers on serial buses, and the
-- board's Wiegand reader, which is always there (its door and direction can change).
CREATE TABLE readers (
    id             TEXT PRIMARY KEY,
    protocol       TEXT NOT NULL CHECK (protocol IN ('osdp', 'wiegand')),
    port           TEXT NOT NULL DEFAULT '',
    baud           INTEGER NOT NULL DEFAULT 115200,
    address        INTEGER NOT NULL DEFAULT 0,
    secure_channel TEXT NOT NULL DEFAULT 'off',
    door_id        INTEGER NOT NULL DEFAULT 1,
    direction      TEXT NOT NULL DEFAULT 'entry'
);
INSERT INTO readers (id, protocol) VALUES ('wiegand', 'wiegand');
