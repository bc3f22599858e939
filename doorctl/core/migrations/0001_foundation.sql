-- The foundation: one validated record per settings section, users, the event log.
CREATE TABLE settings (
    section TEXT PRIMARY KEY,
    data    TEXT NOT NULL
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator', 'operator', 'viewer')),
    created       REAL NOT NULL
);

CREATE TABLE events (
    id       INTEGER PRIMARY KEY,
    time     REAL NOT NULL,
    topic    TEXT NOT NULL,
    source   TEXT NOT NULL,
    data     TEXT NOT NULL,
    key      TEXT NOT NULL,
    property INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_topic ON events (topic, id);
