"""IP address filter (manual: System > Security): which addresses may reach the device.

The filter applies to every HTTP request before login. Entries are single addresses
or CIDR ranges, IPv4 and IPv6; an IPv4 client seen through an IPv6 socket
(::ffff:192.0.2.1) is matched as the IPv4 address it is.
"""

from __future__ import annotations

import ipaddress

from flask_babel import gettext as _
from flask_babel import lazy_gettext

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ENTRIES = 256
RULE = lazy_gettext(
    "an address (192.0.2.10, 2001:db8::1) or a CIDR range (192.0.2.0/24, 2001:db8::/32)"
)


def entry_error(entry: object) -> str | None:
    """Why an entry of the address list is not an address or a range, or None."""
    try:
        ipaddress.ip_network(str(entry).strip(), strict=False)
    except ValueError:
        return _("%(entry)s is not %(rule)s.", entry=repr(str(entry)[:64]), rule=RULE)
    return None


def networks(entries: list) -> list[Network]:
    """The entries that are addresses or ranges (the form refuses the others)."""
    return [
        ipaddress.ip_network(str(e).strip(), strict=False) for e in entries if not entry_error(e)
    ]


def address_of(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A client's address as the filter compares it, or None when it is not one."""
    try:
        address = ipaddress.ip_address((text or "").split("%")[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def admits(use_filter: bool, policy: str, ranges: list[Network], client: str | None) -> bool:
    """Whether the filter lets this client address in."""
    if not use_filter:
        return True
    address = address_of(client)
    listed = address is not None and any(address in network for network in ranges)
    return listed if policy == "allow" else not listed


def own_address_error(record: dict, client: str | None) -> str | None:
    """The message refusing a filter that would shut out the address making the change."""
    if admits(record["use_filter"], record["policy"], networks(record["addresses"]), client):
        return None
    if record["policy"] == "allow":
        message = _(
            "This filter would shut out your own address %(client)s: allow %(client)s "
            "here before you save, or you lose access to the device.",
            client=client,
        )
    else:
        message = _(
            "This filter would shut out your own address %(client)s: stop denying "
            "%(client)s here before you save, or you lose access to the device.",
            client=client,
        )
    return message
