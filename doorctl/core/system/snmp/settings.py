"""SNMP settings (manual: System > Network > SNMP), defined once as a form.

The same form validates the page, the REST API and the store, and describes the
section in the OpenAPI document. The communities are stored sealed with the device
key and never shown back: an empty one keeps the stored one. The v3 users, with their
keys, are a table of their own (users.py); the settings say only how traps are sent.
"""

from __future__ import annotations

import socket

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Field, Form, StringField
from wtforms.validators import Length, NumberRange, StopValidation, ValidationError

from doorctl.core.fields import Choice, ListField, Present, StrictInteger, is_host

SECTION = "snmp"
SECRETS = ("read_community", "trap_community")
OFF, V1_V2C, V3 = "off", "v1_v2c", "v3"
VERSIONS = (
    (OFF, lazy_gettext("Off")),
    (V1_V2C, lazy_gettext("SNMP v1 and v2c")),
    (V3, lazy_gettext("SNMP v3")),
)
# net-snmp's names of the authentication protocols (snmpd.conf createUser, snmpget -a)
AUTHENTICATIONS = (("SHA", "SHA-1"), ("SHA-256", "SHA-256"))
TRAP, INFORM = "trap", "inform"
NOTIFICATIONS = ((TRAP, lazy_gettext("Traps")), (INFORM, lazy_gettext("Informs")))
DEFAULT_PORT = 161
TRAP_PORT = 162
MAX_RECEIVERS = 8
MIN_KEY = 8  # RFC 3414 and net-snmp: a passphrase shorter than 8 characters is refused
MAX_TEXT = 255
USERS_API = "/api/v1/snmp/users"
# the one v3 user's fields before the users had a table (users.py)
MOVED = ("v3_user", "v3_authentication", "v3_auth_key", "v3_privacy_key")


def line_error(text: str) -> str | None:
    """Why a value can't go into snmpd's configuration (a line break, a quote)."""
    if any(c in text for c in '\r\n"\\') or any(ord(c) < 32 for c in text):
        return _("No line breaks, quotes or backslashes.")
    return None


def receiver_address(entry: str) -> tuple[str, int]:
    """A trap receiver as written ("host", "host:port", "[v6]:port") as host and port."""
    if entry.startswith("["):
        host, _bracket, rest = entry[1:].partition("]")
        port = rest.removeprefix(":") or str(TRAP_PORT)
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, str(TRAP_PORT)
    if not entry or not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(entry)
    return host, int(port)


def _receiver_error(entry: str) -> str | None:
    """Why a trap receiver is refused: not a host (and port), or a name that does not
    resolve (a trap sent there would be lost without a word)."""
    try:
        host, port = receiver_address(entry)
    except ValueError:
        return _("write a host, or host:port with a port from 1 to 65535")
    if not is_host(host):
        return _("enter a host name or an IP address, such as nms.example.com or 192.0.2.10")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        return _("the name does not resolve to an address")
    return None


class SnmpSettings(Form):
    """SNMP: version, port, the system group, communities, how v3 notifies, receivers."""

    version = Choice(lazy_gettext("SNMP"), choices=VERSIONS, default=OFF)
    port = StrictInteger(
        lazy_gettext("Port"),
        default=DEFAULT_PORT,
        validators=[
            Present(lazy_gettext("Enter the port SNMP listens on, 1 to 65535.")),
            NumberRange(1, 65535, lazy_gettext("Enter a port from 1 to 65535.")),
        ],
        description=lazy_gettext(
            "The UDP port SNMP managers ask; 161 is the standard one (a port below 1024 "
            "needs doorctl to run as root or with CAP_NET_BIND_SERVICE)."
        ),
    )
    sys_contact = StringField(
        lazy_gettext("Contact"),
        default="",
        validators=[Length(0, MAX_TEXT)],
        description=lazy_gettext("Who looks after this unit (sysContact), such as an e-mail."),
    )
    sys_name = StringField(
        lazy_gettext("Name"),
        default="",
        validators=[Length(0, MAX_TEXT)],
        description=lazy_gettext("The unit's name for managers (sysName); empty: the host name."),
    )
    sys_location = StringField(
        lazy_gettext("Location"),
        default="",
        validators=[Length(0, MAX_TEXT)],
        description=lazy_gettext("Where the unit is (sysLocation), such as Building A, door 3."),
    )
    read_community = StringField(
        lazy_gettext("Read community"), default="", validators=[Length(0, MAX_TEXT)]
    )
    trap_community = StringField(
        lazy_gettext("Trap community"), default="", validators=[Length(0, MAX_TEXT)]
    )
    v3_notification = Choice(lazy_gettext("Send as"), choices=NOTIFICATIONS, default=TRAP)
    trap_receivers = ListField(
        lazy_gettext("Trap receivers"),
        commas=True,
        description=lazy_gettext(
            "Where traps go: a host or host:port (162 if none), one per line; none: no traps."
        ),
    )

    def validate_sys_contact(self, field: Field) -> None:
        _text_rule(field)

    def validate_sys_name(self, field: Field) -> None:
        _text_rule(field)

    def validate_sys_location(self, field: Field) -> None:
        _text_rule(field)

    def validate_read_community(self, field: Field) -> None:
        _text_rule(field)
        if self.version.data == V1_V2C and not field.data:
            raise ValidationError(_("Enter the community that SNMP managers read with."))
        if field.data and any(c.isspace() for c in field.data):
            raise ValidationError(_("A community has no spaces."))

    def validate_trap_community(self, field: Field) -> None:
        _text_rule(field)
        sends = self.version.data == V1_V2C and self.trap_receivers.data
        if sends and not field.data:
            raise ValidationError(_("Enter the community traps are sent with."))
        if field.data and any(c.isspace() for c in field.data):
            raise ValidationError(_("A community has no spaces."))

    def validate_trap_receivers(self, field: Field) -> None:
        if len(field.data) > MAX_RECEIVERS:
            raise ValidationError(_("At most %(most)d receivers.", most=MAX_RECEIVERS))
        for number, entry in enumerate(field.data, 1):
            why = _receiver_error(entry if isinstance(entry, str) else "")
            if why:
                raise ValidationError(_("Receiver %(number)d: %(why)s.", number=number, why=why))


def _text_rule(field: Field) -> None:
    if not isinstance(field.data, str):
        raise StopValidation(_("Must be text."))
    error = line_error(field.data)
    if error:
        raise ValidationError(error)


def sender_check(record: dict, users: list[dict]) -> dict:
    """The rule the form alone can't know: v3 traps need the user they are sent as."""
    sends = record["version"] == V3 and record["trap_receivers"]
    if sends and not any(user["notify"] for user in users):
        return {
            "trap_receivers": _(
                "Add an SNMP v3 user that sends traps first (SNMP v3 users, Sends traps)."
            )
        }
    return {}


def moved_fields(body: dict) -> dict:
    """A message for each v3 user field of an earlier version that a request still
    sends: the users are a resource of their own now."""
    message = _(
        "SNMP v3 users are at %(route)s now: add, change or remove them there.", route=USERS_API
    )
    return {name: message for name in MOVED if name in body}
