"""HTTPS (System > Network > HTTP and HTTPS): the device certificate and its TLS context.

At first start the device makes its own server certificate (ECDSA P-256, self-signed)
for its hostname, `<hostname>.local` and its addresses, keeps it in the certificate
store, and makes a new one when those names change (checked every minute while it
runs). TLS 1.2 and 1.3 only, with forward-secret AEAD cipher suites.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import logging
import socket
import ssl
import struct
from collections.abc import Callable
from pathlib import Path

import gevent
from gevent import ssl as gevent_ssl

from doorctl.core.system.certificates import Certificates
from doorctl.core.system.certificates.x509s import alternative_names, self_signed
from doorctl.core.system.network.handshakes import HandshakeOffHub

log = logging.getLogger(__name__)
DEVICE_CERTIFICATE = "device-https"
# Browsers refuse server certificates valid longer than 398 days; a new one is made at
# start when less than RENEW_DAYS are left.
VALID_DAYS = 397
RENEW_DAYS = 30
# TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!SHA1:!SHA256:!SHA384"
SIOCGIFADDR = 0x8915
# How often the device's names and addresses are compared with the certificate's.
NAMES_CHECK_SECONDS = 60.0


class Https:
    """The certificate HTTPS serves, its TLS context, and the device certificate kept
    for the names the device has now."""

    def __init__(
        self,
        certificates: Certificates,
        addresses: Callable[[], list] | None = None,
        check_every: float = NAMES_CHECK_SECONDS,
    ):
        self.certificates = certificates
        self.certificate_id = DEVICE_CERTIFICATE
        # the address source is injectable so a test can give the device new addresses
        self.addresses = addresses or device_addresses
        self.check_every = check_every
        self.hostname: str | None = None  # the system's own, unless a test names one
        self._serving: list[Callable[[ssl.SSLContext], None]] = []
        self._names: list[str] = []
        self._watcher: gevent.Greenlet | None = None
        certificates.used_by("HTTPS", lambda: {self.certificate_id})

    def on_context(self, serve: Callable[[ssl.SSLContext], None]) -> None:
        """Call `serve(context)` when HTTPS is to serve another certificate."""
        self._serving.append(serve)

    def serve_certificate(self, cert_id: str) -> None:
        """Serve this certificate from the next connection on, without a restart."""
        self.certificate_id = cert_id
        context = self.context()
        for serve in self._serving:
            serve(context)

    def names(self, hostname: str | None = None) -> list[str]:
        """The names a browser may use for the device now."""
        return device_names(hostname or self.hostname or socket.gethostname(), self.addresses())

    def ensure_device_certificate(self, hostname: str | None = None) -> bool:
        """Make the device certificate, or a new one when the names it is for changed;
        True when a new one was made."""
        self.hostname = hostname or self.hostname
        hostname = self.hostname or socket.gethostname()
        names = self._names = self.names(hostname)
        store = self.certificates
        if store.exists(DEVICE_CERTIFICATE) and _still_good(store, names):
            return False
        key, cert = self_signed(hostname, names, VALID_DAYS)
        store.put(DEVICE_CERTIFICATE, key, [cert])
        log.info("HTTPS certificate made for %s", ", ".join(names))
        return True

    def renew_if_names_changed(self) -> bool:
        """A new device certificate when the device's names or addresses changed, served
        at once if it is the one in use; True when one was made."""
        if self.names() == self._names or not self.ensure_device_certificate():
            return False
        if self.certificate_id == DEVICE_CERTIFICATE:
            self.serve_certificate(DEVICE_CERTIFICATE)
        return True

    def start(self) -> None:
        """Watch the device's names: a cheap comparison every `check_every` seconds."""
        if not self._names:
            self._names = self.names()
        self._watcher = gevent.spawn(self._watch)

    def stop(self) -> None:
        """Stop watching."""
        if self._watcher is not None:
            self._watcher.kill()
            self._watcher = None

    def _watch(self) -> None:
        while True:
            gevent.sleep(self.check_every)
            try:
                self.renew_if_names_changed()
            except Exception:
                log.exception("renewing the HTTPS certificate failed")

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
    certificates.load_chain(context, cert_id)
    return context


def device_names(hostname: str, addresses: list | None = None) -> list[str]:
    """The names a browser may use for the device: hostname, .local, addresses."""
    names = [hostname, f"{hostname}.local", "localhost"]
    found = device_addresses() if addresses is None else addresses
    return list(dict.fromkeys(names + [str(a) for a in found]))


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
