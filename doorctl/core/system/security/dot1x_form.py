"""The IEEE 802.1X settings (System > Security > IEEE 802.1x): one form for the page,
the API, the store and OpenAPI, and the rules that need the certificate store.

EAP-TLS: the unit shows a client certificate (with its private key) to the
authentication server; a CA certificate, when chosen, checks the server's certificate
in turn (none: the server is not checked, as the manual says).
"""

from __future__ import annotations

from cryptography import x509
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form
from wtforms.validators import Length

from doorctl.core.fields import NumberChoice, Switch, Text
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.certificates import chosen as store
from doorctl.core.system.certificates.chosen import CA_CERTIFICATE, CLIENT_CERTIFICATE

SECTION = "ieee8021x"


class Ieee8021xSettings(Form):
    """Use IEEE 802.1X, its certificates, EAP identity and EAPOL version."""

    use_ieee8021x = Switch(lazy_gettext("Use IEEE 802.1x"), default=False)
    client_certificate = Text(
        lazy_gettext("Client certificate"),
        default="",
        validators=[Length(0, 64)],
        description="Id of a client/server certificate (with its private key) in the "
        "certificate store that the authentication server checks.",
    )
    ca_certificate = Text(
        lazy_gettext("CA certificate"),
        default="",
        validators=[Length(0, 64)],
        description="Id of a CA certificate in the certificate store that the "
        "authentication server's certificate must chain to; empty: not checked.",
    )
    eap_identity = Text(
        lazy_gettext("EAP identity"),
        default="",
        validators=[Length(0, 128)],
        description="The user identity associated with the client certificate.",
    )
    eapol_version = NumberChoice(
        lazy_gettext("EAPOL version"),
        numbers=(1, 2),
        rule=lazy_gettext("The EAPOL version is 1 or 2."),
        default=1,
    )


def check(certificates: Certificates, record: dict) -> dict[str, str]:
    """The rules across the store: each certificate there and of its kind; when on,
    a client certificate and an identity."""
    errors = _certificate_errors(certificates, record)
    if record["use_ieee8021x"]:
        if not record[CLIENT_CERTIFICATE] and CLIENT_CERTIFICATE not in errors:
            errors[CLIENT_CERTIFICATE] = _("EAP-TLS needs a client certificate: choose one.")
        if not record["eap_identity"].strip():
            errors["eap_identity"] = _(
                "Enter the identity the authentication server knows this unit by."
            )
    return errors


def _certificate_errors(certificates: Certificates, record: dict) -> dict[str, str]:
    errors = store.check(certificates, record, WRONG_KIND)
    ca = record[CA_CERTIFICATE]
    if ca and CA_CERTIFICATE not in errors and not is_ca(certificates, ca):
        errors[CA_CERTIFICATE] = WRONG_KIND[CA_CERTIFICATE](ca)
    return errors


WRONG_KIND = {
    CLIENT_CERTIFICATE: lambda cert_id: _(
        "%(id)s has no private key, so it can't prove who this unit is; choose a "
        "client/server certificate.",
        id=cert_id,
    ),
    CA_CERTIFICATE: lambda cert_id: _(
        "%(id)s is not a CA certificate (it can't sign other certificates); choose "
        "the CA that signed the authentication server's certificate.",
        id=cert_id,
    ),
}


def is_ca(certificates: Certificates, cert_id: str) -> bool:
    """Whether the certificate says it is a CA (basic constraints CA:TRUE)."""
    cert = x509.load_pem_x509_certificate(certificates.pem(cert_id).encode())
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def chosen(record: dict) -> set[str]:
    """The certificate ids 802.1X uses now (they can't be deleted meanwhile)."""
    return store.chosen(record) if record["use_ieee8021x"] else set()
