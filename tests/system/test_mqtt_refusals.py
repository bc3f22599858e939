"""A broker that turns doorctl away is named with its reason: a client certificate it
requires or does not trust, an ALPN protocol it refuses, a connection it closes.

Real peers: mosquitto with `require_certificate`, in TLS 1.3 (the refusal arrives
after the handshake) and capped at TLS 1.2 (the handshake itself fails), and
`openssl s_server` as an ALPN front that refuses unknown protocols.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
import threading
import time

import pytest
from brokers import Broker, Pki, _cert, _key_pem, free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mqtt_helpers import wait_until

from doorctl.core.system.mqtt import refusal

pytestmark = pytest.mark.peer

TLS_VERSIONS = ["1.3", "1.2"]


@pytest.fixture(scope="module", params=TLS_VERSIONS)
def strict_broker(request, tmp_path_factory, pki):
    """A broker whose TLS listener requires a client certificate signed by its CA."""
    directory = tmp_path_factory.mktemp(f"strict{request.param}")
    tls12_only = request.param == "1.2"
    b = Broker(directory, ("mtls",), pki, tls12_only=tls12_only)
    b.start()
    b.tls = request.param
    yield b
    b.stop()


def configure(api, **settings) -> None:
    response = api.put("/api/v1/mqtt/client", json=settings)
    assert response.status_code == 200, response.json


def choose(api, ca: str, client: str = "", client_id: str = "door-client") -> None:
    """Put the broker's CA (and a client certificate) in the certificate store and have
    the MQTT client use them."""
    for cert_id, pem in (("broker-ca", ca), (client_id, client)):
        if pem and api.get(f"/api/v1/certificates/{cert_id}").status_code == 404:
            response = api.post("/api/v1/certificates", json={"id": cert_id, "data": pem})
            assert response.status_code == 201, response.json
    configure(api, ca_certificate="broker-ca", client_certificate=client_id if client else "")


def error_reason(api) -> str:
    status = wait_until(
        lambda: (s := api.get("/api/v1/mqtt/status").json)["state"] == "error" and s,
        timeout=15,
        what="error",
    )
    return status["reason"]


def speaks_tls13(port: int, pki: Pki) -> bool:
    """True when the listener completes a TLS 1.3 handshake (the cap really holds)."""
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        with socket.create_connection(("localhost", port), 5) as raw:
            context.wrap_socket(raw, server_hostname="localhost").close()
    except ssl.SSLError:
        return False
    return True


def test_a_broker_requiring_a_client_certificate_says_so(admin_api, strict_broker, pki):
    """TLS 1.3 used to read "The connection was lost: The connection was lost."."""
    assert speaks_tls13(strict_broker.ports["mtls"], pki) is (strict_broker.tls == "1.3")
    choose(admin_api, pki.ca.read_text())
    configure(
        admin_api,
        connect=True,
        host="localhost",
        protocol="ssl",
        port=strict_broker.ports["mtls"],
    )
    expected = {"1.3": refusal.CERTIFICATE_REQUIRED, "1.2": refusal.HANDSHAKE_REFUSED}
    assert error_reason(admin_api) == expected[strict_broker.tls]


def stranger_certificate() -> str:
    """A client certificate and key issued by a CA the broker does not know."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    cert = _cert("door 1", "another site's CA", key, ca_key, ca=False)
    return cert.public_bytes(serialization.Encoding.PEM).decode() + _key_pem(key).decode()


def expired_certificate(pki: Pki) -> str:
    """A client certificate and key the broker's CA issued, expired yesterday."""
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    start, end = now - 30 * day, now - day
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "door 1")])
    issuer = x509.load_pem_x509_certificate(pki.ca.read_bytes()).subject
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode() + _key_pem(key).decode()


def test_a_client_certificate_from_the_ca_connects_and_an_expired_one_is_named(
    admin_api, strict_broker, pki
):
    choose(admin_api, pki.ca.read_text(), pki.client.read_text())
    configure(
        admin_api,
        connect=True,
        host="localhost",
        protocol="ssl",
        port=strict_broker.ports["mtls"],
    )
    wait_until(
        lambda: admin_api.get("/api/v1/mqtt/status").json["state"] == "connected",
        what="connected with the client certificate",
    )
    choose(admin_api, pki.ca.read_text(), expired_certificate(pki), "door-expired")
    assert error_reason(admin_api) == refusal.ALERTS["certificate expired"]


def test_a_client_certificate_from_another_ca_is_named(admin_api, strict_broker, pki):
    choose(admin_api, pki.ca.read_text(), stranger_certificate())
    configure(
        admin_api,
        connect=True,
        host="localhost",
        protocol="ssl",
        port=strict_broker.ports["mtls"],
    )
    assert error_reason(admin_api) == refusal.ALERTS["unknown ca"]


@pytest.fixture
def alpn_front(pki):
    """`openssl s_server` speaking only the ALPN protocol `mqtt`: others get its alert."""
    port = free_port()
    process = subprocess.Popen(
        ["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-alpn", "mqtt"]
        + ["-cert", str(pki.cert), "-key", str(pki.key)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(10)


def test_a_refused_alpn_protocol_is_named(admin_api, alpn_front, pki):
    """Instead of OpenSSL's "tlsv1 alert no application protocol"."""
    choose(admin_api, pki.ca.read_text())
    configure(
        admin_api,
        connect=True,
        host="localhost",
        protocol="ssl",
        port=alpn_front,
        alpn="x-amzn-mqtt-ca",
    )
    assert error_reason(admin_api) == (
        "The broker refused the ALPN protocol 'x-amzn-mqtt-ca' named in the settings; "
        "check the name your broker provider gives."
    )


def closing_broker(listener: socket.socket) -> None:
    """Accept connections and close them without a word, as a broker at its limit does."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.close()


def test_a_broker_closing_before_accepting_is_one_sentence(admin_api):
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=closing_broker, args=(listener,), daemon=True).start()
    try:
        configure(admin_api, connect=True, host="127.0.0.1", port=listener.getsockname()[1])
        assert error_reason(admin_api) == "The broker closed the connection before accepting it."
    finally:
        listener.close()


def test_a_connection_lost_later_is_one_sentence(admin_api, tmp_path):
    broker = Broker(tmp_path / "broker").start()
    try:
        configure(admin_api, connect=True, host="127.0.0.1", port=broker.port)
        wait_until(lambda: admin_api.get("/api/v1/mqtt/status").json["state"] == "connected")
    finally:
        broker.stop()
    assert error_reason(admin_api) == "The connection was lost."
