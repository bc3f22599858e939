-- The certificate store (System > Security > Certificates): certificates as PEM; their
-- private keys are files of the data directory, sealed with the device key.
CREATE TABLE IF NOT EXISTS certificates (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('client_server', 'ca')),
    pem         TEXT NOT NULL,
    created     REAL NOT NULL
);
