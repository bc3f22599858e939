"""Proxy settings (manual: One-click cloud connection > Proxy settings), on their own.

The manual's proxy is the one its cloud service uses; doorctl keeps the cloud service
out, and sends its own outbound connections through the proxy instead: the MQTT
client (an HTTP CONNECT tunnel, for every MQTT transport), the only outbound connection
that may cross a proxy today. One form validates the page, the REST API and the store; the password
is stored sealed with the device key and never shown back.

Authentication is HTTP Basic only: the proxy client doorctl uses (PySocks, the one
paho-mqtt drives) sends only a Basic `Proxy-Authorization`, and Digest would need a
second round trip it does not make.
"""

from __future__ import annotations

import ipaddress

import socks  # PySocks: paho-mqtt opens its proxy tunnels with it
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Field, Form, StringField
from wtforms.validators import Length, NumberRange, ValidationError

from doorctl.core.fields import Choice, ListField, Present, StrictInteger, is_host

SECTION = "proxy"
SECRETS = ("password",)
DEFAULT_PORT = 3128
BASIC = "basic"
AUTHENTICATION = ((BASIC, lazy_gettext("Basic")),)
MAX_NO_PROXY = 32


def host_error(host: str) -> str | None:
    """Why `host` is neither a host name nor an IP address (None if it is one)."""
    if any(c.isspace() for c in host):
        return _("A host name has no spaces.")
    if "://" in host or "/" in host:
        return _("Enter the host alone, without http:// or a path, such as proxy.example.com.")
    if not is_host(host):
        return _(
            "Enter a host name or an IP address, such as proxy.example.com or 192.0.2.10 "
            "(letters, digits, hyphens and dots)."
        )
    return None


class ProxySettings(Form):
    """Proxy settings: host, port, login and password, authentication method."""

    host = StringField(
        lazy_gettext("Host"),
        default="",
        validators=[Length(0, 253)],
        description=lazy_gettext("The proxy server's address; empty: no proxy."),
    )
    port = StrictInteger(
        lazy_gettext("Port"),
        default=DEFAULT_PORT,
        validators=[
            Present(lazy_gettext("Enter the proxy's port, 1 to 65535.")),
            NumberRange(1, 65535, lazy_gettext("Enter a port from 1 to 65535.")),
        ],
    )
    login = StringField(lazy_gettext("Login"), default="", validators=[Length(0, 255)])
    password = StringField(lazy_gettext("Password"), default="", validators=[Length(0, 255)])
    authentication = Choice(
        lazy_gettext("Authentication method"), choices=AUTHENTICATION, default=BASIC
    )
    no_proxy = ListField(
        lazy_gettext("No proxy for"),
        commas=True,
        description=lazy_gettext(
            "Hosts, domains (.example.com) and networks (10.0.0.0/8) reached directly, "
            "one per line."
        ),
    )

    def validate_host(self, field: Field) -> None:
        if not isinstance(field.data, str):
            raise ValidationError(_("Must be text."))
        error = host_error(field.data) if field.data else None
        if error:
            raise ValidationError(error)

    def validate_login(self, field: Field) -> None:
        if self.password.data and not field.data:
            raise ValidationError(_("Enter the login that goes with the password."))
        if any(c in (field.data or "") for c in ":\r\n"):
            raise ValidationError(_("A login has no colon and no line break."))

    def validate_password(self, field: Field) -> None:
        if self.login.data and not field.data:
            raise ValidationError(_("Enter the password for this login."))
        if any(c in (field.data or "") for c in "\r\n"):
            raise ValidationError(_("A password has no line break."))

    def validate_no_proxy(self, field: Field) -> None:
        if len(field.data) > MAX_NO_PROXY:
            raise ValidationError(_("At most %(most)d entries.", most=MAX_NO_PROXY))
        for number, entry in enumerate(field.data, 1):
            if not isinstance(entry, str) or not entry or _entry_error(entry):
                raise ValidationError(
                    _(
                        "Entry %(number)d: enter a host, a domain such as .example.com "
                        "or a network such as 10.0.0.0/8.",
                        number=number,
                    )
                )


def _entry_error(entry: str) -> bool:
    """True when a "No proxy for" entry is no host, domain or network."""
    if "/" in entry:
        try:
            ipaddress.ip_network(entry, strict=False)
            return False
        except ValueError:
            return True
    return host_error(entry.lstrip(".").removeprefix("*.")) is not None


def changes(given: dict) -> dict:
    """A login cleared clears its password too (the password alone means nothing)."""
    given = dict(given)
    if "login" in given and not given["login"] and "password" not in given:
        given["password"] = ""
    return given


def bypassed(record: dict, host: str) -> bool:
    """True when `host` is reached directly: no proxy set, or it is on "No proxy for"."""
    if not record.get("host"):
        return True
    host = host.lower().rstrip(".")
    return any(_matches(entry.lower(), host) for entry in record.get("no_proxy") or ())


def _matches(entry: str, host: str) -> bool:
    """A host is the entry, under its domain, or an address in its network."""
    if "/" in entry:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    domain = entry.removeprefix("*.").lstrip(".").rstrip(".")
    return host == domain or host.endswith("." + domain)


def used_for(record: dict, host: str) -> str | None:
    """The proxy as people write it ("proxy.example.com:3128") when `host` goes through
    it, else None (for the status lines)."""
    if bypassed(record, host):
        return None
    return f"{_bracketed(record['host'])}:{record['port']}"


def mqtt_proxy(record: dict, broker_host: str) -> dict | None:
    """paho-mqtt's `proxy_set()` arguments (an HTTP CONNECT tunnel) for the broker, or
    None when the broker is reached directly."""
    if bypassed(record, broker_host):
        return None
    arguments = {
        "proxy_type": socks.HTTP,
        "proxy_addr": record["host"],
        "proxy_port": record["port"],
        "proxy_rdns": True,
    }
    if record.get("login"):
        arguments |= {"proxy_username": record["login"], "proxy_password": record["password"]}
    return arguments


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
