-- MQTT store and forward: QoS 1 and 2 publications wait here until the broker acknowledges them.
CREATE TABLE mqtt_outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    topic   TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos     INTEGER NOT NULL CHECK (qos IN (1, 2)),
    retain  INTEGER NOT NULL DEFAULT 0
);
