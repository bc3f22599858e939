"""A WTForms form as a JSON schema: the OpenAPI document describes what the forms check.

A section's form validates the page, the JSON and the store; this reads its fields,
their types, choices, ranges, lengths, labels and defaults, so the document can't
say anything else.
"""

from __future__ import annotations

import math

from wtforms import BooleanField, Field, FloatField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Regexp


def form_schema(form_class, partial: bool = False, items: dict | None = None) -> dict:
    """A WTForms form as a JSON object schema: a property per field, with its limits.

    `items` gives the schema of each element of a list field, by field name, where the
    form checks the elements itself (e.g. each MQTT subscription with its own form).
    """
    form = form_class()
    properties = {f.name: field_schema(f) for f in form}
    for name, schema in (items or {}).items():
        properties[name]["items"] = schema
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if not partial:
        schema["required"] = [f.name for f in form if _required(f)]
    return schema


def field_schema(field: Field) -> dict:
    """One field's JSON schema: type, allowed values, range, length, label and default."""
    schema = _field_type(field)
    for validator in field.validators:
        schema.update(_validator_schema(validator, schema))
    schema["title"] = str(field.label.text)
    if field.description:
        schema["description"] = str(field.description)
    default = field.default() if callable(field.default) else field.default
    if default is not None and _is_json(default):
        schema["default"] = default
    return schema


def _field_type(field: Field) -> dict:
    """The JSON type a field takes, from its class (a strict subclass keeps its base's)."""
    if isinstance(field, SelectField):
        values = [c[0] if isinstance(c, tuple) else c.value for c in field.choices or ()]
        return {"enum": list(values)}
    if isinstance(field, BooleanField):
        return {"type": "boolean"}
    if isinstance(field, IntegerField):
        return {"type": "integer"}
    if isinstance(field, FloatField):
        return {"type": "number"}
    if type(field).__name__ == "OptionalId":
        return {"type": ["integer", "null"]}
    if isinstance(field, StringField):
        return {"type": "string"}
    return _type_of(field.default)


def _type_of(value) -> dict:
    """The JSON type of a default value, for a field class this module doesn't know."""
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, kind):
            return {"type": name}
    if isinstance(value, list):
        return {"type": "array"}
    return {"type": "object"} if isinstance(value, dict) else {}


def _validator_schema(validator, schema: dict) -> dict:
    """The JSON schema keywords of a WTForms validator it can express."""
    if isinstance(validator, NumberRange):
        limits = {"minimum": validator.min, "maximum": validator.max}
        return {k: v for k, v in limits.items() if v is not None and math.isfinite(v)}
    if isinstance(validator, Length) and schema.get("type") == "string":
        limits = {"minLength": validator.min, "maxLength": validator.max}
        return {k: v for k, v in limits.items() if v is not None and v >= 0}
    if isinstance(validator, Regexp):
        return {"pattern": validator.regex.pattern}
    return {}


def _required(field: Field) -> bool:
    """A field the request must give: one with a DataRequired/InputRequired validator."""
    return any(getattr(v, "field_flags", {}).get("required") for v in field.validators)


def _is_json(value) -> bool:
    return isinstance(value, bool | int | float | str | list | dict)
