"""The certificates the MQTT client uses for TLS, chosen from the certificate store.

The MQTT client settings name them by id: a CA certificate the broker's certificate
must chain to (none: the system's CAs) and a client certificate with its private key
for a broker that asks for one (none: no client certificate).
"""

from __future__ import annotations

import datetime

from doorctl.core.system.certificates import Certificates

CA_CERTIFICATE, CLIENT_CERTIFICATE = "ca_certificate", "client_certificate"


def chosen(record: dict) -> set[str]:
    """The ids of the certificates the client settings choose (what MQTT uses)."""
    return {record[CA_CERTIFICATE], record[CLIENT_CERTIFICATE]} - {""}


def check(certificates: Certificates, record: dict) -> dict[str, str]:
    """Each chosen certificate must be in the store and of the right kind."""
    errors = {}
    for field, kind in ((CA_CERTIFICATE, "ca"), (CLIENT_CERTIFICATE, "client_server")):
        cert_id = record[field]
        if not cert_id:
            continue
        if not certificates.exists(cert_id):
            errors[field] = f"There is no certificate {cert_id} in the store."
        elif certificates.get(cert_id)["kind"] != kind:
            errors[field] = WRONG_KIND[field].format(cert_id)
    return errors


WRONG_KIND = {
    CA_CERTIFICATE: "{} is a client/server certificate; choose a CA certificate (one "
    "without a key).",
    CLIENT_CERTIFICATE: "{} is a CA certificate without a private key; choose a client/server "
    "certificate.",
}


def choices(certificates: Certificates) -> dict[str, list[dict]]:
    """The store's certificates each field can choose from, for the page's lists."""
    now = datetime.datetime.now(datetime.UTC)
    listed = [
        {**c, "expired": datetime.datetime.fromisoformat(c["not_after"]) < now}
        for c in certificates.list()
    ]
    return {
        CA_CERTIFICATE: [c for c in listed if c["kind"] == "ca"],
        CLIENT_CERTIFICATE: [c for c in listed if c["kind"] == "client_server"],
    }
