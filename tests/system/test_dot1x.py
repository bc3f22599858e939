"""System > Security > IEEE 802.1x without NetworkManager: each bad value refused per
field (API and page) with nothing changed, the certificates in use kept from deletion,
every profile doorctl writes accepted by NetworkManager's own `nmcli --offline`, and
the key files doorctl writes for it readable by nobody else."""

from __future__ import annotations

import stat
import subprocess

import pytest
from support import csrf_token, require

from doorctl.core.system.security.dot1x import profile, write_files

API = "/api/v1/ieee8021x"
GOOD = {
    "use_ieee8021x": True,
    "client_certificate": "door",
    "ca_certificate": "radius-ca",
    "eap_identity": "door-1",
    "eapol_version": 2,
}


@pytest.fixture
def stored(admin_api, pki):
    """The store holds the unit's client certificate, the RADIUS CA and a server
    certificate that is not a CA (imported with its key)."""
    for cert_id, pem in (
        ("door", pki.client.read_text()),
        ("radius-ca", pki.ca.read_text()),
        ("server", pki.cert.read_text() + pki.key.read_text()),
    ):
        response = admin_api.post("/api/v1/certificates", json={"id": cert_id, "data": pem})
        assert response.status_code == 201, response.json
    return admin_api


def test_good_settings_are_stored_and_read_back(stored):
    response = stored.put(API, json=GOOD)
    assert response.status_code == 200, response.json
    assert stored.get(API).json == GOOD
    status = stored.get(f"{API}/status").json
    assert status["state"] == "unknown"
    assert "the settings are stored, and applied when it runs" in status["detail"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"client_certificate": "nowhere"}, "client_certificate", "no certificate nowhere"),
        ({"ca_certificate": "nowhere"}, "ca_certificate", "no certificate nowhere"),
        ({"client_certificate": "radius-ca"}, "client_certificate", "no private key"),
        ({"client_certificate": ""}, "client_certificate", "needs a client certificate"),
        ({"ca_certificate": "server"}, "ca_certificate", "not a CA certificate"),
        ({"ca_certificate": "door"}, "ca_certificate", "not a CA certificate"),
        ({"eap_identity": "  "}, "eap_identity", "identity"),
        ({"eapol_version": 3}, "eapol_version", "1 or 2"),
        ({"eapol_version": "2"}, "eapol_version", "Must be a number"),
        ({"use_ieee8021x": "yes"}, "use_ieee8021x", "true or false"),
    ],
)
def test_each_bad_value_is_refused_with_its_field_error_and_nothing_changes(
    stored, changes, field, words
):
    stored.put(API, json={**GOOD, "use_ieee8021x": False})
    before = stored.get(API).json
    response = stored.put(API, json={**GOOD, **changes})
    assert response.status_code == 400, response.json
    assert words in response.json["fields"][field]
    assert stored.get(API).json == before


def test_off_needs_neither_identity_nor_certificate(stored):
    off = {"use_ieee8021x": False, "client_certificate": "", "eap_identity": ""}
    assert stored.put(API, json=off).status_code == 200


def test_the_page_marks_the_bad_field_and_keeps_the_stored_settings(client, logged_in, stored):
    stored.put(API, json=GOOD)
    page = client.get("/security")
    assert b'id="ieee8021x"' in page.data and b"door-1" in page.data
    form = {"csrf_token": csrf_token(client, "/security"), "use_ieee8021x": "y"}
    form |= {"client_certificate": ""}
    form |= {"ca_certificate": "radius-ca", "eap_identity": "", "eapol_version": "1"}
    answer = client.post("/security/ieee8021x", data=form)
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "EAP-TLS needs a client certificate" in text
    assert "Enter the identity" in text
    assert stored.get(API).json == GOOD
    form |= {"client_certificate": "door", "eap_identity": "door-2"}
    assert client.post("/security/ieee8021x", data=form).status_code == 303
    assert stored.get(API).json == {**GOOD, "eap_identity": "door-2", "eapol_version": 1}


def test_a_certificate_802_1x_uses_cannot_be_deleted(stored):
    stored.put(API, json=GOOD)
    response = stored.delete("/api/v1/certificates/door")
    assert response.status_code == 409, response.json
    assert "IEEE 802.1X" in response.json["error"]


@pytest.mark.parametrize("ca", ["radius-ca", ""])
def test_every_profile_doorctl_writes_is_one_networkmanager_accepts(doorctl, stored, tmp_path, ca):
    """nmcli --offline reads the files and builds the keyfile from doorctl's properties."""
    nmcli = require("nmcli", "nmcli (network-manager)")
    record = {**GOOD, "ca_certificate": ca}
    files = write_files(doorctl.certificates, record, tmp_path / "ieee8021x")
    properties = profile(record, files)
    pairs = [word for item in properties.items() for word in item]
    command = [nmcli, "--offline", "connection", "add", "type", "ethernet"]
    done = subprocess.run(
        [*command, "con-name", "doorctl", "ifname", "eth0", *pairs],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("[802-1x]")[1].split("\n[")[0]
    assert "eap=tls;" in section and "identity=door-1" in section
    assert f"client-cert={files.client_cert}" in section
    assert f"private-key={files.private_key}" in section
    assert ("ca-cert=" in section) == bool(ca)
    assert stat.S_IMODE((tmp_path / "ieee8021x").stat().st_mode) == 0o700
    for path in (tmp_path / "ieee8021x").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_off_writes_no_802_1x_properties():
    assert profile({**GOOD, "use_ieee8021x": False}, None) == {}
