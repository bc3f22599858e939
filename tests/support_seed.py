"""A served appliance seeded as an installer leaves it, for the browser tests.

A named door, 60 cardholders with cards (a few with PINs) in two groups, schedules,
access rules, an OSDP reader online (the libosdp test peer in a child process on a
pseudo-terminal) and a few hundred events. Pages then show what they show in use: long
tables, live readers, a full event log. Any test that serves the appliance can use it
(the browser matrix does, in every language).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from snmp_peers import free_udp_port
from support import basic, start_served
from support_osdp import Line, ReaderProcess, require_libosdp, wait_until

CARDHOLDERS = 60
DOOR = {"name": "Front door", "access_time": 7, "long_access_time": 20}
SCHEDULES = (
    {
        "name": "Office hours",
        "intervals": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "18:30"}
        ],
    },
    {"name": "Weekend", "intervals": [{"days": ["sat", "sun"], "start": "09:00", "end": "13:00"}]},
)
USERS = (
    {"username": "guard", "password": "guard password 1", "role": "viewer"},
    {"username": "doris", "password": "operator password 1", "role": "operator"},
)
READER = {"id": "front", "baud": 115200, "address": 1, "poll_interval": 50}
READER_LIFE = 1800.0
DOT1X_CERTIFICATE = {"id": "door-8021x", "self_signed": {"common_name": "door-1"}}
DOT1X = {"use_ieee8021x": True, "client_certificate": "door-8021x", "eap_identity": "door-1"}
# The site reaches the internet through its proxy, with a login.
PROXY = {
    "host": "proxy.site.lan",
    "port": 3128,
    "login": "door-controller",
    "password": "proxy pass",
    "no_proxy": [".site.lan", "10.0.0.0/8"],
}
# SNMP v3 for the site's management system, its traps to a receiver on this host (the
# tests send nothing off loopback).
SNMP = {
    "version": "v3",
    "sys_contact": "facilities@site.lan",
    "sys_location": "Building A, ground floor",
}
# Its v3 users: the management system's (reads, sends the traps) and a monitor's.
SNMP_USERS = [
    {"name": "nms", "auth_key": "nms auth pass", "privacy_key": "nms privacy pass"},
    {
        "name": "monitor",
        "authentication": "SHA",
        "auth_key": "monitor auth pass",
        "privacy_key": "monitor privacy pass",
    },
]
# The Pi's own screen shows the doors, its operator actions on behind a PIN.
KIOSK = {"enabled": True, "operator_actions": True, "pin": "246813", "dim_minutes": 10}
DATE_TIME = {
    "synchronization": "ntp",
    "ntp_servers": [
        {"address": "ntp.example.com"},
        {"address": "nts.example.net", "port": 4460, "nts": True},
    ],
    "time_zone": "Europe/Stockholm",
}
# Events: toggles of an input with no door (each one a DigitalInput event), and cards.
INPUT_TOGGLES = 150
CARDS_PRESENTED = 20
FIRST_NAMES = (
    "Alice",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Elin",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
)
LAST_NAMES = ("Smith", "Lindqvist", "Müller", "Okafor", "Rossi", "Sato")


def cardholders_csv() -> str:
    """60 cardholders, one card each (H10301, facility 12), every fifth with a PIN too."""
    lines = ["ref,name,long_access,card_format,card_facility,card_number,pin"]
    for n in range(CARDHOLDERS):
        name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[n % len(LAST_NAMES)]} {n + 1}"
        lines.append(f"h{n},{name},{int(n % 10 == 9)},H10301,12,{1000 + n},")
        if n % 5 == 0:
            lines.append(f"h{n},{name},{int(n % 10 == 9)},,,,{4000 + n}")
    return "\n".join(lines) + "\n"


class Seeder:
    """REST calls as root to one served appliance."""

    def __init__(self, server, password: str):
        self.server = server
        self.auth = ("root", password)

    def call(self, method: str, path: str, body=None):
        """A JSON call; the JSON answer."""
        return self.server.call(method, path, body, auth=self.auth)

    def upload_csv(self, text: str) -> dict:
        """The cardholders' CSV, imported in one call."""
        import json
        import urllib.request

        headers = {"Content-Type": "text/csv", **basic(*self.auth)}
        request = urllib.request.Request(
            self.server.url + "/api/v1/cardholders/import", text.encode(), headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(io.TextIOWrapper(answer, "utf-8"))


def seed(server, password: str, reader_port: str | None) -> dict:
    """Seed `server` (root's password set); the reader on `reader_port` when given."""
    s = Seeder(server, password)
    s.call("PUT", "/api/v1/doors/1/settings", DOOR)
    s.upload_csv(cardholders_csv())
    holders = s.call("GET", "/api/v1/cardholders?limit=100")
    ids = [h["id"] for h in (holders["cardholders"] if isinstance(holders, dict) else holders)]
    groups = [
        s.call("POST", "/api/v1/cardholder-groups", {"name": n}) for n in ("Staff", "Cleaning")
    ]
    schedules = [s.call("POST", "/api/v1/schedules", body) for body in SCHEDULES]
    rules = (
        {"name": "Staff at any time", "cardholder_ids": ids[:20]},
        {
            "name": "Staff in office hours",
            "cardholder_ids": ids[20:40],
            "schedule_id": schedules[0]["id"],
        },
        {
            "name": "Cleaning at weekends",
            "group_ids": [groups[1]["id"]],
            "schedule_id": schedules[1]["id"],
            "direction": "entry",
        },
        {
            "name": "Managers with card and PIN",
            "cardholder_ids": ids[40:],
            "authentication": "card+pin",
        },
    )
    for rule in rules:
        s.call("POST", "/api/v1/access-rules", {"door_id": 1, **rule})
    if reader_port:
        s.call("POST", "/api/v1/readers", {**READER, "port": reader_port})
        wait_until(lambda: s.call("GET", "/api/v1/readers/front")["online"], 20, "reader online")
    for user in USERS:
        s.call("POST", "/api/v1/users", user)
    s.call("PUT", "/api/v1/date-time", DATE_TIME)
    s.call("PUT", "/api/v1/proxy", PROXY)
    snmp = {**SNMP, "port": free_udp_port(), "trap_receivers": [f"127.0.0.1:{free_udp_port()}"]}
    for user in SNMP_USERS:
        s.call("POST", "/api/v1/snmp/users", user)
    s.call("PUT", "/api/v1/snmp", snmp)
    s.call("PUT", "/api/v1/kiosk", KIOSK)
    s.call("PUT", "/api/v1/firmware/owner-key", {"key": owner_key()})
    s.call("POST", "/api/v1/certificates", DOT1X_CERTIFICATE)
    s.call("PUT", "/api/v1/ieee8021x", DOT1X)
    for syslog_server in SYSLOG_SERVERS:
        s.call("POST", "/api/v1/logs/remote-syslog/servers", syslog_server)
    make_events(s)
    failed_login(server)
    # a network trace of a second, finished and kept for download on its page
    s.call("POST", "/api/v1/logs/network-trace", {"duration": 1, "interface": "lo"})
    return {"cardholders": ids, "schedules": schedules, "groups": groups}


# Remote system log: servers on loopback where nothing listens (port 1), so the page
# shows their refusals; no traffic leaves the machine.
SYSLOG_SERVERS = (
    {"host": "127.0.0.1", "protocol": "tcp", "port": 1, "format": "rfc3164", "severity": "warning"},
    {"host": "localhost", "protocol": "tls", "port": 1},
)


def owner_key() -> str:
    """An owner's firmware key, so System > Security shows an installed one."""
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def make_events(s: Seeder) -> None:
    """A few hundred events: an auxiliary input toggled, and known and unknown cards."""
    for n in range(INPUT_TOGGLES):
        s.call("POST", "/api/v1/sim/inputs/aux3", {"active": n % 2 == 0})
    for n in range(CARDS_PRESENTED):
        card = 1000 + n if n % 2 == 0 else 9000 + n
        s.call("POST", "/api/v1/sim/wiegand", {"format": "H10301", "facility": 12, "card": card})
    s.call("POST", "/api/v1/doors/1/release")
    s.call("GET", "/api/v1/events?limit=1")  # the log flushed


def failed_login(server) -> None:
    """A wrong password, so that the Audit log shows a failed login too."""
    import urllib.error

    with contextlib.suppress(urllib.error.HTTPError):
        server.call("GET", "/api/v1/logs/audit", auth=("doris", "not her password"))


@contextlib.contextmanager
def seeded_appliance(data_dir: Path, password: str, env: dict | None = None) -> Iterator:
    """A served appliance, its root password not yet set, with its reader peer ready.

    Yields (server, seed): call seed() once root's password is set (the setup page is
    meant to be seen first). The reader child and the server stop at the end.
    """
    require_libosdp()
    line = Line()
    server = start_served(data_dir, "--reader-test-ports", env=env)
    reader = None
    try:
        # The peer lives as long as the whole browser run (its own limit is a safety net).
        pd = {"address": READER["address"], "secure": False}
        reader = ReaderProcess(line.master, [pd], data_dir.parent, 0.02, timeout=READER_LIFE)
        yield server, lambda: seed(server, password, line.path)
    finally:
        if reader is not None:
            reader.kill()
        server.stop()
        line.close()
