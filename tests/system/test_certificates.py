"""The certificate store: self-signed, PEM/DER/PKCS#12 imports made by openssl, deletion."""

from __future__ import annotations

import base64
import io
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from support import csrf_token, require

API = "/api/v1/certificates"


@pytest.fixture
def openssl(tmp_path):
    """Run openssl in a scratch directory; returns the path of a file it made."""
    program = require("openssl", "openssl")

    def run(*args: str) -> None:
        subprocess.run([program, *args], cwd=tmp_path, check=True, capture_output=True)

    return run


@pytest.fixture
def rsa_pair(openssl, tmp_path) -> Path:
    """An RSA 2048 key encrypted with 'pw' and its self-signed certificate, in tmp_path."""
    openssl(
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-aes-256-cbc",
        "-pass",
        "pass:pw",
        "-out",
        "key.pem",
    )
    openssl(
        "req",
        "-x509",
        "-key",
        "key.pem",
        "-passin",
        "pass:pw",
        "-subj",
        "/CN=rsa.example",
        "-addext",
        "subjectAltName=DNS:rsa.example,IP:10.0.0.9",
        "-out",
        "cert.pem",
    )
    return tmp_path


def fingerprint(openssl_path: str, pem: Path) -> str:
    out = subprocess.run(
        [openssl_path, "x509", "-in", str(pem), "-noout", "-fingerprint", "-sha256"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().split("=", 1)[1]


def test_self_signed_is_listed_with_its_details_and_a_sealed_key(
    admin_api, doorctl, data_dir, tmp_path
):
    spec = {"common_name": "door", "alternative_names": ["door.local", "192.0.2.7"], "days": 30}
    response = admin_api.post(API, json={"id": "door-https", "self_signed": spec})
    assert response.status_code == 201, response.json
    record = response.json
    assert record["subject"] == record["issuer"] == "CN=door"
    assert record["alternative_names"] == ["door.local", "192.0.2.7"]
    assert (record["kind"], record["key_type"]) == ("client_server", "ECDSA secp256r1")
    key = data_dir / "certificates" / "door-https.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in key.read_bytes()
    pem = tmp_path / "cert.pem"
    pem.write_bytes(doorctl.certificates.chain("door-https")[0].public_bytes(Encoding.PEM))
    assert record["fingerprint"] == fingerprint(require("openssl", "openssl"), pem)
    assert [c["id"] for c in admin_api.get(API).json] == ["door-https"]


def test_pem_with_an_encrypted_key_needs_its_password(admin_api, rsa_pair):
    data = (rsa_pair / "cert.pem").read_text() + (rsa_pair / "key.pem").read_text()
    wrong = admin_api.post(API, json={"id": "rsa", "data": data, "password": "nope"})
    assert wrong.status_code == 400 and "password" in wrong.json["fields"]
    right = admin_api.post(API, json={"id": "rsa", "data": data, "password": "pw"})
    assert right.status_code == 201, right.json
    assert right.json["key_type"] == "RSA 2048"
    assert right.json["alternative_names"] == ["rsa.example", "10.0.0.9"]


def test_der_is_a_ca_certificate_and_pkcs12_brings_its_key(admin_api, openssl, rsa_pair):
    openssl("x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der")
    der = base64.b64encode((rsa_pair / "cert.der").read_bytes()).decode()
    ca = admin_api.post(API, json={"id": "ca", "data": der})
    assert (ca.status_code, ca.json["kind"], ca.json["private_key"]) == (201, "ca", False)
    openssl(
        "pkcs12",
        "-export",
        "-in",
        "cert.pem",
        "-inkey",
        "key.pem",
        "-passin",
        "pass:pw",
        "-passout",
        "pass:p12",
        "-out",
        "both.p12",
    )
    p12 = base64.b64encode((rsa_pair / "both.p12").read_bytes()).decode()
    assert admin_api.post(API, json={"id": "p", "data": p12}).status_code == 400
    both = admin_api.post(API, json={"id": "p", "data": p12, "password": "p12"})
    assert (both.status_code, both.json["kind"]) == (201, "client_server")
    assert both.json["fingerprint"] == ca.json["fingerprint"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "a b", "self_signed": {"common_name": "x"}}, "id"),
        ({"id": "a", "data": "not a certificate"}, "data"),
        (
            {"id": "a", "data": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
            "data",
        ),
        ({"id": "a", "self_signed": {"common_name": "x", "days": 0}}, "days"),
        (
            {"id": "a", "self_signed": {"common_name": "x", "alternative_names": ["a b"]}},
            "alternative_names",
        ),
        ({"id": "a"}, "data"),
        (
            {"id": "a", "self_signed": {"common_name": "x", "alternative_names": ["tür.local"]}},
            "alternative_names",
        ),
    ],
)
def test_bad_bodies_name_their_field(admin_api, body, field):
    response = admin_api.post(API, json=body)
    assert response.status_code == 400
    assert field in response.json["fields"], response.json


