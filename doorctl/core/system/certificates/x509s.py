"""The X.509 work of the certificate store: read imports, describe, create self-signed."""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.core.errors import Invalid

MAX_DAYS = 3650
FORMATS = lazy_gettext("PEM text, or DER or PKCS#12 as base64")


def self_signed(common_name: str, names: list[str], days: int):
    """An ECDSA P-256 key and a certificate it signs for `names` (DNS names or addresses)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([general_name(n) for n in names]), critical=False
        )
    return key, builder.sign(key, hashes.SHA256())


def signing_request(key, common_name: str, names: list[str]) -> str:
    """A certificate signing request (PEM) for the key, to have a CA sign it."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([general_name(n) for n in names]), critical=False
        )
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def general_name(name: str) -> x509.GeneralName:
    """An alternative name: an IP address when it is one, else a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def read(data: str, password: str) -> tuple[object | None, list[x509.Certificate]]:
    """The key (or None) and certificates of an import; raise Invalid naming the field."""
    secret = password.encode() or None
    if "-----BEGIN" in data:
        return _pem(data.encode(), secret)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            {"data": _("Not a certificate: give %(formats)s.", formats=FORMATS)}
        ) from None
    try:
        return None, [x509.load_der_x509_certificate(raw)]
    except ValueError:
        return _pkcs12(raw, secret)


def _pem(raw: bytes, secret: bytes | None):
    """Certificates and an optional (possibly encrypted) private key in PEM."""
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError:
        raise Invalid({"data": _("No PEM certificate: paste each block whole.")}) from None
    if b"PRIVATE KEY-----" not in raw:
        return None, certs
    return _key(lambda: serialization.load_pem_private_key(raw, secret)), certs


def _pkcs12(raw: bytes, secret: bytes | None):
    """The key and certificates of a PKCS#12 file."""
    loaded = _key(lambda: pkcs12.load_key_and_certificates(raw, secret))
    key, cert, extra = loaded
    if cert is None:
        raise Invalid({"data": _("The PKCS#12 file holds no certificate.")})
    return key, [cert, *extra]


def _key(load):
    """Run a key loader; a wrong or missing password is the password field's error."""
    try:
        return load()
    except (ValueError, TypeError) as error:
        text = str(error).lower()
        if "password" in text or "decrypt" in text or "encrypted" in text:
            raise Invalid({"password": _("The password does not open the private key.")}) from None
        raise Invalid(
            {"data": _("Not a certificate or key: give %(formats)s.", formats=FORMATS)}
        ) from None


def check_pair(key, cert: x509.Certificate) -> None:
    """Raise Invalid unless the key belongs to the certificate."""
    mine = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, mine) != cert.public_key().public_bytes(
        encoding, mine
    ):
        raise Invalid({"data": _("The private key does not belong to the certificate.")})


def describe(cert: x509.Certificate) -> dict:
    """What the list shows of a certificate."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "alternative_names": alternative_names(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "key_type": key_type(cert.public_key()),
        "fingerprint": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    }


def alternative_names(cert: x509.Certificate) -> list[str]:
    """The DNS names and addresses the certificate is for."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(name.value) for name in ext if isinstance(name, x509.DNSName | x509.IPAddress)]


def key_type(public_key) -> str:
    """The key's algorithm and size in the words the list uses."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA {public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"ECDSA {public_key.curve.name}"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448"
    return "other"


def pem_chain(certs: list[x509.Certificate]) -> str:
    """Certificates as one PEM text, the certificate first and its chain after it."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def key_pem(key) -> bytes:
    """A private key as unencrypted PKCS#8 PEM (only ever sealed before it is written)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
