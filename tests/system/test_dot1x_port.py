"""IEEE 802.1x against a real authenticator: hostapd with its wired driver and its own
EAP server on the LAN end of the veth pair, the real NetworkManager (with a
wpa_supplicant on its private bus) on the unit's end, given doorctl's profile.

The port opens with the client certificate the RADIUS CA signed and stays shut with
one from another CA; hostapd's own station list and log say so, and so does doorctl.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from brokers import Pki
from support import ROOT_PASSWORD, ApiClient, basic, csrf_token, require
from support_nm import CONNECTION, DEVICE, PEER, NamespacedNetworkManager

from doorctl.app import create_app

pytestmark = pytest.mark.peer
API = "/api/v1/ieee8021x"
HOSTAPD = """interface={peer}
driver=wired
ieee8021x=1
eapol_version=2
eap_server=1
eap_user_file={folder}/eap_users
ca_cert={pki.ca}
server_cert={pki.cert}
private_key={pki.key}
ctrl_interface={folder}/hostapd-control
"""


class Authenticator:
    """hostapd on the LAN end, and the wpa_supplicant NetworkManager drives."""

    def __init__(self, nm: NamespacedNetworkManager, pki: Pki, folder: Path):
        self.hostapd = require("hostapd", "hostapd")
        self.hostapd_cli = require("hostapd_cli", "hostapd_cli (hostapd)")
        require("wpa_supplicant", "wpa_supplicant (wpasupplicant)")
        self.nm, self.folder = nm, folder
        (folder / "eap_users").write_text('"door-1"\tTLS\n')
        (folder / "hostapd.conf").write_text(HOSTAPD.format(peer=PEER, folder=folder, pki=pki))
        self.log = folder / "hostapd.log"
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> Authenticator:
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.nm.bus_address}
        self._start(["wpa_supplicant", "-u"], self.folder / "wpa.log", env)
        self._start([self.hostapd, "-d", str(self.folder / "hostapd.conf")], self.log, env)
        self.nm.wait(lambda: "ENABLED" in self.cli("status"))
        return self

    def _start(self, command: list[str], log: Path, env: dict) -> None:
        with log.open("w") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.nm.name, *command], stdout=out, stderr=out, env=env
            )
        self.processes.append(process)

    def cli(self, *args: str) -> str:
        """hostapd_cli's answer (empty before hostapd listens)."""
        command = ["ip", "netns", "exec", self.nm.name, self.hostapd_cli]
        command += ["-p", str(self.folder / "hostapd-control"), *args]
        return subprocess.run(command, capture_output=True, text=True).stdout

    def said(self, words: str) -> bool:
        return words in self.log.read_text()

    def authorized(self) -> bool:
        return "flags=[AUTHORIZED]" in self.cli("all_sta")

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(10)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def port(tmp_path, pki):
    with NamespacedNetworkManager(tmp_path) as nm, Authenticator(nm, pki, tmp_path) as port:
        yield port


@pytest.fixture
def api(port, tmp_path):
    """doorctl on the namespace's NetworkManager, its API logged in as root."""
    config = {"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "ENGINE_PROCESS": False}
    config |= {"NETWORK_INTERFACE": DEVICE, "NETWORK_BUS": port.nm.bus_address}
    config |= {"NETWORK_SYSTEM_HOSTNAME": False, "CHRONY_SOCKET": str(tmp_path / "none.sock")}
    app = create_app(config)
    doorctl = app.extensions["doorctl"]
    doorctl.start()
    doorctl.users.set_root_password(ROOT_PASSWORD)
    yield ApiClient(app.test_client(), basic("root", ROOT_PASSWORD))
    doorctl.stop()
    doorctl.store.close()


def add(api, cert_id: str, pem: str) -> None:
    response = api.post("/api/v1/certificates", json={"id": cert_id, "data": pem})
    assert response.status_code == 201, response.json


def use(api, client_certificate: str) -> None:
    body = {"use_ieee8021x": True, "client_certificate": client_certificate}
    body |= {"ca_certificate": "radius-ca", "eap_identity": "door-1", "eapol_version": 2}
    response = api.put(API, json=body)
    assert response.status_code == 200, response.json


def test_the_port_opens_with_the_certificate_the_radius_ca_signed(api, port, pki):
    add(api, "radius-ca", pki.ca.read_text())
    add(api, "door", pki.client.read_text())
    use(api, "door")
    port.nm.wait(lambda: port.said("CTRL-EVENT-EAP-SUCCESS"))
    assert port.authorized()
    port.nm.wait(lambda: api.get(f"{API}/status").json["state"] == "authorized")
    browser = api.client
    login = {"username": "root", "password": ROOT_PASSWORD, "csrf_token": csrf_token(browser)}
    assert browser.post("/login", data=login).status_code == 303
    page = browser.get("/security").get_data(as_text=True)
    assert 'data-state="ok" id="ieee8021x-state"' in page


def test_turned_off_the_connection_has_no_802_1x_and_the_key_files_go(api, port, pki, tmp_path):
    add(api, "radius-ca", pki.ca.read_text())
    add(api, "door", pki.client.read_text())
    use(api, "door")
    keys = tmp_path / "data" / "ieee8021x"
    assert (keys / "private-key.pem").exists()
    assert port.nm.nmcli("-g", "802-1x.eap", "connection", "show", CONNECTION).strip() == "tls"
    assert api.put(API, json={"use_ieee8021x": False}).status_code == 200
    assert "802-1x" not in port.nm.nmcli("connection", "show", CONNECTION)
    assert list(keys.iterdir()) == []
    assert api.get(f"{API}/status").json["state"] == "off"


def test_the_port_stays_shut_with_a_certificate_from_another_ca(api, port, pki, tmp_path):
    other = Pki.make(tmp_path / "other")
    add(api, "radius-ca", pki.ca.read_text())
    add(api, "stranger", other.client.read_text())
    use(api, "stranger")
    port.nm.wait(lambda: port.said("CTRL-EVENT-EAP-FAILURE"))
    assert not port.authorized()
    assert not port.said("CTRL-EVENT-EAP-SUCCESS")
    assert api.get(f"{API}/status").json["state"] != "authorized"


def test_while_an_ip_change_waits_for_its_confirmation_802_1x_is_refused(api, port, pki):
    """The IP change's checkpoint covers the whole connection: going back would undo an
    802.1x change made meanwhile, so it is refused until the IP change is settled."""
    add(api, "radius-ca", pki.ca.read_text())
    add(api, "door", pki.client.read_text())
    waiting = api.put("/api/v1/network", json={"hostname_automatic": False, "hostname": "door-7"})
    assert waiting.status_code == 202, waiting.json
    body = {"use_ieee8021x": True, "client_certificate": "door", "eap_identity": "door-1"}
    refused = api.put(API, json=body)
    assert refused.status_code == 409, refused.json
    assert "waits for its confirmation" in refused.json["error"]
    assert api.get(API).json["use_ieee8021x"] is False
    assert "802-1x" not in port.nm.nmcli("connection", "show", CONNECTION)