def test_a_key_of_another_certificate_is_refused(admin_api, openssl, rsa_pair):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem")
    data = (rsa_pair / "cert.pem").read_text() + (rsa_pair / "ec.pem").read_text()
    response = admin_api.post(API, json={"id": "mixed", "data": data})
    assert response.status_code == 400 and "does not belong" in response.json["fields"]["data"]


def test_delete_is_refused_while_in_use_naming_the_user(admin_api, doorctl, data_dir):
    admin_api.post(API, json={"id": "web", "self_signed": {"common_name": "door"}})
    doorctl.certificates.used_by("HTTPS", lambda: {"web"})
    refused = admin_api.delete(f"{API}/web")
    assert refused.status_code == 409 and "HTTPS" in refused.json["error"]
    doorctl.certificates.used_by("HTTPS", lambda: set())
    assert admin_api.delete(f"{API}/web").status_code == 204
    assert not (data_dir / "certificates" / "web.key").exists()
    assert admin_api.get(f"{API}/web").status_code == 404


def test_the_page_lists_filters_and_imports_a_file(logged_in, rsa_pair):
    token = csrf_token(logged_in)
    upload = (io.BytesIO((rsa_pair / "cert.pem").read_bytes()), "ca.pem")
    form = {"csrf_token": token, "source": "import", "id": "upload-ca", "file": upload}
    response = logged_in.post("/certificates", data=form, content_type="multipart/form-data")
    assert response.status_code == 303
    form = {
        "csrf_token": token,
        "source": "self_signed",
        "id": "own",
        "common_name": "x",
        "days": "0",
    }
    refused = logged_in.post("/certificates", data=form)
    assert refused.status_code == 422 and "days" in refused.get_data(as_text=True)
    page = logged_in.get("/certificates?filter=rsa.example").get_data(as_text=True)
    assert "upload-ca" in page and "CN=rsa.example" in page
    assert "upload-ca" not in logged_in.get("/certificates?filter=zzz").get_data(as_text=True)


def test_a_signing_request_signed_by_a_ca_replaces_the_certificate(admin_api, openssl, tmp_path):
    admin_api.post(API, json={"id": "web", "self_signed": {"common_name": "door"}})
    body = {"common_name": "door.example.com", "alternative_names": ["door.example.com"]}
    request = admin_api.post(f"{API}/web/signing-request", json=body)
    assert request.status_code == 200, request.json
    (tmp_path / "web.csr").write_text(request.json["pem"])
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-subj",
        "/CN=Site CA",
        "-out",
        "ca.pem",
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "web.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-copy_extensions",
        "copy",
        "-days",
        "30",
        "-out",
        "web.pem",
    )
    signed = admin_api.put(f"{API}/web", json={"data": (tmp_path / "web.pem").read_text()})
    assert signed.status_code == 200, signed.json
    assert (signed.json["issuer"], signed.json["subject"]) == ("CN=Site CA", "CN=door.example.com")
    assert signed.json["alternative_names"] == ["door.example.com"]
    other = admin_api.put(f"{API}/web", json={"data": (tmp_path / "ca.pem").read_text()})
    assert other.status_code == 400 and "does not belong" in other.json["fields"]["data"]
    ca = admin_api.post(API, json={"id": "ca", "data": (tmp_path / "ca.pem").read_text()})
    assert ca.json["kind"] == "ca"
    assert admin_api.post(f"{API}/ca/signing-request", json=body).status_code == 400
