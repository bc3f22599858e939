"""IP settings (System > Network): IPv4, IPv6, hostname and DNS servers, one form.

The same form validates the page, the REST API's JSON and the store; each bad value
gets its own message next to its field, and the whole form is checked at once.
"""

from __future__ import annotations

import ipaddress
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form
from wtforms.validators import ValidationError

from doorctl.core.fields import ListField, Switch, Text

SECTION = "network_ip"
HOSTNAME = re.compile(r"[A-Za-z0-9-]{1,63}")
DOMAIN_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
MOST_DOMAINS = 6
MOST_SERVERS = 3


def prefix_of(mask: str) -> int | None:
    """The prefix length of a subnet mask ('255.255.255.0', '24' or '/24'), or None
    when it is not a mask."""
    text = mask.strip().removeprefix("/")
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 32 else None
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{text}").prefixlen
    except ValueError:
        return None


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text.strip())
    except ValueError:
        return None


def subnet(record: dict) -> ipaddress.IPv4Interface | None:
    """The static address with its subnet, or None when either is not valid."""
    address, prefix = _ipv4(record["ip_address"]), prefix_of(record["subnet_mask"])
    if address is None or prefix is None:
        return None
    return ipaddress.IPv4Interface(f"{address}/{prefix}")


def _usable(interface: ipaddress.IPv4Interface, address: ipaddress.IPv4Address) -> bool:
    """Inside the subnet and neither its network nor its broadcast address."""
    network = interface.network
    if address not in network:
        return False
    if network.prefixlen >= 31:
        return True
    return address not in (network.network_address, network.broadcast_address)


def _usable_range(interface: ipaddress.IPv4Interface) -> str:
    network = interface.network
    if network.prefixlen >= 31:
        return f"{network.network_address} - {network.broadcast_address}"
    return f"{network.network_address + 1} - {network.broadcast_address - 1}"


def domain_error(domain: str) -> str | None:
    """Why a search domain is not a domain name, or None."""
    if any(c.isspace() for c in domain):
        return _(
            "The search domain %(domain)s has a space: enter one domain per line.", domain=domain
        )
    labels = domain.rstrip(".").split(".")
    if len(domain) > 253 or not all(DOMAIN_LABEL.fullmatch(label) for label in labels):
        return _(
            "%(domain)s is not a domain name: use letters, digits and - between dots, "
            "for example example.com.",
            domain=domain,
        )
    return None


