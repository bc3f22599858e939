"""Input from outside the device (REST bodies, MQTT payloads, form text), checked once.

JSON nested thousands deep makes Python's parser raise RecursionError, and JSON may
spell a lone UTF-16 surrogate (`"\\ud800"`), which Python keeps in a str but can
never encode: stored, it made every page that shows it fail. Both are refused here,
at the boundary, with a message naming the field.
"""

from __future__ import annotations

import json

from doorctl.core.errors import Invalid

MAX_DEPTH = 32
MAX_DIGITS = 19
BODY = "body"
NOT_OBJECT = "The request body is not a JSON object"
NOT_TEXT = "Holds a character that is not valid text (a lone surrogate such as \\ud800)."


def is_text(value: str) -> bool:
    """True when `value` can be stored and shown: no lone surrogates."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def whole_number(text: str | None) -> int | None:
    """ASCII digits as a number that fits a record id; None for anything else.

    str.isdigit() also accepts '²' and '٣', which int() refuses or reads as another
    number, and int() of 5,000 digits raises: both were 500s.
    """
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def parse(raw: bytes | str, field: str = BODY):
    """JSON within MAX_DEPTH levels, all strings valid text; raise Invalid naming the field."""
    try:
        value = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise Invalid({field: f"Nested too deeply (at most {MAX_DEPTH} levels)."}) from None
    except ValueError:
        raise Invalid({field: "Not valid JSON."}) from None
    check(value, field)
    return value


def _not_json(constant: str):
    """NaN and Infinity are Python's, not JSON's: a number that is none is refused."""
    raise ValueError(f"{constant} is not a JSON number")


def check(value, field: str = BODY) -> None:
    """Refuse a parsed value nested too deeply or holding a string that is not text.

    An object's own members are named as fields, so the error sits next to the field.
    """
    if isinstance(value, dict):
        errors = {}
        for key, member in value.items():
            name = key if is_text(key) else field
            problem = _problem(key, 2) or _problem(member, 2)
            if problem:
                errors[name] = problem
        if errors:
            raise Invalid(errors)
        return
    problem = _problem(value, 1)
    if problem:
        raise Invalid({field: problem})


def _problem(value, depth: int) -> str | None:
    """What is wrong with a value inside a body: too deep or not text; else None."""
    pending = [(value, depth)]
    while pending:
        item, level = pending.pop()
        if level > MAX_DEPTH:
            return f"Nested too deeply (at most {MAX_DEPTH} levels)."
        if isinstance(item, str) and not is_text(item):
            return NOT_TEXT
        if isinstance(item, dict):
            pending += [(k, level) for k in item] + [(v, level + 1) for v in item.values()]
        elif isinstance(item, list):
            pending += [(v, level + 1) for v in item]
    return None


def json_object(raw: bytes) -> dict:
    """A REST body: one JSON object; raise a clear error for anything else."""
    try:
        body = parse(raw)
    except Invalid as error:
        if BODY not in error.fields:
            raise
        raise Invalid(error.fields, f"{NOT_OBJECT}: {error.fields[BODY]}") from None
    if not isinstance(body, dict):
        raise Invalid({BODY: "Send a JSON object."}, f"{NOT_OBJECT}.")
    return body
