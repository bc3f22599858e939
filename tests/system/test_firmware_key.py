"""System > Security > Custom-signed firmware certificate: an administrator installs the
owner's Ed25519 public key, sees its fingerprint and removes it; bad input is refused
field by field, and a private key pasted by mistake is neither stored nor shown."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from support import csrf_token

from doorctl.core.maintenance.keys import OWNER_KEY_FILE, fingerprint, key_id, trusted_keys
from doorctl.core.system.security.firmware_key import TOPIC

API = "/api/v1/firmware/owner-key"
PUBLIC = serialization.PublicFormat.SubjectPublicKeyInfo
PEM = serialization.Encoding.PEM


@pytest.fixture
def owner():
    """An owner's Ed25519 key pair: the private key and the public key's PEM."""
    private = ed25519.Ed25519PrivateKey.generate()
    return private, private.public_key().public_bytes(PEM, PUBLIC).decode()


@pytest.fixture
def events(doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, TOPIC)
    return seen


def private_pem(private) -> str:
    return private.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def owners(doorctl) -> list[str]:
    """The owner keys the unit trusts for firmware now."""
    ids = trusted_keys(doorctl.data_dir).ids()
    return [identity for identity, source in ids.items() if source == "owner"]


def test_install_see_and_remove_over_the_api(admin_api, doorctl, owner, events):
    assert admin_api.get(API).json == {"installed": False, "fingerprint": None, "key": None}
    private, public = owner
    identity = key_id(private.public_key())
    done = admin_api.put(API, json={"key": public})
    assert done.status_code == 200
    assert done.json == {"installed": True, "fingerprint": fingerprint(identity), "key": public}
    assert owners(doorctl) == [identity]
    removed = admin_api.delete(API)
    assert removed.status_code == 204
    assert owners(doorctl) == []
    assert admin_api.delete(API).status_code == 404
    said = [(e.data["action"], e.data["fingerprint"], e.source["user"]) for e in events]
    shown = fingerprint(identity)
    assert said == [("installed", shown, "root"), ("removed", shown, "root")]


def test_bad_keys_are_refused_by_field_and_nothing_is_stored(admin_api, doorctl, owner):
    private, _public = owner
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "": "Paste the owner's public key in PEM",
        "   ": "Paste the owner's public key in PEM",
        "hello": "This is not a public key in PEM.",
        rsa_key.public_key().public_bytes(PEM, PUBLIC).decode(): "This is not an Ed25519 key",
        private_pem(private): "This is a private key; it was not stored.",
    }
    for text, message in cases.items():
        refused = admin_api.put(API, json={"key": text})
        assert refused.status_code == 400
        assert refused.json["fields"]["key"].startswith(message), text
        assert refused.json["error"].startswith("Public key: ")
        assert not (doorctl.data_dir / OWNER_KEY_FILE).exists()
    secret = private_pem(private).splitlines()[1]
    assert secret not in admin_api.put(API, json={"key": private_pem(private)}).get_data(
        as_text=True
    )
    wrong_type = admin_api.put(API, json={"key": 5})
    assert wrong_type.json["fields"]["key"].startswith("Paste the owner's public key")
    extra = admin_api.put(API, json={"key": "x", "private": "y"})
    assert extra.status_code == 400 and set(extra.json["fields"]) == {"private"}


def test_only_administrators_manage_the_key(viewer_api, operator_api, owner):
    for api in (viewer_api, operator_api):
        assert api.get(API).status_code == 403
        assert api.put(API, json={"key": owner[1]}).status_code == 403


def test_the_security_page_installs_shows_and_removes_the_key(logged_in, doorctl, owner):
    private, public = owner
    page = logged_in.get("/security").get_data(as_text=True)
    assert "Custom-signed firmware certificate" in page and "Not installed" in page
    token = csrf_token(logged_in, "/security")
    refused = logged_in.post("/security/firmware-key", data={"csrf_token": token, "key": "x"})
    assert refused.status_code == 422
    assert "This is not a public key in PEM." in refused.get_data(as_text=True)
    pasted = private_pem(private)
    refused = logged_in.post("/security/firmware-key", data={"csrf_token": token, "key": pasted})
    text = refused.get_data(as_text=True)
    assert "This is a private key; it was not stored." in text
    assert pasted.splitlines()[1] not in text
    saved = logged_in.post("/security/firmware-key", data={"csrf_token": token, "key": public})
    assert saved.status_code == 303
    page = logged_in.get("/security").get_data(as_text=True)
    assert fingerprint(key_id(private.public_key())) in page
    assert "Custom-signed firmware certificate installed." in page
    removed = logged_in.post("/security/firmware-key/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert "Not installed" in logged_in.get("/security").get_data(as_text=True)
    assert owners(doorctl) == []
