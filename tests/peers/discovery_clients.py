"""Independent discovery clients, run by the tests in a network namespace of their own.

`python discovery_clients.py bonjour SECONDS [NAME]` browses _http._tcp and _https._tcp with
python-zeroconf's browser; `wsd` sends a WS-Discovery Probe with the wsdiscovery
library's client; `goodbyes` waits for each protocol's goodbye. Each prints one JSON line.
"""

from __future__ import annotations

import json
import re
import select
import socket
import sys
import time

TYPES = ["_http._tcp.local.", "_https._tcp.local."]


def bonjour(seconds: float, expected: str = "") -> dict:
    """The instances (name -> port) of each web service type seen within `seconds`, or
    as soon as both types have an instance named `expected`."""
    from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

    found: dict[str, dict] = {kind: {} for kind in TYPES}
    gone: list[str] = []
    zc = Zeroconf()

    def changed(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            gone.append(name)
            found[service_type].pop(name, None)
            return
        info = zeroconf.get_service_info(service_type, name, timeout=2000)
        if info:
            found[service_type][name.removesuffix("." + service_type)] = info.port

    ServiceBrowser(zc, TYPES, handlers=[changed])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if expected and all(expected in found[kind] for kind in TYPES):
            break
        time.sleep(0.05)
    zc.close()
    return {"found": found, "gone": gone}


def wsd(seconds: float) -> dict:
    """The services that answer a Probe: their scopes and addresses."""
    from wsdiscovery.discovery import ThreadedWSDiscovery

    client = ThreadedWSDiscovery()
    client.start()
    services = client.searchServices(timeout=seconds)
    client.stop()
    answers = [
        {
            "epr": s.getEPR(),
            "scopes": [str(x) for x in s.getScopes()],
            "xaddrs": s.getXAddrs(),
        }
        for s in services
    ]
    return {"services": answers}


def _multicast_listener(port: int, group: str = "239.255.255.250") -> socket.socket:
    """A UDP socket in `group` on `port`, on every interface of this namespace."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", port))
    membership = socket.inet_aton(group) + socket.inet_aton("0.0.0.0")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    return sock


def goodbyes(seconds: float) -> dict:
    """The goodbyes heard within `seconds` of printing 'listening': Bonjour instances
    removed (zeroconf's browser), SSDP byebye USNs and WS-Discovery Bye endpoints (raw
    multicast listeners, as any control point hears them)."""
    from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

    heard = {"bonjour": [], "ssdp": [], "wsd": []}
    zc = Zeroconf()

    def changed(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            heard["bonjour"].append(name)

    ServiceBrowser(zc, TYPES, handlers=[changed])
    ssdp, wsd = _multicast_listener(1900), _multicast_listener(3702)
    time.sleep(1.5)  # the browser has found what is announced
    print(json.dumps({"listening": True}), flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(heard.values()):
        ready, _, _ = select.select([ssdp, wsd], [], [], 0.2)
        for sock in ready:
            text = sock.recv(65536).decode("utf-8", "replace")
            if sock is ssdp and "ssdp:byebye" in text:
                heard["ssdp"] += re.findall(r"(?im)^USN:\s*(\S+)", text)
            if sock is wsd and "/discovery/Bye<" in text:
                heard["wsd"] += re.findall(r"<\w+:Address>([^<]+)</\w+:Address>", text)
    zc.close()
    return heard


if __name__ == "__main__":
    command, seconds, *expected = sys.argv[1], float(sys.argv[2]), *sys.argv[3:]
    answer = {"bonjour": bonjour, "wsd": wsd, "goodbyes": goodbyes}[command](seconds, *expected)
    print(json.dumps(answer), flush=True)
