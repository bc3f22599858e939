"""System > Network's IP settings applied by the real NetworkManager, in a network
namespace with its own D-Bus (tests/support_nm.py): a static address reaches the
interface, a change left unconfirmed rolls back by the checkpoint, a confirmed one
stays; bad input on the page changes nothing."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from support import ROOT_PASSWORD, basic, csrf_token
from support_nm import CONNECTION, DEVICE, FIRST_ADDRESS, PEER_ADDRESS, NamespacedNetworkManager

from doorctl.app import create_app
from doorctl.core.events import Subscription
from doorctl.core.system.network.ip import REVERTED_TOPIC

API = "/api/v1/network"
CONFIRM_SECONDS = 2
NEW = {
    "ipv4_automatic": False,
    "ip_address": "10.9.0.7",
    "subnet_mask": "255.255.255.0",
    "router": PEER_ADDRESS,
}


@pytest.fixture
def nm(tmp_path):
    with NamespacedNetworkManager(tmp_path) as network_manager:
        yield network_manager


@pytest.fixture
def app(tmp_path, nm):
    """The appliance whose IP settings are those of the namespace's connection."""
    config = {"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "ENGINE_PROCESS": False}
    config |= {"NETWORK_INTERFACE": DEVICE, "NETWORK_BUS": nm.bus_address}
    config |= {"NETWORK_SYSTEM_HOSTNAME": False, "CONFIRM_SECONDS": CONFIRM_SECONDS}
    app = create_app(config)
    doorctl = app.extensions["doorctl"]
    doorctl.start()
    doorctl.users.set_root_password(ROOT_PASSWORD)
    yield app
    doorctl.stop()
    doorctl.store.close()


@pytest.fixture
def api(app):
    client = app.test_client()
    headers = basic("root", ROOT_PASSWORD)

    def call(method: str, path: str, host: str = FIRST_ADDRESS, **kw):
        return client.open(path, method=method, headers=headers, base_url=f"http://{host}", **kw)

    return call


def checkpoints(nm) -> str:
    """NetworkManager's Checkpoints property, as gdbus prints it."""
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": nm.bus_address}
    command = ["gdbus", "call", "--system", "--dest", "org.freedesktop.NetworkManager"]
    command += ["--object-path", "/org/freedesktop/NetworkManager", "--method"]
    command += [
        "org.freedesktop.DBus.Properties.Get",
        "org.freedesktop.NetworkManager",
        "Checkpoints",
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout


def test_the_settings_start_from_networkmanagers_connection(api):
    settings = api("GET", API).get_json()
    assert settings["ipv4_automatic"] is False
    assert (settings["ip_address"], settings["subnet_mask"]) == (FIRST_ADDRESS, "255.255.255.0")
    assert api("GET", API + "/state").get_json()["read_only"] is None


def test_a_change_left_unconfirmed_rolls_back_by_the_checkpoint(api, app, nm):
    reverted = Subscription(app.extensions["doorctl"].bus, (REVERTED_TOPIC,))
    answer = api("PUT", API, json=NEW)
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["confirm"] == "http://10.9.0.7/api/v1/network/confirm"
    assert nm.addresses() == ["10.9.0.7"]
    assert "Checkpoint/" in checkpoints(nm)
    event = reverted.get(timeout=CONFIRM_SECONDS + 20)
    assert event is not None and "not confirmed" in event.data["reason"]
    nm.wait(lambda: nm.addresses() == [FIRST_ADDRESS])
    assert api("GET", API).get_json()["ip_address"] == FIRST_ADDRESS
    keyfile = next(nm.folder.joinpath("connections").glob(f"{CONNECTION}*")).read_text()
    assert f"address1={FIRST_ADDRESS}/24" in keyfile


def test_two_changes_left_unconfirmed_roll_back_to_the_settings_before_both(api, app, nm):
    reverted = Subscription(app.extensions["doorctl"].bus, (REVERTED_TOPIC,))
    assert api("PUT", API, json=NEW).status_code == 202
    assert api("PUT", API, json={**NEW, "ip_address": "10.9.0.8"}).status_code == 202
    assert nm.addresses() == ["10.9.0.8"]
    assert reverted.get(timeout=CONFIRM_SECONDS + 20) is not None
    nm.wait(lambda: nm.addresses() == [FIRST_ADDRESS])
    assert api("GET", API).get_json()["ip_address"] == FIRST_ADDRESS


def test_a_confirmed_change_stays_and_is_stored(api, app, nm):
    app.extensions["doorctl"].ip_network.confirm_seconds = 60
    named = {**NEW, "hostname_automatic": False, "hostname": "door-42"}
    named |= {
        "dns_automatic": False,
        "dns_servers": [PEER_ADDRESS],
        "search_domains": ["site.example"],
    }
    assert api("PUT", API, json=named).status_code == 202
    refused = api("POST", API + "/confirm", host=FIRST_ADDRESS)
    assert refused.status_code == 409
    kept = api("POST", API + "/confirm", host="10.9.0.7")
    assert kept.status_code == 200, kept.get_json()
    assert "[]" in checkpoints(nm)  # nothing left for NetworkManager to roll back
    assert nm.addresses() == ["10.9.0.7"]
    assert nm.nmcli("-g", "ipv4.gateway", "connection", "show", CONNECTION).strip() == PEER_ADDRESS
    properties = "ipv4.dhcp-hostname,ipv4.dns,ipv4.dns-search,ipv4.ignore-auto-dns"
    shown = nm.nmcli("-g", properties, "connection", "show", CONNECTION).split()
    assert shown == ["door-42", PEER_ADDRESS, "site.example", "yes"]
    stored = app.extensions["doorctl"].settings.get("network_ip")
    assert (stored["ip_address"], stored["router"]) == ("10.9.0.7", PEER_ADDRESS)


class Browser:
    """A browser that reaches the appliance at `host` (its session is that host's only)."""

    def __init__(self, app, host: str):
        self.client, self.base_url = app.test_client(), f"http://{host}"

    def get(self, path: str, **kw):
        return self.client.get(path, base_url=self.base_url, **kw)

    def post(self, path: str, **kw):
        return self.client.post(path, base_url=self.base_url, **kw)


def logged_in(app, host: str = FIRST_ADDRESS) -> Browser:
    """A browser logged in as root at `host`."""
    browser = Browser(app, host)
    token = csrf_token(browser)
    browser.post(
        "/login", data={"username": "root", "password": ROOT_PASSWORD, "csrf_token": token}
    )
    return browser


def test_the_page_moves_to_the_new_address_and_confirms_there(app, nm):
    app.extensions["doorctl"].ip_network.confirm_seconds = 60  # two logins fit in it
    client = logged_in(app)
    form = {"csrf_token": csrf_token(client, "/network"), "ipv6_automatic": "y"}
    form |= {"ip_address": "10.9.0.7", "subnet_mask": "24", "router": PEER_ADDRESS}
    form |= {"hostname_automatic": "y", "dns_automatic": "y"}
    moving = client.post("/network/ip", data=form).get_data(as_text=True)
    assert 'data-address="http://10.9.0.7/network/ip/confirm"' in moving
    assert nm.addresses() == ["10.9.0.7"]
    client = logged_in(app, "10.9.0.7")  # the browser at the new address logs in there
    there = client.get("/network/ip/confirm").get_data(as_text=True)
    assert 'id="confirm-ip"' in there and "10.9.0.7" in there
    token = csrf_token(client, "/network/ip/confirm")
    kept = client.post("/network/ip/confirm", data={"csrf_token": token})
    assert kept.status_code == 303
    page = client.get("/network").get_data(as_text=True)
    assert "The new IP settings are kept." in page
    assert 'value="10.9.0.7"' in page and 'id="ip-pending"' not in page
    assert "[]" in checkpoints(nm)


def test_bad_input_on_the_page_shows_each_field_error_and_changes_nothing(app, nm):
    client = logged_in(app)
    form = {"csrf_token": csrf_token(client, "/network"), "ip_address": "10.9.0.255"}
    form |= {"subnet_mask": "255.255.255.0", "router": "10.8.0.1", "hostname": "door_1"}
    form |= {"dns_servers": "not-an-address", "search_domains": "a domain"}
    answer = client.post("/network/ip", data=form)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for field in ("ip_address", "router", "hostname", "dns_servers", "search_domains"):
        assert re.search(f'field-invalid" data-field="{field}"', page), field
    assert "10.9.0.1 - 10.9.0.254" in page and "A-Z, a-z, 0-9 and -." in page
    assert nm.addresses() == [FIRST_ADDRESS]
    assert "[]" in checkpoints(nm)


def test_a_change_networkmanager_refuses_is_rolled_back_at_once_with_its_words(api, app, nm):
    app.extensions["doorctl"].ip_network.engine.connection = "no-such-connection"
    before = api("GET", API).get_json()
    answer = api("PUT", API, json=NEW)
    assert answer.status_code == 502
    assert "NetworkManager refused" in answer.get_json()["error"]
    assert "no-such-connection" in answer.get_json()["error"]
    assert nm.addresses() == [FIRST_ADDRESS]
    assert "[]" in checkpoints(nm)
    assert api("GET", API).get_json() == before
    assert api("GET", API + "/state").get_json()["pending"] is None