class IpSettings(Form):
    """IPv4, IPv6, hostname and DNS servers, as the manual's System > Network has them."""

    ipv4_automatic = Switch(lazy_gettext("Assign IPv4 automatically"), default=True)
    ip_address = Text(lazy_gettext("IP address"), default="")
    subnet_mask = Text(lazy_gettext("Subnet mask"), default="")
    router = Text(lazy_gettext("Router"), default="")
    ipv6_automatic = Switch(lazy_gettext("Assign IPv6 automatically"), default=True)
    hostname_automatic = Switch(lazy_gettext("Assign hostname automatically"), default=True)
    hostname = Text(lazy_gettext("Hostname"), default="")
    dns_automatic = Switch(lazy_gettext("Assign DNS automatically"), default=True)
    search_domains = ListField(lazy_gettext("Search domains"))
    dns_servers = ListField(lazy_gettext("DNS servers"))

    def _static(self) -> bool:
        return not self.ipv4_automatic.data

    def validate_ip_address(self, field) -> None:
        """A static address is an IPv4 address usable in its subnet."""
        if not field.data.strip():
            if self._static():
                raise ValidationError(_("Enter the IP address, for example 192.168.1.90."))
            return
        address = _ipv4(field.data)
        if address is None:
            raise ValidationError(
                _(
                    "%(value)s is not an IPv4 address: enter four numbers from 0 to 255 "
                    "separated by dots, for example 192.168.1.90.",
                    value=field.data,
                )
            )
        interface = subnet(self.data)
        if interface is not None and not _usable(interface, address):
            raise ValidationError(
                _(
                    "%(address)s is the network or broadcast address of its subnet: use an "
                    "address from %(range)s.",
                    address=address,
                    range=_usable_range(interface),
                )
            )

    def validate_subnet_mask(self, field) -> None:
        """A subnet mask, dotted (255.255.255.0) or as a prefix length (24)."""
        if not field.data.strip():
            if self._static():
                raise ValidationError(_("Enter the subnet mask, for example 255.255.255.0."))
            return
        if prefix_of(field.data) is None:
            raise ValidationError(
                _(
                    "%(value)s is not a subnet mask: enter one like 255.255.255.0 or a prefix "
                    "length from 1 to 32.",
                    value=field.data,
                )
            )

    def validate_router(self, field) -> None:
        """The router is an address inside the subnet, other than the device's own."""
        if not field.data.strip():
            return
        router = _ipv4(field.data)
        if router is None:
            raise ValidationError(
                _("%(value)s is not an IPv4 address, for example 192.168.1.1.", value=field.data)
            )
        interface = subnet(self.data)
        if interface is None or not self._static():
            return
        if not _usable(interface, router):
            raise ValidationError(
                _(
                    "The router %(router)s is outside the subnet %(subnet)s: use an address "
                    "from %(range)s.",
                    router=router,
                    subnet=interface.network,
                    range=_usable_range(interface),
                )
            )
        if router == interface.ip:
            raise ValidationError(_("The router can't be the device's own address."))

    def validate_hostname(self, field) -> None:
        """A manual hostname: 1 to 63 of A-Z, a-z, 0-9 and -, not starting or ending with -."""
        name = field.data
        if not name and self.hostname_automatic.data:
            return
        if not name:
            raise ValidationError(_("Enter the hostname, or assign it automatically."))
        if len(name) > 63:
            raise ValidationError(_("A hostname has at most 63 characters."))
        if not HOSTNAME.fullmatch(name):
            raise ValidationError(_("Allowed characters are A-Z, a-z, 0-9 and -."))
        if name.startswith("-") or name.endswith("-"):
            raise ValidationError(_("A hostname can't begin or end with -."))

    def validate_search_domains(self, field) -> None:
        """Each search domain a domain name, at most MOST_DOMAINS."""
        if len(field.data) > MOST_DOMAINS:
            raise ValidationError(_("Enter at most %(most)d search domains.", most=MOST_DOMAINS))
        for domain in field.data:
            problem = domain_error(domain) if isinstance(domain, str) else _("Must be text.")
            if problem:
                raise ValidationError(problem)

    def validate_dns_servers(self, field) -> None:
        """Each DNS server an IPv4 or IPv6 address; one at least when DNS is manual."""
        if not field.data and not self.dns_automatic.data:
            raise ValidationError(_("Add a DNS server, or assign DNS automatically."))
        if len(field.data) > MOST_SERVERS:
            raise ValidationError(_("Enter at most %(most)d DNS servers.", most=MOST_SERVERS))
        for server in field.data:
            try:
                address = ipaddress.ip_address(str(server).strip())
            except ValueError:
                raise ValidationError(
                    _(
                        "%(value)s is not an IP address: enter the DNS server's address, for "
                        "example 192.168.1.1.",
                        value=server,
                    )
                ) from None
            if address.version == 6 and not self.ipv6_automatic.data:
                raise ValidationError(
                    _("%(value)s is an IPv6 address: turn IPv6 on to use it.", value=server)
                )


def profile(record: dict) -> list[str]:
    """The NetworkManager connection properties (nmcli's words) a valid record sets."""
    static = not record["ipv4_automatic"]
    interface = subnet(record) if static else None
    manual_dns = not record["dns_automatic"]
    servers = [s.strip() for s in record["dns_servers"]] if manual_dns else []
    v4_servers = [s for s in servers if ":" not in s]
    v6_servers = [s for s in servers if ":" in s]
    hostname = "" if record["hostname_automatic"] else record["hostname"]
    ipv4 = {
        "ipv4.method": "manual" if static else "auto",
        "ipv4.addresses": str(interface) if interface else "",
        "ipv4.gateway": record["router"].strip() if static else "",
        "ipv4.dns": ",".join(v4_servers),
        "ipv4.dns-search": ",".join(record["search_domains"]) if manual_dns else "",
        "ipv4.ignore-auto-dns": "yes" if manual_dns else "no",
        "ipv4.dhcp-hostname": hostname,
    }
    ipv6 = {
        "ipv6.method": "auto" if record["ipv6_automatic"] else "disabled",
        "ipv6.dns": ",".join(v6_servers) if record["ipv6_automatic"] else "",
        "ipv6.ignore-auto-dns": "yes" if manual_dns else "no",
        "ipv6.dhcp-hostname": hostname if record["ipv6_automatic"] else "",
    }
    return [part for item in {**ipv4, **ipv6}.items() for part in item]
