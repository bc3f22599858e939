"""UPnP discovery: a small SSDP responder (answers M-SEARCH, sends NOTIFY alive and
byebye) and the device description it points to.

SSDP is a few lines of HTTP over UDP; the kept Python packages for it are asyncio
frameworks (ssdp, async-upnp-client) bigger than the part needed here, so this is
our own, on a plain socket in the announcer process (never in the gevent one).
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import threading
from xml.sax.saxutils import escape

from doorctl import PRODUCT_NAME, __version__

log = logging.getLogger(__name__)
GROUP, PORT = "239.255.255.250", 1900
MAX_AGE = 1800
DEVICE_TYPE = "urn:schemas-upnp-org:device:Basic:1"
DESCRIPTION_PATH = "/upnp/description.xml"
SERVER = f"Linux/1.0 UPnP/1.0 {PRODUCT_NAME}/{__version__}"


def description_xml(name: str, serial: str, udn: str, presentation_url: str) -> str:
    """The UPnP device description: the friendly name and what the device is."""
    fields = {
        "deviceType": DEVICE_TYPE,
        "friendlyName": name,
        "manufacturer": PRODUCT_NAME,
        "manufacturerURL": "https://github.com/doorctl/doorctl",
        "modelDescription": "Network door controller",
        "modelName": PRODUCT_NAME,
        "modelNumber": __version__,
        "serialNumber": serial,
        "UDN": f"uuid:{udn}",
        "presentationURL": presentation_url,
    }
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<device>{body}</device></root>\n"
    )


def _targets(udn: str) -> list[tuple[str, str]]:
    """(NT or ST, USN) of the root device: the three a Basic device announces."""
    return [
        ("upnp:rootdevice", f"uuid:{udn}::upnp:rootdevice"),
        (f"uuid:{udn}", f"uuid:{udn}"),
        (DEVICE_TYPE, f"uuid:{udn}::{DEVICE_TYPE}"),
    ]


def _headers(first: str, lines: dict) -> bytes:
    text = first + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in lines.items()) + "\r\n"
    return text.encode()


def parse(datagram: bytes) -> tuple[str, dict]:
    """The request line and headers (names upper-cased) of an SSDP datagram."""
    lines = datagram.decode("utf-8", "replace").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().upper()] = value.strip()
    return lines[0].strip(), headers


class SsdpResponder:
    """Announce one root device on the given IPv4 addresses until stopped."""

    def __init__(self, udn: str, addresses: list[str], port: int, scheme: str = "http"):
        self.udn, self.addresses, self.port, self.scheme = udn, addresses, port, scheme
        self.boot_id = 1
        self._stop = threading.Event()
        self._socket = self._listening_socket()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="ssdp")

    def location(self, address: str) -> str:
        """Where the description is, seen from one of the device's addresses."""
        return f"{self.scheme}://{address}:{self.port}{DESCRIPTION_PATH}"

    def _listening_socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("", PORT))
        for address in self.addresses:
            membership = socket.inet_aton(GROUP) + socket.inet_aton(address)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", 2))
        return sock

    def start(self) -> None:
        """Answer searches, and say alive on each address."""
        self._thread.start()
        self.notify("ssdp:alive")

    def stop(self) -> None:
        """Say byebye on each address and close."""
        self.notify("ssdp:byebye")
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()

    def notify(self, sub_type: str) -> None:
        """NOTIFY alive or byebye for each target, on each address."""
        for address in self.addresses:
            self._socket.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address)
            )
            for nt, usn in _targets(self.udn):
                lines = {"HOST": f"{GROUP}:{PORT}", "NT": nt, "NTS": sub_type, "USN": usn}
                if sub_type == "ssdp:alive":
                    lines |= {"CACHE-CONTROL": f"max-age={MAX_AGE}", "SERVER": SERVER}
                    lines["LOCATION"] = self.location(address)
                lines["BOOTID.UPNP.ORG"] = str(self.boot_id)
                self._send(_headers("NOTIFY * HTTP/1.1", lines), (GROUP, PORT))

    def _send(self, data: bytes, to: tuple[str, int]) -> None:
        try:
            self._socket.sendto(data, to)
        except OSError as error:
            log.warning("SSDP to %s failed: %s", to[0], error)

    def _serve(self) -> None:
        waited = 0.0
        while not self._stop.is_set():
            ready, _, _ = select.select([self._socket], [], [], 0.5)
            waited += 0.5
            if waited >= MAX_AGE / 2:
                waited = 0.0
                self.notify("ssdp:alive")
            if ready:
                try:
                    datagram, sender = self._socket.recvfrom(4096)
                except OSError:
                    return
                self._answer(datagram, sender)

    def _answer(self, datagram: bytes, sender: tuple[str, int]) -> None:
        """A unicast answer to an M-SEARCH for all, the root device or this device."""
        request, headers = parse(datagram)
        if not request.upper().startswith("M-SEARCH") or headers.get("MAN") != '"ssdp:discover"':
            return
        st = headers.get("ST", "")
        for target, usn in _targets(self.udn):
            if st in ("ssdp:all", target):
                self._send(self._response(target, usn, sender), sender)

    def _response(self, target: str, usn: str, sender: tuple[str, int]) -> bytes:
        lines = {
            "CACHE-CONTROL": f"max-age={MAX_AGE}",
            "EXT": "",
            "LOCATION": self.location(_local_address(sender[0])),
            "SERVER": SERVER,
            "ST": target,
            "USN": usn,
            "BOOTID.UPNP.ORG": str(self.boot_id),
        }
        return _headers("HTTP/1.1 200 OK", lines)


def _local_address(peer: str) -> str:
    """The device's address a peer reaches it on (the route's source address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((peer, PORT))
        return probe.getsockname()[0]
