-- Connected clients (System > Network): sessions an administrator ended one by one. A
-- cookie names its session; one named here no longer logs anybody in. A row is kept
-- for as long as a copy of the cookie could otherwise still be in use.
CREATE TABLE IF NOT EXISTS ended_sessions (
    session     TEXT PRIMARY KEY,
    ended       REAL NOT NULL
);
