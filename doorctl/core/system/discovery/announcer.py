"""The announcer process: Bonjour, UPnP and WS-Discovery for what doorctl serves.

Run as `python -m doorctl.core.system.discovery.announcer` by the discovery service.
python-zeroconf and wsdiscovery run their own threads (zeroconf an asyncio loop in
one); in doorctl's gevent-patched process those threads would be greenlets sharing
the hub, so they run here, in a plain process. Each line on stdin is the whole
wanted state as JSON (the newest wins over those not applied yet); after applying
it, one JSON line on stdout says what is announced. At the end of stdin every
protocol says goodbye (mDNS goodbye, SSDP byebye, WS-Discovery Bye) and it ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import threading
from urllib.parse import quote

from doorctl.core.system.discovery.upnp import SsdpResponder

log = logging.getLogger("doorctl.discovery")
ONVIF_DEVICE = ("http://www.onvif.org/ver10/device/wsdl", "Device", "tds")
DPWS_DEVICE = ("http://schemas.xmlsoap.org/ws/2006/02/devprof", "Device", "wsdp")


def _services(state: dict) -> list[tuple[str, int]]:
    """(DNS-SD type, port) of each web service doorctl really serves."""
    ports = [("_http._tcp.local.", state.get("http_port"))]
    ports.append(("_https._tcp.local.", state.get("https_port")))
    return [(kind, port) for kind, port in ports if port]


class Bonjour:
    """DNS-SD over mDNS with python-zeroconf: one instance per served web service."""

    def __init__(self, state: dict):
        from zeroconf import IPVersion, Zeroconf

        self.zeroconf = Zeroconf(interfaces=state["addresses"], ip_version=IPVersion.V4Only)
        self.infos = [self._info(state, kind, port) for kind, port in _services(state)]
        # both instances probe for their name at once (each probe takes some 1.5 s)
        done = asyncio.run_coroutine_threadsafe(self._register(), self.zeroconf.loop)
        done.result(timeout=20)

    async def _register(self) -> None:
        register = self.zeroconf.async_register_service
        announcing = await asyncio.gather(
            *(register(info, allow_name_change=True) for info in self.infos)
        )
        await asyncio.gather(*announcing)

    @staticmethod
    def _info(state: dict, kind: str, port: int):
        from zeroconf import ServiceInfo

        return ServiceInfo(
            kind,
            f"{state['bonjour']}.{kind}",
            port=port,
            properties={"path": "/", "serial": state["serial"]},
            server=f"{state['hostname']}.local.",
            parsed_addresses=state["addresses"],
        )

    def close(self) -> None:
        """Goodbye for every instance, then close the sockets."""
        self.zeroconf.unregister_all_services()
        self.zeroconf.close()


class WsDiscovery:
    """WS-Discovery with the wsdiscovery library: Hello now, Probe Matches, Bye at close."""

    def __init__(self, state: dict):
        from wsdiscovery import QName, Scope

        self.publisher = _publisher(f"urn:uuid:{state['udn']}")
        self.publisher.start()
        scheme, port = ("http", state["http_port"])
        if not port:
            scheme, port = ("https", state["https_port"])
        name = quote(state["ws_discovery"], safe="")
        scopes = [Scope(f"onvif://www.onvif.org/name/{name}")]
        scopes.append(Scope(f"onvif://www.onvif.org/hardware/{state['model']}"))
        types = [QName(*ONVIF_DEVICE), QName(*DPWS_DEVICE)]
        # the library's "{ip}" expansion fails (it appends the IPv6 list as one item)
        x_addrs = [f"{scheme}://{address}:{port}/" for address in state["addresses"]]
        self.publisher.publishService(types, scopes, x_addrs)

    def close(self) -> None:
        """Bye, then stop the threads."""
        self.publisher.clearLocalServices()
        self.publisher.stop()


def _publisher(udn: str):
    """wsdiscovery's publisher on IPv4 only: its IPv6 thread dies answering an IPv4
    probe (it unicasts to an IPv4 address from an IPv6 socket), as Bonjour here is."""
    from wsdiscovery.publishing import ThreadedWSPublishing
    from wsdiscovery.threaded import AddressMonitorThread, NetworkingThreadIPv4

    class Ipv4Publishing(ThreadedWSPublishing):
        def _startThreads(self):
            if self._networkingThread_v4 is None:
                self._networkingThread_v4 = NetworkingThreadIPv4(self)
                self._networkingThread_v4.start()
                self._addrsMonitorThread_v4 = AddressMonitorThread(self, socket.AF_INET)
                self._addrsMonitorThread_v4.start()

    return Ipv4Publishing(uuid_=udn)


class Upnp:
    """The SSDP responder for the device description the web server serves."""

    def __init__(self, state: dict):
        scheme, port = ("http", state["http_port"])
        if not port:
            scheme, port = ("https", state["https_port"])
        self.responder = SsdpResponder(state["udn"], state["addresses"], port, scheme)
        self.responder.start()

    def close(self) -> None:
        """Byebye."""
        self.responder.stop()


ANNOUNCERS = {"bonjour": Bonjour, "upnp": Upnp, "ws_discovery": WsDiscovery}
# What makes an announcer start again (with goodbye and hello) when it changes.
COMMON = ("addresses", "hostname", "http_port", "https_port")


class Announcers:
    """The running announcers, changed to match each wanted state."""

    def __init__(self):
        self.running: dict[str, object] = {}
        self.state: dict = {}

    def apply(self, state: dict) -> dict:
        """Stop what is off or changed, start what is on; what runs now, and problems."""
        problems = {}
        for key, kind in ANNOUNCERS.items():
            changed = any(state.get(k) != self.state.get(k) for k in (key, *COMMON))
            if key in self.running and (changed or not state.get(key)):
                self._close(key)
            if state.get(key) and key not in self.running and _services(state):
                try:
                    self.running[key] = kind(state)
                except Exception as error:  # a port in use, no multicast route, ...
                    log.warning("%s not announced: %s", key, error)
                    problems[key] = str(error)
        self.state = state
        names = {key: state[key] for key in sorted(self.running)}
        return {"running": sorted(self.running), "names": names, "problems": problems}

    def _close(self, key: str) -> None:
        try:
            self.running.pop(key).close()
        except Exception as error:
            log.warning("%s goodbye failed: %s", key, error)

    def close(self) -> None:
        """Goodbye from every protocol."""
        for key in list(self.running):
            self._close(key)


class Latest:
    """The last state read from stdin: states sent faster than they apply (a name
    typed and saved thrice) are skipped but the last; None once stdin has ended."""

    def __init__(self):
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.ended = False
        threading.Thread(target=self._read, daemon=True, name="stdin").start()

    def _read(self) -> None:
        for line in sys.stdin:
            with self.changed:
                self.lines.append(line)
                self.changed.notify()
        with self.changed:
            self.ended = True
            self.changed.notify()

    def next(self) -> dict | None:
        """The newest state not yet applied; None at the end of stdin."""
        with self.changed:
            self.changed.wait_for(lambda: self.lines or self.ended)
            line = next((text for text in reversed(self.lines) if text.strip()), "")
            self.lines.clear()
            if line:
                return json.loads(line)
            return None if self.ended else {}


def main() -> int:
    """Apply each state read from stdin; say goodbye at its end."""
    logging.basicConfig(level=logging.WARNING, format="discovery: %(message)s")
    announcers, latest = Announcers(), Latest()
    try:
        while (state := latest.next()) is not None:
            if state:
                print(json.dumps(announcers.apply(state)), flush=True)
    finally:
        announcers.close()
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    sys.exit(main())
