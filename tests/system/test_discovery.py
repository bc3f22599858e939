"""Network discovery settings through the page and the API: names default to the
device name and MAC address, bad names are refused per field and change nothing, and
the UPnP description names the device."""

from __future__ import annotations

from support import csrf_token

from doorctl.core.system.discovery.settings import default_name, mac_address


def test_the_names_default_to_the_device_name_and_mac_address(admin_api, doorctl):
    record = admin_api.get("/api/v1/network-discovery").get_json()
    name = default_name()
    assert record == {
        "bonjour": True,
        "bonjour_name": name,
        "upnp": True,
        "upnp_name": name,
        "ws_discovery": True,
    }
    assert name == f"doorctl - {mac_address()}" or not mac_address()


def test_bad_names_are_refused_per_field_and_change_nothing(admin_api, doorctl):
    before = admin_api.get("/api/v1/network-discovery").get_json()
    bad = {"bonjour_name": " ", "upnp_name": "x" * 64, "ws_discovery": "yes"}
    answer = admin_api.put("/api/v1/network-discovery", json=bad)
    assert answer.status_code == 400
    fields = answer.get_json()["fields"]
    assert set(fields) == {"bonjour_name", "upnp_name", "ws_discovery"}
    assert "at most 63 bytes" in fields["upnp_name"]
    assert admin_api.get("/api/v1/network-discovery").get_json() == before


def test_the_page_shows_each_bad_field(logged_in, doorctl):
    before = doorctl.settings.get("network_discovery")
    token = csrf_token(logged_in, "/network-discovery")
    form = {"csrf_token": token, "bonjour": "y", "bonjour_name": "Door\x07", "upnp_name": "Ok"}
    page = logged_in.post("/network-discovery", data=form)
    assert page.status_code == 422
    assert "Use letters, digits, spaces and punctuation only." in page.get_data(as_text=True)
    assert doorctl.settings.get("network_discovery") == before


def test_the_page_saves_and_the_description_names_the_device(logged_in, client, doorctl):
    token = csrf_token(logged_in, "/network-discovery")
    form = {"csrf_token": token, "bonjour": "y", "bonjour_name": "Lobby", "upnp_name": "Lobby A"}
    assert logged_in.post("/network-discovery", data=form).status_code == 303
    record = doorctl.settings.get("network_discovery")
    assert record["bonjour_name"] == "Lobby" and not record["upnp"] and not record["ws_discovery"]
    assert client.get("/upnp/description.xml").status_code == 404  # UPnP is off
    doorctl.settings.update("network_discovery", {"upnp": True})
    xml = client.get("/upnp/description.xml").get_data(as_text=True)
    assert "<friendlyName>Lobby A</friendlyName>" in xml
    assert f"<serialNumber>{doorctl.device.serial}</serialNumber>" in xml
    events = logged_in.get("/logs/events").get_data(as_text=True)
    assert "Network discovery" in events


def test_a_server_on_loopback_only_is_announced_nowhere(admin_api, doorctl):
    doorctl.discovery.serving_on("127.0.0.1")
    status = admin_api.get("/api/v1/network-discovery/status").get_json()
    assert status == {"running": [], "names": {}, "problems": {}, "addresses": []}


def test_the_page_says_when_nothing_is_announced(logged_in, doorctl):
    page = logged_in.get("/network-discovery").get_data(as_text=True)
    assert "Nothing is announced: the web server listens on this machine only" in page
