"""The remote syslog servers: their form (page, REST API, store) and their table.

Each add, change and removal is stored with its configuration event
(`tns1:Configuration/RemoteSyslogServer/...`) in one transaction.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form
from wtforms.validators import Length, NumberRange, ValidationError

from doorctl.core.errors import Conflict, Invalid, NotFound, unknown_fields
from doorctl.core.fields import Choice, Present, StrictInteger, Text, is_host
from doorctl.core.logs.audit import audit
from doorctl.core.settings import first_errors, labels
from doorctl.core.store import Store, Transaction
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.certificates.chosen import CA_CERTIFICATE, check

from .formats import SEVERITIES

KIND = "RemoteSyslogServer"
PORTS = {"udp": 514, "tcp": 514, "tls": 6514}
MAX_SERVERS = 8
FIELDS = ("host", "format", "protocol", "port", "severity", CA_CERTIFICATE)
SEVERITY_NAMES = {
    "emerg": lazy_gettext("Emergency"),
    "alert": lazy_gettext("Alert"),
    "crit": lazy_gettext("Critical"),
    "err": lazy_gettext("Error"),
    "warning": lazy_gettext("Warning"),
    "notice": lazy_gettext("Notice"),
    "info": lazy_gettext("Informational"),
    "debug": lazy_gettext("Debug"),
}
PORT_RULE = lazy_gettext("Enter a port from 1 to 65535.")
WRONG_KIND = {
    CA_CERTIFICATE: lambda cert_id: _(
        "%(id)s is a client/server certificate; choose a CA certificate.", id=cert_id
    )
}


class Full(Exception):
    """The table holds MAX_SERVERS servers already."""


class ServerForm(Form):
    """One remote syslog server, as the page and the REST API give it."""

    host = Text(
        lazy_gettext("Host"),
        [Length(0, 253)],
        default="",
        description=lazy_gettext("The server's host name or IP address."),
    )
    format = Choice(
        lazy_gettext("Format"),
        choices=[("rfc3164", "RFC 3164"), ("rfc5424", "RFC 5424")],
        default="rfc5424",
    )
    protocol = Choice(
        lazy_gettext("Protocol"),
        choices=[("udp", "UDP"), ("tcp", "TCP"), ("tls", "TLS")],
        default="udp",
    )
    port = StrictInteger(
        lazy_gettext("Port"),
        [Present(PORT_RULE), NumberRange(1, 65535, PORT_RULE)],
        default=514,
        description=lazy_gettext("Empty or left out: 514 for UDP and TCP, 6514 for TLS."),
    )
    severity = Choice(
        lazy_gettext("Severity"),
        choices=list(SEVERITY_NAMES.items()),
        default="info",
        description=lazy_gettext("Messages of this severity and the more severe ones are sent."),
    )
    ca_certificate = Text(
        lazy_gettext("CA certificate"),
        [Length(0, 64)],
        default="",
        description=lazy_gettext(
            "For TLS: the CA certificate from the certificate store that the server's "
            "certificate must chain to; empty: the system's CAs."
        ),
    )

    def validate_host(self, field) -> None:
        if not field.data.strip():
            raise ValidationError(_("Enter the server's host name or IP address."))
        if not is_host(field.data):
            raise ValidationError(
                _(
                    "Enter a host name or an IP address, without spaces: for example "
                    "syslog.example.com or 192.0.2.10."
                )
            )


def defaults() -> dict:
    """A new server's values before the request's."""
    return ServerForm().data


def threshold(server: dict) -> int:
    """The least severe severity (highest number) the server takes."""
    return SEVERITIES.index(server["severity"])


class Servers:
    """The servers' table: read, and add, change and remove with their audit events."""

    def __init__(self, store: Store, certificates: Certificates):
        self.store, self.certificates = store, certificates

    def list(self) -> list[dict]:
        """Every server, in the order they were added."""
        rows = self.store.execute("SELECT * FROM remote_syslog_servers ORDER BY id")
        return [dict(row) for row in rows]

    def get(self, server_id: int) -> dict:
        """One server; NotFound when there is none with the id."""
        row = self.store.execute(
            "SELECT * FROM remote_syslog_servers WHERE id = ?", (server_id,)
        ).fetchone()
        if row is None:
            raise NotFound(_("There is no remote syslog server %(id)d.", id=server_id))
        return dict(row)

    def create(self, body: dict) -> int:
        """Add a server; Invalid names every bad field at once."""
        record = self.checked({**defaults(), **_with_port(body)})
        try:
            return self.store.write(_insert, record)
        except Full:
            raise Conflict(_("At most %(most)d servers can be added.", most=MAX_SERVERS)) from None

    def update(self, server_id: int, body: dict) -> None:
        """Change the fields given of a server; the others stay."""
        current = self.get(server_id)
        moved = "port" in body or "protocol" in body
        changes = _with_port({"protocol": current["protocol"], **body}) if moved else body
        record = self.checked({**current, **changes, "id": server_id})
        self.store.write(_update, server_id, record)

    def delete(self, server_id: int) -> None:
        """Remove a server."""
        self.get(server_id)
        self.store.write(_delete, server_id)

    def checked(self, body: dict) -> dict:
        """The clean record, else Invalid with each field's message."""
        errors = unknown_fields({k: v for k, v in body.items() if k != "id"}, FIELDS)
        form = ServerForm(data={k: body[k] for k in FIELDS if k in body})
        form.validate()
        errors |= first_errors(form)
        if not errors.get(CA_CERTIFICATE):
            errors |= check(self.certificates, form.data, WRONG_KIND)
        if errors:
            raise Invalid(errors, labels=labels(form))
        return {k: form.data[k] for k in FIELDS}


def _with_port(body: dict) -> dict:
    """A port left out or empty is the protocol's usual one."""
    if body.get("port") not in (None, ""):
        return body
    return {**body, "port": PORTS.get(body.get("protocol", "udp"), 514)}


def _insert(tx: Transaction, record: dict) -> int:
    """Counted in the insert's transaction: two adds at once can't both pass the bound."""
    if tx.execute("SELECT count(*) FROM remote_syslog_servers").fetchone()[0] >= MAX_SERVERS:
        raise Full
    names = ", ".join(FIELDS)
    server_id = tx.execute(
        f"INSERT INTO remote_syslog_servers ({names}) VALUES ({', '.join('?' * len(FIELDS))})",
        [record[k] for k in FIELDS],
    ).lastrowid
    audit(tx, KIND, "create", server_id, {"host": record["host"]})
    return server_id


def _update(tx: Transaction, server_id: int, record: dict) -> None:
    settings = ", ".join(f"{k} = ?" for k in FIELDS)
    tx.execute(
        f"UPDATE remote_syslog_servers SET {settings} WHERE id = ?",
        [*(record[k] for k in FIELDS), server_id],
    )
    audit(tx, KIND, "update", server_id, {"host": record["host"]})


def _delete(tx: Transaction, server_id: int) -> None:
    tx.execute("DELETE FROM remote_syslog_servers WHERE id = ?", (server_id,))
    audit(tx, KIND, "delete", server_id)
