"""Real mosquitto brokers for the MQTT tests: generated configs, free ports, a test PKI.

Everything listens on 127.0.0.1 only. Each Broker kills only the process it started.
Under CI (CI=true) a missing mosquitto fails the test; locally it is skipped.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support import free_port, require, start_listening, stop_peer

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(subject, issuer, key, sign_key, ca: bool, hostnames=()) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if hostnames:
        names = [x509.DNSName(h) for h in hostnames]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(sign_key, hashes.SHA256())


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Pki:
    """A test CA, a server certificate for `localhost` only (not 127.0.0.1), and a
    client certificate the CA signed (`client.pem`: certificate then unencrypted key)."""

    ca: Path
    cert: Path
    key: Path
    client: Path
    ca_key: Path | None = None  # to issue more client certificates

    @classmethod
    def make(cls, directory: Path, hostnames=("localhost",)) -> Pki:
        directory.mkdir(parents=True, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("doorctl test CA", "doorctl test CA", ca_key, ca_key, ca=True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(hostnames[0], "doorctl test CA", key, ca_key, ca=False, hostnames=hostnames)
        client_key = ec.generate_private_key(ec.SECP256R1())
        client = _cert("doorctl test client", "doorctl test CA", client_key, ca_key, ca=False)
        pki = cls(
            directory / "ca.pem",
            directory / "server.pem",
            directory / "server.key",
            directory / "client.pem",
            directory / "ca.key",
        )
        pki.ca_key.write_bytes(_key_pem(ca_key))
        pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pki.key.write_bytes(_key_pem(key))
        pki.client.write_bytes(
            client.public_bytes(serialization.Encoding.PEM) + _key_pem(client_key)
        )
        return pki


@dataclass
class Broker:
    """A mosquitto process with a plain TCP listener plus the listeners asked for:
    "ssl", "ws", "wss", and "mtls" (TLS that requires a client certificate the CA signed)."""

    directory: Path
    kinds: tuple[str, ...] = ()
    pki: Pki | None = None
    users: dict[str, str] = field(default_factory=dict)
    acl: str = ""
    tls12_only: bool = False  # OpenSSL's configuration caps the broker at TLS 1.2
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        require(MOSQUITTO, "mosquitto")
        self.directory.mkdir(parents=True, exist_ok=True)
        for kind in ("tcp", *self.kinds):
            self.ports[kind] = free_port()
        self.config = self.directory / "mosquitto.conf"
        self.config.write_text(self._config())

    def _config(self) -> str:
        lines = [
            "per_listener_settings false",
            f"allow_anonymous {'false' if self.users else 'true'}",
            "persistence true",
            f"persistence_location {self.directory}/",
            f"log_dest file {self.directory}/mosquitto.log",
            "log_type all",
            # Debian's 2.0.11 can leave messages queued behind a full inflight window
            # until the client reconnects; no window, no stall.
            "max_inflight_messages 0",
            "max_queued_messages 100000",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to a user who can't read tmp_path
        if self.users:
            lines.append(f"password_file {self._password_file()}")
        if self.acl:
            (self.directory / "acl").write_text(self.acl)
            lines.append(f"acl_file {self.directory / 'acl'}")
        for kind, port in self.ports.items():
            lines += [f"listener {port} 127.0.0.1"]
            lines += ["protocol websockets"] if kind in ("ws", "wss") else []
            if kind in ("ssl", "wss", "mtls"):
                lines += [f"cafile {self.pki.ca}", f"certfile {self.pki.cert}"]
                lines += [f"keyfile {self.pki.key}"]
            if kind == "mtls":
                lines += ["require_certificate true"]
        return "\n".join(lines) + "\n"

    def _password_file(self) -> Path:
        path = self.directory / "passwords"
        for i, (user, password) in enumerate(self.users.items()):
            flags = ["-b", "-c"] if i == 0 else ["-b"]
            subprocess.run([MOSQUITTO_PASSWD, *flags, str(path), user, password], check=True)
        return path

    def _environment(self) -> dict | None:
        """mosquitto 2.0's tls_version is only a minimum: cap it through OpenSSL's config."""
        if not self.tls12_only:
            return None
        config = self.directory / "openssl.cnf"
        config.write_text(
            "openssl_conf = main\n[main]\nssl_conf = ssl\n[ssl]\nsystem_default = tls\n"
            "[tls]\nMaxProtocol = TLSv1.2\n"
        )
        return {**os.environ, "OPENSSL_CONF": str(config)}

    @property
    def port(self) -> int:
        return self.ports["tcp"]

    def start(self) -> Broker:
        self.process = start_listening(
            [MOSQUITTO, "-c", str(self.config)],
            [self.port],
            "mosquitto",
            lambda process: process.stderr.read(),
            stderr=subprocess.PIPE,
            env=self._environment(),
        )
        return self

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence file and exits."""
        stop_peer(self.process)
        self.process = None


class AlpnProxy:
    """A TLS front that speaks ALPN (mosquitto does not) and forwards to a plain port."""

    def __init__(self, pki: Pki, target_port: int, alpn: str = "mqtt"):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki.cert, pki.key)
        self.context.set_alpn_protocols([alpn])
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            conn.close()
            return
        threading.Thread(target=_pump, args=(upstream, tls), daemon=True).start()
        _pump(tls, upstream)

    def close(self) -> None:
        self.server.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            with contextlib.suppress(OSError):
                s.close()
