"""HTTPS (System > Network > HTTP and HTTPS): the device certificate and its TLS context.

At first start the device makes its own server certificate (ECDSA P-256, self-signed)
for its hostname, `<hostname>.local` and its addresses, keeps it in the certificate
store, and makes a new one when those names change. TLS 1.2 and 1.3 only, with
forward-secret AEAD cipher suites.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import logging
import os
import secrets
import socket
import ssl
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from gevent import ssl as gevent_ssl
from wtforms import Form, StringField
from wtforms.validators import Length

from doorctl.core.settings import Settings
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.certificates.x509s import alternative_names, self_signed
from doorctl.core.system.handshakes import HandshakeOffHub

log = logging.getLogger(__name__)
SECTION = "https"
DEVICE_CERTIFICATE = "device-https"
# Browsers refuse server certificates valid longer than 398 days; a new one is made at
# start when less than RENEW_DAYS are left.
VALID_DAYS = 397
RENEW_DAYS = 30
# TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!SHA1:!SHA256:!SHA384"
SIOCGIFADDR = 0x8915


class HttpsSettings(Form):
    """HTTP and HTTPS: the certificate HTTPS serves, chosen from the certificate store."""

    certificate = StringField("Certificate", default=DEVICE_CERTIFICATE, validators=[Length(1, 64)])


class Https:
    """Which certificate HTTPS serves, and the TLS context made from it."""

    def __init__(self, certificates: Certificates, settings: Settings):
        self.certificates = certificates
        self._serving: list[Callable[[ssl.SSLContext], None]] = []
        settings.register(SECTION, HttpsSettings)
        settings.check(SECTION, self._check)
        settings.on_change(SECTION, self.apply)
        self.certificate_id = settings.get(SECTION)["certificate"]
        certificates.used_by("HTTPS", lambda: {self.certificate_id})

    def on_context(self, serve: Callable[[ssl.SSLContext], None]) -> None:
        """Call `serve(context)` when HTTPS is to serve another certificate."""
        self._serving.append(serve)

    def apply(self, record: dict) -> None:
        """Serve the chosen certificate from the next connection on, without a restart."""
        self.certificate_id = record["certificate"]
        context = self.context()
        for serve in self._serving:
            serve(context)

    def _check(self, record: dict) -> dict[str, str]:
        """The certificate must be in the store, with its private key."""
        cert_id = record["certificate"]
        if not self.certificates.exists(cert_id):
            return {"certificate": f"There is no certificate {cert_id} in the store."}
        if not self.certificates.get(cert_id)["private_key"]:
            return {"certificate": "Choose a client/server certificate: a CA one has no key."}
        return {}

    def ensure_device_certificate(self, hostname: str | None = None) -> None:
        """Make the device certificate, or a new one when the names it is for changed."""
        hostname = hostname or socket.gethostname()
        names = device_names(hostname)
        store = self.certificates
        if store.exists(DEVICE_CERTIFICATE) and _still_good(store, names):
            return
        key, cert = self_signed(hostname, names, VALID_DAYS)
        store.put(DEVICE_CERTIFICATE, key, [cert])
        log.info("HTTPS certificate made for %s", ", ".join(names))

    def context(self) -> ssl.SSLContext:
        """A server TLS context with the chosen certificate (the device's own if the
        chosen one is gone) and its key."""
        chosen = self.certificate_id
        if not self.certificates.exists(chosen):
            chosen = DEVICE_CERTIFICATE
        return server_context(self.certificates, chosen)


def _still_good(store: Certificates, names: list[str]) -> bool:
    """The stored device certificate is for these names and not about to expire."""
    cert = store.chain(DEVICE_CERTIFICATE)[0]
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return sorted(alternative_names(cert)) == sorted(names) and left.days >= RENEW_DAYS


def server_context(certificates: Certificates, cert_id: str) -> ssl.SSLContext:
    """TLS 1.2 and 1.3 only, modern suites, the certificate's chain and key loaded."""
    context = gevent_ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.sslsocket_class = HandshakeOffHub  # a handshake must not stall reader polling
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_SINGLE_ECDH_USE
    _load_chain(context, certificates, cert_id)
    return context


def _load_chain(context: ssl.SSLContext, certificates: Certificates, cert_id: str) -> None:
    """Load chain and key through files that live only for the call; the key in them is
    encrypted with a one-time password, so it is never on disk in clear."""
    password = secrets.token_bytes(32).hex()
    encryption = serialization.BestAvailableEncryption(password.encode())
    key = certificates.private_key(cert_id).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    chain = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in certificates.chain(cert_id)
    )
    with tempfile.TemporaryDirectory(dir=certificates.keys_dir) as scratch:
        chain_path, key_path = Path(scratch, "chain.pem"), Path(scratch, "key.pem")
        chain_path.write_bytes(chain)
        _private_write(key_path, key)
        context.load_cert_chain(chain_path, key_path, password)


def _private_write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def device_names(hostname: str) -> list[str]:
    """The names a browser may use for the device: hostname, .local, addresses."""
    names = [hostname, f"{hostname}.local", "localhost"]
    return list(dict.fromkeys(names + [str(a) for a in device_addresses()]))


def device_addresses() -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The IPv4 and IPv6 addresses of the device's interfaces (Linux), loopback too."""
    found = []
    for _, name in socket.if_nameindex():
        with contextlib.suppress(OSError):
            found.append(ipaddress.IPv4Address(_ipv4_of(name)))
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            address = ipaddress.IPv6Address(int(line.split()[0], 16))
            if not address.is_link_local:  # a browser can't name it without its zone
                found.append(address)
    return sorted(set(found), key=lambda a: (a.version, int(a)))


def _ipv4_of(interface: str) -> bytes:
    """The interface's IPv4 address, raw (SIOCGIFADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("256s", interface.encode()[:15])
        return fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)[20:24]
