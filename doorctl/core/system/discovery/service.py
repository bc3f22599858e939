"""The discovery service in doorctl's process: keeps the announcer process told what
to announce (the stored settings, the ports served, the device's addresses).

The announcer is a child process (see announcer.py): python-zeroconf's asyncio thread
and wsdiscovery's threads would share gevent's hub here. A saved change is sent at
once, so a rename re-announces and a turn-off says goodbye without a restart.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import subprocess
import sys

import gevent

from doorctl import PRODUCT_NAME
from doorctl.core.settings import Settings
from doorctl.core.system.discovery.settings import SECTION, device_uuid

log = logging.getLogger(__name__)
ANNOUNCER = "doorctl.core.system.discovery.announcer"
ALL = ("", "0.0.0.0", "::")
CHECK_SECONDS = 30.0  # how often a new address (DHCP, a cable) is looked for


def device_addresses() -> list[str]:
    """The device's IPv4 addresses, loopback left out (ifaddr, zeroconf's own)."""
    import ifaddr

    addresses = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                addresses.append(ip.ip)
    return sorted(set(addresses))


class Discovery:
    """Network discovery: start(), stop(), apply(record), status()."""

    def __init__(self, settings: Settings, serial: str, served=lambda: {}):
        self.settings = settings
        self.serial = serial
        self.served = served  # the HTTP and HTTPS settings in force
        self.host = "127.0.0.1"  # what the web server listens on (`serve --host`)
        self.record = settings.get(SECTION)
        self.process: subprocess.Popen | None = None
        self.announced: dict = {"running": [], "names": {}, "problems": {}}
        self.check_every = CHECK_SECONDS
        self._told: dict = {}
        self._reader: gevent.Greenlet | None = None
        self._watcher: gevent.Greenlet | None = None

    def serving_on(self, host: str) -> None:
        """The address the web server listens on: a loopback one is announced nowhere."""
        self.host = host

    def addresses(self) -> list[str]:
        """Where to announce: every device address, or the one the server listens on."""
        if self.host in ALL:
            return device_addresses()
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            return []
        return [] if address.is_loopback or address.version != 4 else [self.host]

    def wanted(self, record: dict) -> dict:
        """The state the announcer is told: names of what is on, ports, addresses."""
        served = self.served() or {}
        protocols = served.get("protocols", "both")
        http = served.get("http_port") if protocols in ("both", "http") else None
        https = served.get("https_port") if protocols in ("both", "https") else None
        on = {key: record[f"{key}_name"] if record[key] else None for key in ("bonjour", "upnp")}
        wsd = record["bonjour_name"] if record["ws_discovery"] else None
        return {
            **on,
            "ws_discovery": wsd,
            "addresses": self.addresses(),
            "hostname": socket.gethostname().split(".")[0],
            "serial": self.serial,
            "udn": device_uuid(self.serial),
            "model": PRODUCT_NAME,
            "http_port": http,
            "https_port": https,
        }

    def start(self) -> None:
        """Start the announcer with the stored settings, if there is anywhere to announce;
        announce again on new addresses, and after the announcer ended unasked."""
        self._tell(self.wanted(self.record))
        self._watcher = gevent.spawn(self._watch)

    def _watch(self) -> None:
        while True:
            gevent.sleep(self.check_every)
            wanted = self.wanted(self.record)
            ended = self.process is not None and self.process.poll() is not None
            if ended:
                log.warning("the discovery announcer ended: starting it again")
            if ended or wanted["addresses"] != self._told.get("addresses"):
                self._tell(wanted)

    def apply(self, record: dict) -> None:
        """A saved record: re-announce a new name, say goodbye for what is turned off."""
        self.record = record
        if self._watcher is not None:
            self._tell(self.wanted(record))

    def served_changed(self, _record: dict | None = None) -> None:
        """New ports: announce them."""
        self.apply(self.record)

    def _tell(self, state: dict) -> None:
        self._told = state
        if not state["addresses"]:
            self._end()
            self.announced = {"running": [], "names": {}, "problems": {}}
            return
        if self.process is None or self.process.poll() is not None:
            self._spawn()
        try:
            self.process.stdin.write(json.dumps(state) + "\n")
            self.process.stdin.flush()
        except OSError as error:
            log.warning("the discovery announcer is gone: %s", error)

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", ANNOUNCER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = gevent.spawn(self._read, self.process)

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.announced = json.loads(line)

    def stop(self) -> None:
        """Goodbye from every protocol, and stop watching the addresses."""
        if self._watcher is not None:
            self._watcher.kill()
            self._watcher = None
        self._end()

    def _end(self, timeout: float = 5) -> None:
        """End the announcer's input (its goodbyes) and wait for it."""
        process, self.process = self.process, None
        if process is None:
            return
        process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def status(self) -> dict:
        """What is announced now, where, and what could not be."""
        return {**self.announced, "addresses": self.addresses()}
