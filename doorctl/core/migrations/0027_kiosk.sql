-- Kiosk display (System > Kiosk display): the operator PIN the kiosk asks for before an
-- action, as a salted slow hash only, and the generation of the kiosk's logins (one
-- more ends every kiosk login, as turning the kiosk off does).
CREATE TABLE IF NOT EXISTS kiosk (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    pin_hash  TEXT,
    sessions  INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO kiosk (id, pin_hash, sessions) VALUES (1, NULL, 0);
