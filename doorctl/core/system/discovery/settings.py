"""Network discovery settings: one form for the page, the API and the store.

Each protocol is on or off; Bonjour and UPnP show a friendly name whose default is
the device name and MAC address (manual: "The default name is the device name and
MAC address").
"""

from __future__ import annotations

import unicodedata
import uuid
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form
from wtforms.validators import ValidationError

from doorctl import PRODUCT_NAME
from doorctl.core.fields import Switch, Text

SECTION = "network_discovery"
SYS_NET = Path("/sys/class/net")
# DNS-SD instance names are one DNS label: at most 63 bytes of UTF-8.
MAX_NAME_BYTES = 63


def mac_address(sys_net: Path = SYS_NET) -> str:
    """The MAC address of the device's first wired or wireless interface (eth0 first)."""
    names = sorted(p.name for p in sys_net.iterdir()) if sys_net.is_dir() else []
    names.sort(key=lambda name: (not name.startswith(("eth", "en")), name))
    for name in names:
        try:
            address = (sys_net / name / "address").read_text().strip()
        except OSError:
            continue
        if name != "lo" and address and set(address) - {"0", ":"}:
            return address.replace(":", "").upper()
    return ""


def default_name(mac: str | None = None) -> str:
    """The device name and MAC address, as the manual gives the default."""
    mac = mac_address() if mac is None else mac
    return f"{PRODUCT_NAME} - {mac}" if mac else PRODUCT_NAME


def device_uuid(serial: str) -> str:
    """The device's UPnP UDN and WS-Discovery endpoint: stable for its serial number."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:{PRODUCT_NAME}:{serial}"))


def name_error(name) -> str | None:
    """Why a friendly name can't be announced, or None."""
    if not isinstance(name, str) or not name.strip():
        return _("Enter a name, such as %(example)s.", example=default_name())
    if name != name.strip():
        return _("Remove the spaces at the start and the end.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        return _("Use letters, digits, spaces and punctuation only.")
    if len(name.encode()) > MAX_NAME_BYTES:
        return _(
            "Enter at most %(most)d bytes (a letter like é takes 2); this name takes %(bytes)d.",
            most=MAX_NAME_BYTES,
            bytes=len(name.encode()),
        )
    return None


def _check_name(form, field):
    if problem := name_error(field.data):
        raise ValidationError(problem)


class NetworkDiscoverySettings(Form):
    """Network discovery protocols (Administrator): Bonjour, UPnP, WS-Discovery."""

    bonjour = Switch(
        lazy_gettext("Bonjour"),
        default=True,
        description=lazy_gettext("Turn on to allow automatic discovery on the network."),
    )
    bonjour_name = Text(
        lazy_gettext("Bonjour name"),
        default="",
        validators=[_check_name],
        description=lazy_gettext("A friendly name to be visible on the network."),
    )
    upnp = Switch(
        lazy_gettext("UPnP"),
        default=True,
        description=lazy_gettext("Turn on to allow automatic discovery on the network."),
    )
    upnp_name = Text(
        lazy_gettext("UPnP name"),
        default="",
        validators=[_check_name],
        description=lazy_gettext("A friendly name to be visible on the network."),
    )
    ws_discovery = Switch(
        lazy_gettext("WS-Discovery"),
        default=True,
        description=lazy_gettext("Turn on to allow automatic discovery on the network."),
    )
