"""Independent discovery clients, run by the tests in a network namespace of their own.

`python discovery_clients.py bonjour NAME|-` browses _http._tcp and _https._tcp with
python-zeroconf's browser; `wsd` sends a WS-Discovery Probe with the wsdiscovery
library's client; `watch-bye` waits for a WS-Discovery Bye. Each prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
import time

TYPES = ["_http._tcp.local.", "_https._tcp.local."]


def bonjour(seconds: float) -> dict:
    """The instances (name -> port) of each web service type seen within `seconds`."""
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
    time.sleep(seconds)
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


def watch_bye(seconds: float) -> dict:
    """The endpoints that said Bye within `seconds` (printed once ready: 'listening')."""
    from wsdiscovery.discovery import ThreadedWSDiscovery

    byes, done = [], threading.Event()
    client = ThreadedWSDiscovery()
    client.setRemoteServiceByeCallback(lambda epr: (byes.append(str(epr)), done.set()))
    client.start()
    # the multicast group is joined once the address monitor has seen the interface
    seen = [s.getEPR() for s in client.searchServices(timeout=1)]
    print(json.dumps({"listening": True, "seen": seen}), flush=True)
    done.wait(seconds)
    client.stop()
    return {"byes": byes}


if __name__ == "__main__":
    command, seconds = sys.argv[1], float(sys.argv[2])
    answer = {"bonjour": bonjour, "wsd": wsd, "watch-bye": watch_bye}[command](seconds)
    print(json.dumps(answer), flush=True)
