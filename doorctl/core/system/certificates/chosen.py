"""Certificates a setting chooses from the store by id (the MQTT client's TLS, IEEE
802.1x): a CA certificate that the peer's certificate must chain to, and a client
certificate with its private key that proves who this unit is."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from flask_babel import gettext as _

from doorctl.core.system.certificates import Certificates

CA_CERTIFICATE, CLIENT_CERTIFICATE = "ca_certificate", "client_certificate"
KINDS = {CA_CERTIFICATE: "ca", CLIENT_CERTIFICATE: "client_server"}


def chosen(record: dict) -> set[str]:
    """The ids the record chooses (they can't be deleted from the store meanwhile); a
    record may have either field alone (a syslog server has no client certificate)."""
    return {record.get(CA_CERTIFICATE, ""), record.get(CLIENT_CERTIFICATE, "")} - {""}


def check(
    certificates: Certificates, record: dict, wrong_kind: dict[str, Callable[[str], str]]
) -> dict[str, str]:
    """Each chosen certificate must be in the store and of its field's kind;
    `wrong_kind[field](id)` says why one is not, in the words of the setting's page."""
    errors = {}
    for field, kind in KINDS.items():
        cert_id = record.get(field, "")
        if not cert_id:
            continue
        if not certificates.exists(cert_id):
            errors[field] = _("There is no certificate %(id)s in the store.", id=cert_id)
        elif certificates.get(cert_id)["kind"] != kind:
            errors[field] = wrong_kind[field](cert_id)
    return errors


def choices(certificates: Certificates) -> dict[str, list[dict]]:
    """The store's certificates each field can choose from, each marked when it has
    expired, for the page's lists."""
    now = datetime.datetime.now(datetime.UTC)
    listed = [
        {**c, "expired": datetime.datetime.fromisoformat(c["not_after"]) < now}
        for c in certificates.list()
    ]
    return {field: [c for c in listed if c["kind"] == kind] for field, kind in KINDS.items()}
