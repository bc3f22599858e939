"""The certificates the MQTT client uses for TLS, chosen from the certificate store.

The MQTT client settings name them by id: a CA certificate the broker's certificate
must chain to (none: the system's CAs) and a client certificate with its private key
for a broker that asks for one (none: no client certificate).
"""

from __future__ import annotations

from doorctl.core.system.certificates import Certificates
from doorctl.core.system.certificates.chosen import (  # noqa: F401  (what MQTT uses)
    CA_CERTIFICATE,
    CLIENT_CERTIFICATE,
    choices,
    chosen,
)
from doorctl.core.system.certificates.chosen import check as check_chosen

WRONG_KIND = {
    CA_CERTIFICATE: "{} is a client/server certificate; choose a CA certificate (one "
    "without a key).".format,
    CLIENT_CERTIFICATE: "{} is a CA certificate without a private key; choose a client/server "
    "certificate.".format,
}


def check(certificates: Certificates, record: dict) -> dict[str, str]:
    """Each chosen certificate must be in the store and of the right kind."""
    return check_chosen(certificates, record, WRONG_KIND)
