"""JSON answers: a long one is encoded on the hub's threadpool, not on the hub.

Encoding a thousand events or cardholders takes tens of milliseconds of pure Python;
on the hub that is tens of milliseconds in which no reader is polled. On a thread the
hub takes the GIL back within one switch interval whenever a timer or input is due.
"""

from __future__ import annotations

from flask.json.provider import DefaultJSONProvider

from doorctl.core.waiting import computed

# Items of a list in the answer from which encoding goes to a thread; shorter answers
# are encoded faster than a thread's round trip.
LONG = 100


class JSONAnswers(DefaultJSONProvider):
    """Flask's JSON provider, with long answers encoded off the hub."""

    def dumps(self, obj, **kwargs) -> str:
        """The JSON text of `obj`; a long list is encoded on a thread."""
        if _long(obj):
            return computed(_encode, super().dumps, obj, kwargs)
        return super().dumps(obj, **kwargs)


def _long(obj) -> bool:
    """A list of more than LONG items, or a dict holding one at its top level."""
    values = obj.values() if isinstance(obj, dict) else (obj,)
    return any(isinstance(v, list) and len(v) > LONG for v in values)


def _encode(dumps, obj, kwargs: dict) -> str:
    return dumps(obj, **kwargs)
