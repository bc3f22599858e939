"""NetworkManager, the engine of the IP settings: nmcli for the connection, D-Bus
(gdbus) for the checkpoint that brings the previous settings back by itself.

Both run as subprocesses through gevent's subprocess module, so the hub serves on
while NetworkManager reactivates the connection. nmcli has no checkpoint verb;
`CheckpointCreate` with a rollback timeout is NetworkManager's own confirm-or-revert,
which holds even when doorctl stops in the middle of a change.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from gevent import subprocess

from doorctl.core.errors import DoorctlError
from doorctl.core.waiting import off_hub

NM = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
DESTROY_ALL = 0x01  # a new checkpoint replaces any older one
OBJECT_PATH = re.compile(r"objectpath '([^']+)'")
TIMEOUT = 30


class EngineFailed(DoorctlError):
    """NetworkManager refused a change or did not answer."""

    status = 502


@dataclass
class NetworkManager:
    """The NetworkManager that holds `connection` on `interface` (empty: the connection
    active on it), reached over the system bus or `bus_address`."""

    interface: str = "eth0"
    connection: str = ""
    bus_address: str = ""
    nmcli: str = "nmcli"
    gdbus: str = "gdbus"
    system_hostname: bool = True
    env: dict = field(default_factory=dict)

    def _env(self) -> dict:
        env = {**os.environ, **self.env, "LC_ALL": "C"}
        if self.bus_address:
            env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        return env

    def run(self, *args: str) -> str:
        """Run a command; its output, or EngineFailed with its own words."""
        try:
            with off_hub():  # NetworkManager may take seconds: other requests go on
                done = subprocess.run(
                    args, capture_output=True, text=True, env=self._env(), timeout=TIMEOUT
                )
        except OSError as error:
            why = _("%(program)s: %(why)s", program=args[0], why=error.strerror)
            raise EngineFailed(_("NetworkManager could not be asked: %(why)s", why=why)) from None
        except subprocess.TimeoutExpired:
            raise EngineFailed(_("NetworkManager did not answer in time.")) from None
        if done.returncode != 0:
            words = (done.stderr or done.stdout).strip().splitlines()
            raise EngineFailed(
                _("NetworkManager refused: %(why)s", why=words[-1] if words else done.returncode)
            )
        return done.stdout

    def not_running(self) -> str | None:
        """Why doorctl can't change the addresses here, or None when NetworkManager runs."""
        try:
            state = self.run(self.nmcli, "-t", "-f", "RUNNING", "general").strip()
        except EngineFailed:
            state = ""
        if state == "running":
            return None
        return _(
            "NetworkManager does not run on this machine, so the addresses are shown as "
            "they are and can't be changed here."
        )

    def connection_name(self) -> str:
        """The connection doorctl changes: the setting, else the one active on the interface."""
        if self.connection:
            return self.connection
        name = self.run(self.nmcli, "-g", "GENERAL.CONNECTION", "device", "show", self.interface)
        if not name.strip():
            raise EngineFailed(
                _("No connection is active on %(interface)s.", interface=self.interface)
            )
        return name.strip()

    def read(self) -> dict:
        """The connection's IP settings as the form has them (hostname left out: the
        connection does not say whether it came from DHCP)."""
        fields = ",".join(READ_FIELDS)
        text = self.run(
            self.nmcli, "-t", "-f", fields, "connection", "show", self.connection_name()
        )
        values = dict(_unescape(line).split(":", 1) for line in text.splitlines() if ":" in line)
        return _record(values)

    def _call(self, method: str, *args: str, path: str = NM_PATH) -> str:
        return self.run(
            self.gdbus,
            "call",
            "--system",
            "--dest",
            NM,
            "--object-path",
            path,
            "--method",
            f"{NM}.{method}",
            *args,
        )

    def checkpoint(self, seconds: float) -> str:
        """A checkpoint of the interface that NetworkManager rolls back after `seconds`."""
        found = OBJECT_PATH.search(self._call("GetDeviceByIpIface", self.interface))
        device = found.group(1) if found else ""
        answer = self._call(
            "CheckpointCreate", f"['{device}']", str(int(seconds)), str(DESTROY_ALL)
        )
        found = OBJECT_PATH.search(answer)
        if not found:
            raise EngineFailed(_("NetworkManager made no checkpoint."))
        return found.group(1)

    def extend(self, checkpoint: str, seconds: float) -> None:
        """NetworkManager rolls `checkpoint` back `seconds` from now (a second change
        before the first is confirmed keeps the first checkpoint: it holds the settings
        to come back to)."""
        self._call("CheckpointAdjustRollbackTimeout", checkpoint, str(int(seconds)))

    def apply(self, properties: list[str], hostname: str | None) -> None:
        """Set the connection's properties and bring it up again with them."""
        name = self.connection_name()
        self.run(self.nmcli, "connection", "modify", name, *properties)
        self.run(self.nmcli, "connection", "up", name, "ifname", self.interface)
        self.set_hostname(hostname)

    def set_hostname(self, hostname: str | None) -> None:
        """The system's static hostname ('' leaves it to DHCP); None leaves it alone."""
        if hostname is not None and self.system_hostname:
            self.run(self.nmcli, "general", "hostname", hostname)

    def rollback(self, checkpoint: str) -> None:
        """Back to the checkpoint now."""
        self._call("CheckpointRollback", checkpoint)

    def keep(self, checkpoint: str) -> None:
        """The change is confirmed: the checkpoint goes without rolling back."""
        self._call("CheckpointDestroy", checkpoint)


