"""Backup of the configuration (Maintenance > Backup): what goes into the file.

A backup holds the configuration tables as rows, with the schema version
(`PRAGMA user_version`) they were read at, so that a newer version migrates them
forward as it restores (backup_restore.py). Secrets sealed with this unit's device key
are opened and travel in the password-encrypted file: a replacement unit, whose device
key differs, seals them again with its own. The device key and the session key are
not carried (they stay the unit's own); passwords and the kiosk's operator PIN stay as
their hashes. The event log, the access log, the MQTT outbox, held door modes and this
unit's ended sessions are no configuration and stay out; so are the kiosk's login
generation and its wrong-PIN throttle (this unit's own logins and the attempts made at
its own screen: `kiosk` carries the PIN's hash only).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl import __version__
from doorctl.core.access_control.pin_key import pin_secret
from doorctl.core.secrets import Sealer, Unsealable, is_sealed
from doorctl.core.store import Store
from doorctl.core.system.users import printable_password_error

log = logging.getLogger(__name__)
# The configuration's tables, parents before children (a restore inserts in this order).
TABLES = (
    "settings",
    "users",
    "cardholders",
    "cardholder_groups",
    "group_members",
    "schedules",
    "credentials",
    "access_rules",
    "rule_cardholders",
    "rule_groups",
    "readers",
    "reader_keys",
    "certificates",
    "remote_syslog_servers",
    "snmp_users",
    "kiosk",
)
# Tables that backups of earlier versions do not hold: restoring one leaves them as they are.
LATER_TABLES = ("remote_syslog_servers", "snmp_users", "kiosk")
# The columns a table's backup holds, where not all of them are configuration.
COLUMNS = {"kiosk": ("id", "pin_hash")}
KEY_COLUMNS = ("key", "proposed")
KIND = "doorctl configuration backup"
TOPIC_MADE = "tns1:Device/Maintenance/Backup/Made"
TOPIC_RESTORED = "tns1:Device/Maintenance/Backup/Restored"
TOPIC_REFUSED = "tns1:Device/Maintenance/Backup/RestoreFailed"
# What the preview counts, by the name the page and the API give it.
COUNTED = {
    "users": "users",
    "cardholders": "cardholders",
    "credentials": "credentials",
    "schedules": "schedules",
    "rules": "access_rules",
    "groups": "cardholder_groups",
    "certificates": "certificates",
    "readers": "readers",
    "syslog_servers": "remote_syslog_servers",
    "snmp_users": "snmp_users",
}
# A backup leaves the unit and can be attacked offline: longer than a user's minimum.
PASSWORD_MIN, PASSWORD_MAX = 8, 128
PASSWORD_RULE = lazy_gettext("8 to 128 printable ASCII characters (codes 32 to 126)")


def backup_password_error(password: object) -> str | None:
    """Why a password may not protect a backup, or None when it may."""

    def wrong_length(length: int) -> str | None:
        if PASSWORD_MIN <= length <= PASSWORD_MAX:
            return None
        return _(
            "The password is %(length)d characters long: %(rule)s.",
            length=length,
            rule=PASSWORD_RULE,
        )

    return printable_password_error(password, PASSWORD_RULE, wrong_length)


def reader_key_place(reader_id: str, column: str) -> str:
    """Where a reader's sealed key belongs (readers/keys.py seals it there)."""
    return f"reader {reader_id} {column}"


def snmp_key_place(_user: dict, column: str) -> str:
    """Where an SNMP user's sealed key belongs (snmp/users.py seals it there)."""
    return f"snmp_users.{column}"


def _reader_key_place(key: dict, column: str) -> str:
    return reader_key_place(key["reader_id"], column)


# Secrets sealed per column of a table's rows: the columns and where each one belongs.
SEALED_COLUMNS = {
    "reader_keys": (KEY_COLUMNS, _reader_key_place),
    "snmp_users": (("auth_key", "privacy_key"), snmp_key_place),
}


