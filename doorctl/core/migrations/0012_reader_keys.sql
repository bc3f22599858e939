-- Secure channel keys of the OSDP readers (Access control > Peripherals), sealed with
-- the device key: `key` is the key the reader has; `proposed` a new key sent to it
-- with KEYSET whose answer has not come (the next handshake tells which one holds).
-- Kept apart from the readers table so that nothing that shows a reader reads them.
CREATE TABLE IF NOT EXISTS reader_keys (
    reader_id   TEXT PRIMARY KEY REFERENCES readers (id) ON DELETE CASCADE,
    key         TEXT NOT NULL DEFAULT '',
    set_at      REAL,
    proposed    TEXT NOT NULL DEFAULT ''
);