READ_FIELDS = (
    "ipv4.method",
    "ipv4.addresses",
    "ipv4.gateway",
    "ipv4.dns",
    "ipv4.dns-search",
    "ipv4.ignore-auto-dns",
    "ipv6.method",
    "ipv6.dns",
)


def _unescape(line: str) -> str:
    """nmcli's terse line with its escaped colons, as ':' (the first colon ends the name)."""
    name, _sep, value = line.partition(":")
    return f"{name}:{value.replace(chr(92) + ':', ':')}"


def _listed(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip() and item.strip() != "--"]


def _record(values: dict) -> dict:
    """The form's record of a connection's nmcli properties."""
    static = values.get("ipv4.method") == "manual"
    addresses = _listed(values.get("ipv4.addresses", ""))
    interface = ipaddress.IPv4Interface(addresses[0]) if static and addresses else None
    gateway = values.get("ipv4.gateway", "")
    manual_dns = values.get("ipv4.ignore-auto-dns") == "yes"
    return {
        "ipv4_automatic": not interface,
        "ip_address": str(interface.ip) if interface else "",
        "subnet_mask": str(interface.netmask) if interface else "",
        "router": "" if gateway in ("", "--") or not interface else gateway,
        "ipv6_automatic": values.get("ipv6.method") in ("auto", "dhcp"),
        "dns_automatic": not manual_dns,
        "search_domains": _listed(values.get("ipv4.dns-search", "")) if manual_dns else [],
        "dns_servers": (
            _listed(values.get("ipv4.dns", "")) + _listed(values.get("ipv6.dns", ""))
            if manual_dns
            else []
        ),
    }


def kernel_addresses(run=subprocess.run, resolv: Path = Path("/etc/resolv.conf")) -> dict:
    """The addresses in use as the kernel has them (no NetworkManager needed): each
    interface's addresses, the default routers, DNS servers and search domains."""
    interfaces = []
    for link in _ip_json(run, "addr", "show"):
        if link.get("ifname") == "lo":
            continue
        addresses = [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])]
        interfaces.append({"name": link.get("ifname", ""), "addresses": addresses})
    routers = [r["gateway"] for r in _ip_json(run, "route", "show", "default") if "gateway" in r]
    servers, domains = _resolv(resolv)
    return {
        "interfaces": interfaces,
        "routers": routers,
        "dns_servers": servers,
        "search_domains": domains,
    }


def _ip_json(run, *args: str) -> list:
    try:
        done = run(["ip", "-j", *args], capture_output=True, text=True, timeout=TIMEOUT)
        return json.loads(done.stdout or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []


def _resolv(path: Path) -> tuple[list[str], list[str]]:
    servers, domains = [], []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return servers, domains
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver" and _is_address(words[1]):
            servers.append(words[1])
        elif words and words[0] in ("search", "domain"):
            domains = words[1:]
    return servers, domains


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    return True