def certificate_place(cert_id: str) -> str:
    """Where a certificate's sealed private key belongs (certificates seals it there)."""
    return f"certificate {cert_id}"


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema a database is at."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def table_rows(conn: sqlite3.Connection, table: str) -> dict | None:
    """A table's column names and rows, None when the schema has no such table."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    if found.fetchone() is None:
        return None
    names = ", ".join(COLUMNS.get(table, ("*",)))
    cursor = conn.execute(f"SELECT {names} FROM {table}")  # a name of TABLES
    columns = [d[0] for d in cursor.description]
    return {"columns": columns, "rows": [list(row) for row in cursor]}


def _open_settings(table: dict, sealer: Sealer) -> dict[str, list[str]]:
    """Open the sealed fields of each settings record in place; the fields, by section."""
    secret_fields = {}
    for row in table["rows"]:
        section, record = row[0], json.loads(row[1])
        names = [name for name, value in record.items() if is_sealed(value)]
        for name in names:
            record[name] = _opened(sealer, record[name], f"{section}.{name}")
        if names:
            secret_fields[section] = names
            row[1] = json.dumps(record)
    return secret_fields


def _opened(sealer: Sealer, stored: str, place: str) -> str:
    """A sealed secret in clear; one this device's key does not open is left out (it
    was not usable here either, and the system log says so)."""
    try:
        return sealer.open(stored, place)
    except Unsealable:
        log.warning(
            "the secret of %s does not open with this device's key: not in the backup", place
        )
        return ""


def _open_columns(name: str, table: dict, sealer: Sealer) -> None:
    """A table's secrets sealed per column (SEALED_COLUMNS) in clear, in place."""
    secrets, place = SEALED_COLUMNS[name]
    columns = table["columns"]
    for row in table["rows"]:
        record = dict(zip(columns, row, strict=True))
        for column in secrets:
            at = columns.index(column)
            if row[at]:
                row[at] = _opened(sealer, row[at], place(record, column))


def collect(
    conn: sqlite3.Connection,
    sealer: Sealer,
    pin_key: bytes,
    certificate_keys: dict[str, str],
    device: dict,
) -> dict:
    """The content of a backup from a database at any schema this version knows."""
    tables = {name: table for name in TABLES if (table := table_rows(conn, name)) is not None}
    secret_fields = _open_settings(tables["settings"], sealer)
    for name in SEALED_COLUMNS.keys() & tables.keys():
        _open_columns(name, tables[name], sealer)
    return {
        "kind": KIND,
        "made": time.time(),
        "version": __version__,
        "device": device,
        "schema": schema_version(conn),
        "tables": tables,
        "secret_fields": secret_fields,
        "pin_key": pin_key.hex(),
        "certificate_keys": certificate_keys,
    }


def collect_unit(store: Store, sealer: Sealer, device_secret: bytes, certificates, device) -> dict:
    """The content of a backup of this unit, read on the store's reading thread (every
    table, every secret unsealed: the hub goes on meanwhile)."""
    return store.read(_collect_in, sealer, device_secret, certificates, device)


def _collect_in(conn: sqlite3.Connection, sealer, device_secret, certificates, device) -> dict:
    """collect() in one read transaction on `conn`: one consistent copy."""
    conn.execute("BEGIN")
    try:
        rows = conn.execute("SELECT id FROM certificates WHERE kind = 'client_server'")
        keys = {row["id"]: _key_pem(certificates, row["id"]) for row in rows.fetchall()}
        keys = {cert_id: pem for cert_id, pem in keys.items() if pem is not None}
        pin_key = pin_secret(conn, sealer, device_secret)
        return collect(conn, sealer, pin_key, keys, device)
    finally:
        conn.execute("COMMIT")


def _key_pem(certificates, cert_id: str) -> str | None:
    """A certificate's private key as PEM text (it goes into the encrypted file only);
    None when its file is missing or another device's (the system log says so)."""
    try:
        sealed = (certificates.keys_dir / f"{cert_id}.key").read_bytes()
        return certificates.sealer.open_bytes(sealed, certificate_place(cert_id)).decode()
    except (OSError, Unsealable):
        log.warning("the private key of certificate %s does not open: not in the backup", cert_id)
        return None


def preview(content: dict) -> dict:
    """What a backup holds, as the restore's preview shows it (never a secret)."""
    tables = content["tables"]
    settings = {row[0]: row[1] for row in tables.get("settings", {}).get("rows", [])}
    return {
        "device": content.get("device", {}),
        "version": content.get("version", ""),
        "made": content.get("made"),
        "schema": content.get("schema"),
        "counts": {name: len(tables.get(t, {}).get("rows", [])) for name, t in COUNTED.items()},
        "sections": sorted(settings),
    }
