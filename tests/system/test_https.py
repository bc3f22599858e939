"""HTTPS by default: the served appliance against Python's ssl, openssl, curl, testssl.sh."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import subprocess
import sys
import time
import warnings
from contextlib import suppress
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from support import ROOT_PASSWORD, require, start_served

from doorctl.core.secrets import Sealer
from doorctl.core.store import Store, secret_key
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.network.https import DEVICE_CERTIFICATE, Https

API = "/api/v1/network/http-https"
TESTSSL_CHECKS = ("--protocols", "--std", "--pfs", "--server-preference", "--vulnerable")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One appliance served over HTTP and HTTPS for the tests of this module."""
    server = start_served(tmp_path_factory.mktemp("https") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def address(served) -> tuple[str, int]:
    parts = urlsplit(served.https_url)
    return parts.hostname, parts.port


@pytest.fixture(scope="module")
def device_pem(address, tmp_path_factory) -> str:
    """The certificate the appliance serves, written to a file a client can trust."""
    path = tmp_path_factory.mktemp("ca") / "device.pem"
    path.write_text(ssl.get_server_certificate(address))
    return str(path)


def handshake(address, cafile: str, version: ssl.TLSVersion, name="localhost") -> str:
    """Connect with one TLS version only; the version agreed on."""
    context = ssl.create_default_context(cafile=cafile)
    with warnings.catch_warnings():  # this client offers an old version on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer the old version
    raw = socket.create_connection(address, timeout=5)
    with raw, context.wrap_socket(raw, server_hostname=name) as tls:
        return tls.version()


def test_both_urls_are_printed_and_answer(served, device_pem):
    assert served.url.startswith("http://127.0.0.1:")
    assert served.https_url.startswith("https://127.0.0.1:")
    curl = require("curl", "curl")
    port = urlsplit(served.https_url).port
    result = subprocess.run(
        [
            curl,
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            device_pem,
            f"https://localhost:{port}/setup",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.stdout == "200", result.stderr


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_12_and_13_are_accepted_with_a_verified_name(address, device_pem, version):
    expected = {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}
    assert handshake(address, device_pem, version) == expected[version]
    assert handshake(address, device_pem, version, name="127.0.0.1") == expected[version]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_older_tls_is_refused(address, device_pem, version):
    with pytest.raises(ssl.SSLError):
        handshake(address, device_pem, version)


@pytest.mark.parametrize(
    ("option", "accepted"), [("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)]
)
def test_openssl_s_client(address, option, accepted):
    openssl = require("openssl", "openssl")
    result = subprocess.run(
        [
            openssl,
            "s_client",
            "-connect",
            "{}:{}".format(*address),
            option,
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert ("BEGIN CERTIFICATE" in result.stdout) is accepted, result.stdout + result.stderr


def test_the_certificate_is_ecdsa_p256_for_the_device_names(device_pem):
    cert = x509.load_pem_x509_certificate(Path(device_pem).read_bytes())
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = names.get_values_for_type(x509.DNSName)
    addresses = [str(a) for a in names.get_values_for_type(x509.IPAddress)]
    hostname = socket.gethostname()
    assert {hostname, f"{hostname}.local", "localhost"} <= set(dns)
    assert "127.0.0.1" in addresses
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 398


def test_a_failed_handshake_is_one_log_line_not_a_traceback(tmp_path):
    server = start_served(tmp_path / "data")
    try:
        parts = urlsplit(server.https_url)
        address = (parts.hostname, parts.port)
        cafile = tmp_path / "device.pem"
        cafile.write_text(ssl.get_server_certificate(address))
        with pytest.raises(ssl.SSLError):
            handshake(address, str(cafile), ssl.TLSVersion.TLSv1_1)
        with socket.create_connection(address, timeout=5) as raw, suppress(OSError):
            raw.sendall(b"GET / HTTP/1.1\r\n\r\n")  # plain HTTP to the HTTPS port
            raw.recv(100)
        assert handshake(address, str(cafile), ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    finally:
        server.stop()
    assert "TLS handshake with 127.0.0.1 failed" in server.stderr
    assert "Traceback" not in server.stderr


def tls_status(address, source: str = "127.0.0.1") -> str:
    """A GET over TLS from `source` (the certificate unchecked): its status line, or
    what went wrong before an answer came."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = b"GET /setup HTTP/1.1\r\nHost: doorctl\r\nConnection: close\r\n\r\n"
    try:
        raw = socket.create_connection(address, timeout=5, source_address=(source, 0))
        with raw, context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(request)
            return tls.recv(100).split(b"\r\n")[0].decode() or "closed"
    except (OSError, ssl.SSLError) as error:
        return type(error).__name__


def test_connections_stalled_in_the_handshake_count_toward_the_cap(tmp_path):
    limits = {"DOORCTL_CONNECTIONS_PER_CLIENT": "4", "DOORCTL_REQUEST_TIMEOUT": "30"}
    server = start_served(tmp_path / "data", env=limits)
    parts = urlsplit(server.https_url)
    address = (parts.hostname, parts.port)
    try:
        assert tls_status(address) == "HTTP/1.1 200 OK"
        stalled = [socket.create_connection(address, timeout=5) for _ in range(4)]
        time.sleep(0.3)  # accepted, and each waits for a ClientHello that never comes
        refused = tls_status(address)
        other = tls_status(address, "127.0.0.2")
        for connection in stalled:
            connection.close()
        after = [tls_status(address) for _ in range(20) if not time.sleep(0.1)]
    finally:
        server.stop()
    assert refused != "HTTP/1.1 200 OK", "a fifth connection from the address is refused"
    assert other == "HTTP/1.1 200 OK", "another address is served meanwhile"
    assert after[-1] == "HTTP/1.1 200 OK", "the places come back when the stalled ones close"
    assert "Traceback" not in server.stderr


def test_testssl_finds_nothing_high_or_critical(address, tmp_path):
    testssl = require("testssl", "testssl.sh")
    report = tmp_path / "testssl.json"
    subprocess.run(
        [
            testssl,
            *TESTSSL_CHECKS,
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "off",
            "--jsonfile-pretty",
            str(report),
            "{}:{}".format(*address),
        ],
        capture_output=True,
        timeout=110,
    )
    scan = json.loads(report.read_text())["scanResult"][0]
    findings = [f for part in scan.values() if isinstance(part, list) for f in part]
    assert {f["id"] for f in findings} >= {"TLS1_2", "TLS1_3", "heartbleed", "ROBOT"}
    bad = [f for f in findings if f.get("severity") in ("HIGH", "CRITICAL")]
    assert bad == []


def test_the_device_certificate_is_kept_and_renewed_when_the_names_change(tmp_path):
    store = Store(tmp_path)
    sealer = Sealer(secret_key(tmp_path))
    certificates = Certificates(store, sealer, tmp_path)
    addresses = [ipaddress.ip_address("127.0.0.1")]
    # an injectable address source stands in for the interfaces here; the served test
    # in test_http_https.py changes real ones in a network namespace
    https = Https(certificates, addresses=lambda: list(addresses))
    served = []
    https.on_context(served.append)
    https.ensure_device_certificate("door")
    first = certificates.get(DEVICE_CERTIFICATE)
    https.ensure_device_certificate("door")
    assert certificates.get(DEVICE_CERTIFICATE)["fingerprint"] == first["fingerprint"]
    https.ensure_device_certificate("gate")
    renewed = certificates.get(DEVICE_CERTIFICATE)
    assert "gate.local" in renewed["alternative_names"] and renewed["used_by"] == ["HTTPS"]
    assert https.context().minimum_version == ssl.TLSVersion.TLSv1_2
    assert not https.renew_if_names_changed() and served == []
    addresses.append(ipaddress.ip_address("198.51.100.7"))
    assert https.renew_if_names_changed() and len(served) == 1
    assert "198.51.100.7" in certificates.get(DEVICE_CERTIFICATE)["alternative_names"]
    store.close()


def test_the_chosen_certificate_is_served_at_once_and_cannot_be_deleted(tmp_path):
    server = start_served(tmp_path / "data")
    try:
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        server.call("POST", "/api/v1/setup", body, auth=None)
        spec = {"common_name": "chosen", "alternative_names": ["localhost"]}
        mine = server.call("POST", "/api/v1/certificates", {"id": "mine", "self_signed": spec})
        with pytest.raises(HTTPError) as refused:
            server.call("PUT", API, {"certificate": "nothing"})
        assert "certificate" in json.loads(refused.value.read())["fields"]
        changed = server.call("PUT", API, {"certificate": "mine"})
        assert changed["settings"]["certificate"] == "mine"
        parts = urlsplit(server.https_url)
        served_pem = ssl.get_server_certificate((parts.hostname, parts.port))
        served_cert = x509.load_pem_x509_certificate(served_pem.encode())
        fingerprint = served_cert.fingerprint(hashes.SHA256()).hex(":").upper()
        assert fingerprint == mine["fingerprint"]
        with pytest.raises(HTTPError) as in_use:
            server.call("DELETE", "/api/v1/certificates/mine")
        assert in_use.value.code == 409 and "HTTPS" in json.loads(in_use.value.read())["error"]
    finally:
        server.stop()


def test_a_new_address_renews_the_served_certificate_at_run_time(tmp_path):
    """In a network namespace of the test's own: the device gets a new address while it
    runs, and HTTPS serves a certificate that names it without a restart."""
    unshare = require("unshare", "util-linux")
    require("ip", "iproute2")
    peer = Path(__file__).resolve().parents[1] / "peers" / "netns_device.py"
    result = subprocess.run(
        [unshare, "-rn", sys.executable, str(peer), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert "10.77.0.1" not in seen["before"] and "127.0.0.1" in seen["before"]
    assert "10.77.0.1" in seen["after"]
