"""Strict WTForms fields for settings that arrive as page forms and as REST JSON.

WTForms coerces form text, but data given as `Form(data=...)` (the JSON path and the
store) is taken as is: `bool("false")` is True. These fields refuse a value of the
wrong JSON type with a message, so the API and the page report the same per-field
errors.
"""

from __future__ import annotations

import ipaddress
import math
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from wtforms import (
    BooleanField,
    Field,
    FloatField,
    Form,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import Length, NumberRange, StopValidation, ValidationError

# A host name's labels: letters, digits and hyphens, not starting or ending with one.
HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
SECONDS_RULE = lazy_gettext("Enter a number of seconds, for example 7 or 7.5.")


class Seconds(FloatField):
    """A time in seconds: a JSON number (not true/false), or form text like '7.5'."""

    rule = SECONDS_RULE

    def process_data(self, value):
        if isinstance(value, bool) or not isinstance(value, int | float | None):
            self.data = None
            raise ValueError(str(self.rule))
        self.data = None if value is None else float(value)

    def process_formdata(self, valuelist):
        """Form text as seconds: '7', '7.5' or '7,5'; anything else says what to type."""
        if not valuelist:
            return
        text = valuelist[0].strip().replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            self.data = None
            raise ValueError(str(self.rule))
        self.data = number

    def _value(self):
        """'7', not '7.0': a whole number of seconds shows as a person types it."""
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:g}"


class Switch(BooleanField):
    """On or off: a JSON true/false, or a checkbox on the page."""

    def process_data(self, value):
        if not isinstance(value, bool):
            self.data = False
            raise ValueError(_("Must be true or false."))
        self.data = value


class Choice(SelectField):
    """One of fixed string choices, given as (value, label); anything else is refused."""

    def __init__(self, label=None, validators=None, choices=(), **kwargs):
        options = [SelectChoice(value, text) for value, text in choices]
        super().__init__(label, validators, choices=options, **kwargs)

    def values(self) -> list[str]:
        """The allowed values."""
        return [choice.value for choice in self.choices]

    def pre_validate(self, form):
        if self.data not in self.values():
            values = ", ".join(self.values())
            raise ValidationError(_("Choose one of: %(choices)s.", choices=values))


class Text(StringField):
    """Free text: a JSON string (a number or a list is refused, never turned into text)."""

    def process_data(self, value):
        if not isinstance(value, str | None):
            self.data = ""
            raise ValueError(_("Must be text."))
        self.data = value


class Name(StringField):
    """A display name: text of 1 to 32 characters."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(
            label,
            [Length(1, 32, lazy_gettext("Use 1 to 32 characters.")), *(validators or [])],
            **kwargs,
        )

    def process_data(self, value):
        if not isinstance(value, str | None):
            self.data = ""
            raise ValueError(_("Must be text."))
        self.data = (value or "").strip()

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = valuelist[0].strip()


class OptionalId(StringField):
    """The id of another record, or none: a JSON integer or null, or form text."""

    def process_data(self, value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            self.data = None
            raise ValueError(_("Must be the id of a record (a whole number) or null."))
        self.data = value

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        if text and not text.isdigit():
            raise ValueError(_("Choose one from the list, or none."))
        self.data = int(text) if text else None

    def _value(self):
        return "" if self.data is None else str(self.data)


def seconds(label, default: float, low: float, high: float, description="") -> Seconds:
    """A Seconds field with its allowed range."""
    message = lazy_gettext("Enter %(low)s to %(high)s seconds.", low=f"{low:g}", high=f"{high:g}")
    return Seconds(
        label, [NumberRange(low, high, message)], default=default, description=description
    )


def is_host(text: str) -> bool:
    """Whether `text` is an IP address or a DNS host name (labels of letters, digits and
    hyphens between dots, 253 characters at most): an NTP server, a proxy."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    return len(text) <= 253 and all(HOST_LABEL.fullmatch(label) for label in labels)


class ListField(Field):
    """A list: from JSON as a list, from the page as one item per line of a textarea
    (with `commas`, commas part items too)."""

    def __init__(self, label: str = "", commas: bool = False, **kw):
        super().__init__(label, default=list, **kw)
        self.commas = commas

    def process_data(self, value) -> None:
        self.data = list(value) if isinstance(value, list | tuple) else value

    def process_formdata(self, valuelist: list) -> None:
        text = "\n".join(valuelist)
        if self.commas:
            text = text.replace(",", "\n")
        self.data = [line.strip() for line in text.splitlines() if line.strip()]

    def _value(self) -> str:
        return "\n".join(self.data) if isinstance(self.data, list) else ""

    def pre_validate(self, form) -> None:
        if not isinstance(self.data, list):
            raise ValidationError(_("Must be a list."))


class Present:
    """Required for page forms and JSON alike (0 and False are values too); `message`
    says what to enter where the generic words would not."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is None or (isinstance(field.data, str) and not field.data.strip()):
            field.errors[:] = []
            words = field.process_errors[:1] if self.message is None else [self.message]
            raise StopValidation(str((words or [_("This field is required.")])[0]))


class StrictInteger(IntegerField):
    """An integer that refuses true/false and fractions from JSON."""

    def process_data(self, value) -> None:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            self.data = None
            self.process_errors.append(_("Must be a whole number."))
            return
        super().process_data(value)


def whole_number(value) -> int | None:
    """A select's numeric choice as given (text from the page, a number from JSON); None
    for true/false or a fraction, which are never truncated to a choice."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class NumberChoice(SelectField):
    """One of a few whole numbers (QoS 0 to 2, EAPOL version 1 or 2), with the rule in
    words when the value is another."""

    def __init__(self, label=None, numbers=(), rule="", **kw):
        self.rule = rule
        choices = [SelectChoice(n, str(n)) for n in numbers]
        super().__init__(label, choices=choices, coerce=whole_number, **kw)

    def pre_validate(self, form: Form) -> None:
        if self.data not in [choice.value for choice in self.choices]:
            raise ValidationError(str(self.rule))
