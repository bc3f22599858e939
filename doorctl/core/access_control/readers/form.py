"""A reader's fields: its settings form (Peripherals page and REST API) and its live state."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import Form, IntegerField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional, Regexp, ValidationError

from doorctl.core.fields import Choice, Switch
from doorctl.hal.osdp.bus import BAUD_RATES, POLL_INTERVAL
from doorctl.hal.osdp.secure import SCBK_D

PROTOCOLS = ("osdp", "wiegand")
SECURE_CHANNEL_MODES = ("off", "install", "required")
DIRECTIONS = ("entry", "exit")
FIELDS = (
    "id",
    "protocol",
    "port",
    "baud",
    "address",
    "secure_channel",
    "poll_interval",
    "door_id",
    "direction",
    "enabled",
)
BUS_FIELDS = ("port", "baud", "address", "secure_channel", "poll_interval")
# Write-only: the reader's secure channel key goes to the key store, never back out;
# a reader shows only when its key was set (KEY_SET_FIELD).
KEY_FIELD = "secure_channel_key"
KEY_SET_FIELD = "secure_channel_key_set"
# 16 bytes as 32 hex digits; installers' tools print them in pairs, so a space, colon
# or dash may separate the pairs.
KEY_PATTERN = r"^$|^ *([0-9A-Fa-f]{2}[ :-]?){15}[0-9A-Fa-f]{2} *$"
# Settings of the bus itself, which every reader on it must share.
SHARED_FIELDS = {"baud": "baud rate", "poll_interval": "poll interval"}
READERS_PER_BUS = 2
WIEGAND_ID = "wiegand"
LIVE_DEFAULTS = {
    "online": False,
    "state": "stopped",
    "sc": "off",
    "sc_cause": None,
    "vendor": None,
    "model": None,
    "version": None,
    "serial": None,
    "firmware": None,
    "capabilities": {},
    "tamper": None,
    "power": None,
    "error": None,
    "upgradable": False,
    "upgrade": None,
    "naks": {},
}


class Whole(IntegerField):
    """A whole number: a JSON integer (not true/false, not text), or form text like '9600'."""

    def process_data(self, value):
        if isinstance(value, bool) or not isinstance(value, int | None):
            self.data = None
            raise ValueError(_("Enter a whole number."))
        self.data = value


def key_bytes(text: str) -> bytes:
    """A key as entered (hex, pairs maybe separated) as its 16 bytes; checked before."""
    return bytes.fromhex("".join(ch for ch in text if ch not in " :-"))


def key_problem(text: str) -> str | None:
    """What is wrong with a key as entered, in words; None if it is a key."""
    digits = "".join(ch for ch in text if ch not in " :-")
    bad = sorted({ch for ch in digits if ch not in "0123456789abcdefABCDEF"})
    if bad:
        return _("Use hex digits only (0-9, a-f); %(bad)s is not one.", bad=repr("".join(bad)))
    if len(digits) != 32:
        return _("A secure channel key is 16 bytes: 32 hex digits, not %(num)d.", num=len(digits))
    if bytes.fromhex(digits) == SCBK_D:
        return _("That is OSDP's published install key (SCBK-D): give the reader's own key.")
    return None


class SecureChannelKey(Regexp):
    """The key field's check: its pattern for the API document, and a message per fault."""

    def __init__(self):
        super().__init__(KEY_PATTERN)

    def __call__(self, form, field):
        if not isinstance(field.data, str):
            raise ValidationError(_("Must be text."))
        problem = key_problem(field.data) if field.data else None
        if problem:
            raise ValidationError(problem)


class ReaderForm(Form):
    """One reader, as the Peripherals page and the REST API give it."""

    id = StringField(
        lazy_gettext("Reader id"),
        [
            DataRequired(),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
                message=lazy_gettext(
                    "Use 1 to 32 letters, digits, - and _, starting with a letter or digit."
                ),
            ),
        ],
    )
    protocol = Choice(
        lazy_gettext("Protocol"), choices=[("osdp", "OSDP"), ("wiegand", "Wiegand")], default="osdp"
    )
    port = StringField(lazy_gettext("Port (serial device)"), [Optional()], default="")
    baud = Whole(lazy_gettext("Baud rate"), default=115200)
    address = Whole(
        lazy_gettext("Address"), [NumberRange(0, 126, lazy_gettext("Use 0 to 126."))], default=0
    )
    secure_channel = Choice(
        lazy_gettext("Secure channel"),
        choices=[
            ("off", lazy_gettext("Off")),
            ("install", lazy_gettext("Install mode")),
            ("required", lazy_gettext("Required")),
        ],
        default="off",
    )
    poll_interval = Whole(
        lazy_gettext("Poll interval (ms)"),
        [NumberRange(10, 1000, lazy_gettext("Use 10 to 1000 ms."))],
        default=round(POLL_INTERVAL * 1000),
        description=lazy_gettext(
            "A card waits at most this long to be read; shorter costs more CPU."
        ),
    )
    secure_channel_key = StringField(
        lazy_gettext("Secure channel key"),
        [SecureChannelKey()],
        default="",
        description=lazy_gettext(
            "The reader's own key (SCBK), 32 hex digits; write-only. Empty keeps the stored key."
        ),
    )
    door_id = Whole(lazy_gettext("Door"), default=1)
    direction = Choice(
        lazy_gettext("Direction"),
        choices=[("entry", lazy_gettext("Entry")), ("exit", lazy_gettext("Exit"))],
        default="entry",
    )
    enabled = Switch(
        lazy_gettext("In use"),
        default=True,
        description=lazy_gettext(
            "The Wiegand reader can be taken out of use, so that the reader connector carries "
            "OSDP readers; an OSDP reader is in use while it is configured."
        ),
    )

    def validate_baud(self, field):
        if field.data not in BAUD_RATES:
            raise ValidationError(
                _("Choose one of: %(bauds)s.", bauds=", ".join(map(str, BAUD_RATES)))
            )

    def validate_enabled(self, field):
        if self.protocol.data == "osdp" and field.data is False:
            raise ValidationError(
                _("An OSDP reader is in use while it is configured; remove it instead.")
            )

    def validate_port(self, field):
        if not isinstance(field.data, str):
            raise ValidationError(_("Must be text."))
        if self.protocol.data == "osdp" and not field.data.strip():
            raise ValidationError(_("Give the serial port of the RS-485 bus, e.g. /dev/ttyAMA0."))


def defaults() -> dict:
    """A new reader's values before the request's."""
    return {k: v for k, v in ReaderForm().data.items() if k not in ("id", KEY_FIELD)}


def summary(errors: dict[str, str]) -> str:
    """Every field's message after its label, as the page shows it ("Baud rate: ..."),
    in the form's order."""
    labels = {name: str(field.label.text) for name, field in ReaderForm()._fields.items()}
    order = [*(name for name in labels if name in errors), *(n for n in errors if n not in labels)]
    return " ".join(f"{labels.get(name, name)}: {errors[name]}" for name in order)
