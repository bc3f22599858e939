-- System log (Logs > Reports and logs): doorctl's own log records, of the web process
-- and of the engine process, kept up to a count (the oldest removed). AUTOINCREMENT
-- keeps ids rising after a trim, so that the highest id ever given, less the rows kept,
-- is how many were removed.
CREATE TABLE system_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    level INTEGER NOT NULL,
    logger TEXT NOT NULL,
    message TEXT NOT NULL,
    process TEXT NOT NULL
);
CREATE INDEX system_log_level ON system_log (level, id);
