-- Remote system log (Logs > Remote system log): the syslog servers that the system
-- log and the events are sent to, each with its format, protocol, port, severity
-- threshold and, for TLS, the CA certificate (an id of the certificate store).
CREATE TABLE IF NOT EXISTS remote_syslog_servers (
    id              INTEGER PRIMARY KEY,
    host            TEXT NOT NULL,
    format          TEXT NOT NULL CHECK (format IN ('rfc3164', 'rfc5424')),
    protocol        TEXT NOT NULL CHECK (protocol IN ('udp', 'tcp', 'tls')),
    port            INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    severity        TEXT NOT NULL,
    ca_certificate  TEXT NOT NULL DEFAULT ''
);
