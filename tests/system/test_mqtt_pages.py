"""The MQTT page and REST API without a broker: roles, validation, write-only password."""

from __future__ import annotations

import html
import re

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from support import csrf_token


def options(page: str, name: str) -> list[tuple[str, str]]:
    """The (value, text) of each option of the page's select `name`."""
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    found = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    return [(html.unescape(v), html.unescape(t)) for v, t in found]


def test_defaults_come_from_the_serial_number(admin_api, doorctl):
    body = admin_api.get("/api/v1/mqtt/client").json
    serial = doorctl.device.serial
    assert body["client_id"] == f"doorctl-{serial}"
    assert body["topic_prefix"] == f"doorctl/{serial}"
    assert (body["port"], body["timeout"], body["connect"]) == (1883, 60, False)
    assert "password" not in body and body["password_set"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"port": 70000}, "port"),
        ({"port": "abc"}, "port"),
        ({"topic_prefix": "a/#"}, "topic_prefix"),
        ({"client_id": "x" * 200}, "client_id"),
        ({"connect_message_qos": 3}, "connect_message_qos"),
        ({"lwt_topic": "a/+/b"}, "lwt_topic"),
        ({"connect": True, "host": ""}, "host"),
        ({"protocol": "udp"}, "protocol"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_client_settings_get_a_field_error_and_change_nothing(admin_api, changes, field):
    before = admin_api.get("/api/v1/mqtt/client").json
    response = admin_api.put("/api/v1/mqtt/client", json=changes)
    assert response.status_code == 400
    assert field in response.json["fields"], response.json
    assert admin_api.get("/api/v1/mqtt/client").json == before


def test_bad_subscription_filter_and_qos(admin_api):
    bad = [{"filter": "a/#/b"}]
    response = admin_api.put("/api/v1/mqtt/subscriptions", json={"subscriptions": bad})
    assert response.status_code == 400
    assert "# must be" in response.json["fields"]["subscriptions"]
    response = admin_api.put("/api/v1/mqtt/publication", json={"qos": 5})
    assert response.json["fields"] == {"qos": "QoS must be 0, 1 or 2."}


def test_protocol_change_follows_the_default_port(admin_api):
    assert admin_api.put("/api/v1/mqtt/client", json={"protocol": "wss"}).json["port"] == 443
    body = admin_api.put("/api/v1/mqtt/client", json={"protocol": "ssl", "port": 9999}).json
    assert body["port"] == 9999
    assert admin_api.put("/api/v1/mqtt/client", json={"protocol": "ws"}).json["port"] == 9999


def test_password_is_write_only_and_kept_when_empty(admin_api, doorctl):
    admin_api.put("/api/v1/mqtt/client", json={"username": "u", "password": "p1"})
    admin_api.put("/api/v1/mqtt/client", json={"password": "", "keep_alive": 30})
    assert doorctl.settings.get("mqtt_client")["password"] == "p1"
    assert "p1" not in admin_api.get("/api/v1/mqtt/client").get_data(as_text=True)


def test_viewer_reads_status_but_not_settings(viewer_api):
    assert viewer_api.get("/api/v1/mqtt/status").json["state"] == "disconnected"
    assert viewer_api.get("/api/v1/mqtt/client").status_code == 403
    assert viewer_api.put("/api/v1/mqtt/client", json={"connect": True}).status_code == 403


def test_the_page_chooses_certificates_from_the_store(logged_in, doorctl):
    """CA certificates in one list, client/server ones in the other, each with its
    subject and end of validity; a CA as client certificate is refused next to it."""
    doorctl.certificates.create({"id": "door", "self_signed": {"common_name": "door"}})
    ca = doorctl.certificates.chain("door")[0].public_bytes(Encoding.PEM).decode()
    doorctl.certificates.create({"id": "broker-ca", "data": ca})
    page = logged_in.get("/mqtt/client").get_data(as_text=True)
    until = doorctl.certificates.get("door")["not_after"][:10]
    assert options(page, "ca_certificate") == [
        ("", "None: the system's CAs"),
        ("broker-ca", f"broker-ca: CN=door, valid until {until}"),
    ]
    assert [value for value, _ in options(page, "client_certificate")] == ["", "door"]
    assert 'href="/certificates">System &gt; Certificates</a>' in page
    token = csrf_token(logged_in, "/mqtt/client")
    form = {"csrf_token": token, "host": "broker", "protocol": "ssl", "port": "8883"}
    form.update(client_id="c", topic_prefix="p", keep_alive="60", timeout="60")
    form.update(mqtt_version="3.1.1", connect_message_qos="1", lwt_qos="1")
    wrong = logged_in.post("/mqtt/client", data={**form, "client_certificate": "broker-ca"})
    assert wrong.status_code == 422
    error = re.search(r'data-field="client_certificate">([^<]*)<', wrong.get_data(as_text=True))
    assert "broker-ca is a CA certificate without a private key" in error.group(1)
    chosen = {**form, "ca_certificate": "broker-ca", "client_certificate": "door"}
    assert logged_in.post("/mqtt/client", data=chosen).status_code == 303
    stored = doorctl.settings.get("mqtt_client")
    assert (stored["ca_certificate"], stored["client_certificate"]) == ("broker-ca", "door")


def test_tabs_are_pages_and_fragments(logged_in):
    for tab in ("client", "publication", "subscriptions"):
        page = logged_in.get(f"/mqtt/{tab}").get_data(as_text=True)
        assert "<html" in page and 'id="mqtt-status"' in page
        fragment = logged_in.get(
            f"/mqtt/{tab}", headers={"HX-Request": "true", "HX-Target": "main"}
        )
        assert "<html" not in fragment.get_data(as_text=True)
    assert logged_in.get("/mqtt").headers["Location"] == "/mqtt/client"
    assert 'hx-trigger="every 2s"' in logged_in.get("/mqtt/status").get_data(as_text=True)


def test_client_form_shows_field_errors_and_keeps_the_password(logged_in, doorctl):
    doorctl.settings.update("mqtt_client", {"password": "secret"})
    token = csrf_token(logged_in, "/mqtt/client")
    form = {"csrf_token": token, "host": "broker", "protocol": "tcp", "port": "0"}
    form.update(client_id="c", topic_prefix="p", keep_alive="60", timeout="60")
    form.update(mqtt_version="3.1.1", connect_message_qos="1", lwt_qos="1")
    response = logged_in.post("/mqtt/client", data=form)
    assert response.status_code == 422
    assert 'data-field="port"' in response.get_data(as_text=True)
    response = logged_in.post("/mqtt/client", data={**form, "port": "1884"})
    assert response.status_code == 303
    stored = doorctl.settings.get("mqtt_client")
    assert (stored["port"], stored["password"], stored["connect"]) == (1884, "secret", False)


def test_add_and_delete_subscription_on_the_page(logged_in, doorctl):
    token = csrf_token(logged_in, "/mqtt/subscriptions")
    bad = logged_in.post("/mqtt/subscriptions/add", data={"csrf_token": token, "filter": "a+"})
    assert bad.status_code == 422 and 'data-field="filter"' in bad.get_data(as_text=True)
    form = {"csrf_token": token, "filter": "s/+/t", "type": "stateful", "qos": "1"}
    assert logged_in.post("/mqtt/subscriptions/add", data=form).status_code == 303
    subs = doorctl.settings.get("mqtt_subscriptions")["subscriptions"]
    assert subs == [{"filter": "s/+/t", "use_prefix": False, "type": "stateful", "qos": 1}]
    logged_in.post("/mqtt/subscriptions/1/delete", data={"csrf_token": token})
    assert doorctl.settings.get("mqtt_subscriptions")["subscriptions"] == []


def test_menu_has_mqtt_under_system(logged_in):
    assert 'href="/mqtt"' in logged_in.get("/status").get_data(as_text=True)
