"""Network discovery heard by real clients: the served appliance in a network namespace
of its own, joined by a veth pair to a client namespace where python-zeroconf's
browser, async-upnp-client's `upnp-client search` and the wsdiscovery client look for
it. A rename is found under the new name; turned off, it is not found. Only the
namespaces made here carry traffic; they are removed at the end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, ROOT_PASSWORD
from support_nm import ip

CLIENTS = Path(__file__).resolve().parents[1] / "peers" / "discovery_clients.py"
DEVICE, PEER = "10.79.0.1", "10.79.0.2"
UPNP_CLIENT = Path(sys.executable).parent / "upnp-client"


@pytest.fixture
def namespaces():
    """(device namespace, client namespace), joined by a veth pair with a multicast route."""
    if os.geteuid() != 0 or subprocess.run(["ip", "netns", "list"]).returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("network namespaces (root and ip netns) are needed")
        pytest.skip("network namespaces need root")
    tag = f"dd{os.getpid() % 100000}"
    device, client = f"{tag}-dev", f"{tag}-cli"
    ip("netns", "add", device)
    ip("netns", "add", client)
    try:
        ip("link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b")
        for name, link, address in ((device, f"{tag}a", DEVICE), (client, f"{tag}b", PEER)):
            ip("link", "set", link, "netns", name)
            ip("-n", name, "addr", "add", f"{address}/24", "dev", link)
            ip("-n", name, "link", "set", link, "up")
            ip("-n", name, "link", "set", "lo", "up")
            ip("-n", name, "route", "add", "224.0.0.0/4", "dev", link)
        yield device, client
    finally:
        ip("netns", "del", device)
        ip("netns", "del", client)


class Device:
    """`doorctl serve` in the device namespace, listening on all its addresses."""

    def __init__(self, namespace: str, data_dir: Path, client: str):
        self.namespace, self.client = namespace, client
        command = ["ip", "netns", "exec", namespace, sys.executable, "-m", "doorctl", "serve"]
        command += ["--data-dir", str(data_dir), "--host", "0.0.0.0", "--port", "0"]
        command += ["--https-port", "0", "--hardware", "sim", "--engine-in-process"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
        )
        line = self.process.stdout.readline()
        match = re.search(r"http://[^:]+:(\d+)/", line)
        assert match, line + self.process.stderr.read()
        self.port = int(match.group(1))
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        self.call("POST", "/api/v1/setup", body, auth=False)

    def call(self, method: str, path: str, body=None, auth=True):
        """A REST call from the client namespace (curl there)."""
        command = ["ip", "netns", "exec", self.client, "curl", "-sS", "-X", method]
        if auth:
            command += ["-u", f"root:{ROOT_PASSWORD}"]
        if body is not None:
            command += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        answer = subprocess.run(
            [*command, f"http://{DEVICE}:{self.port}{path}"], capture_output=True, text=True
        )
        return json.loads(answer.stdout) if answer.stdout.startswith(("{", "[")) else answer.stdout

    def announced(self, names: dict) -> None:
        """Wait until the appliance says it announces `names` (protocol -> name)."""
        deadline = time.monotonic() + 20
        while self.call("GET", "/api/v1/network-discovery/status")["names"] != names:
            assert time.monotonic() < deadline, f"{names} not announced in 20 s"
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=15)


def client(namespace: str, *args: str) -> dict:
    """One of the clients in the client namespace; its JSON answer."""
    command = ["ip", "netns", "exec", namespace, sys.executable, str(CLIENTS), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def upnp_search(namespace: str) -> list[dict]:
    """The SSDP answers `upnp-client search` gets."""
    command = ["ip", "netns", "exec", namespace, str(UPNP_CLIENT), "--timeout", "2"]
    command += ["search", "--bind", PEER]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def goodbyes_listener(namespace: str) -> subprocess.Popen:
    """The goodbye listener in the client namespace, once it listens."""
    command = ["ip", "netns", "exec", namespace, sys.executable, str(CLIENTS), "goodbyes", "10"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert json.loads(process.stdout.readline()) == {"listening": True}
    return process


def friendly_name(namespace: str, location: str) -> str:
    """The friendlyName of the description at an SSDP LOCATION, fetched from the client."""
    command = ["ip", "netns", "exec", namespace, "curl", "-sS", location]
    xml = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return re.search(r"<friendlyName>(.*?)</friendlyName>", xml).group(1)


def test_found_renamed_and_turned_off(namespaces, tmp_path):
    device_ns, client_ns = namespaces
    device = Device(device_ns, tmp_path / "device", client_ns)
    try:
        record = device.call("GET", "/api/v1/network-discovery")
        assert record["bonjour"] and record["upnp"] and record["ws_discovery"]
        default = record["bonjour_name"]
        assert default.startswith("doorctl - ") and record["upnp_name"] == default
        device.announced({"bonjour": default, "upnp": default, "ws_discovery": default})
        seen = client(client_ns, "bonjour", "10", default)["found"]
        assert seen["_http._tcp.local."] == {default: device.port}
        answers = upnp_search(client_ns)
        roots = [a for a in answers if a.get("ST") == "upnp:rootdevice"]
        assert roots and friendly_name(client_ns, roots[0]["location"]) == default
        probe = client(client_ns, "wsd", "1.5")["services"]
        assert [s["xaddrs"] for s in probe] == [[f"http://{DEVICE}:{device.port}/"]]
        udn = probe[0]["epr"].removeprefix("urn:uuid:")
        assert roots[0]["USN"] == f"uuid:{udn}::upnp:rootdevice"

        changes = {"bonjour_name": "Front door", "upnp_name": "Front door UPnP"}
        device.call("PUT", "/api/v1/network-discovery", changes)
        names = {"bonjour": "Front door", "upnp": "Front door UPnP", "ws_discovery": "Front door"}
        device.announced(names)
        seen = client(client_ns, "bonjour", "10", "Front door")["found"]
        assert seen["_http._tcp.local."] == {"Front door": device.port}
        roots = [a for a in upnp_search(client_ns) if a.get("ST") == "upnp:rootdevice"]
        assert friendly_name(client_ns, roots[0]["location"]) == "Front door UPnP"

        listener = goodbyes_listener(client_ns)
        off = {"bonjour": False, "upnp": False, "ws_discovery": False}
        device.call("PUT", "/api/v1/network-discovery", off)
        device.announced({})
        heard = json.loads(listener.communicate(timeout=30)[0].splitlines()[-1])
        assert {name.split("._")[0] for name in heard["bonjour"]} == {"Front door"}
        assert f"uuid:{udn}::upnp:rootdevice" in heard["ssdp"]
        assert f"urn:uuid:{udn}" in heard["wsd"]
        seen = client(client_ns, "bonjour", "1.5")["found"]
        assert seen == {"_http._tcp.local.": {}, "_https._tcp.local.": {}}
        assert [a for a in upnp_search(client_ns) if "location" in a] == []
        assert client(client_ns, "wsd", "1.5")["services"] == []
    finally:
        device.stop()
