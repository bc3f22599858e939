"""Configuration changes as events, so the log says who-changed-what for access data.

Topics follow ONVIF's access-control configuration events:
`tns1:Configuration/<Kind>/Changed` after a create or update, `.../Removed` after a
delete, with the record's id in the key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

Announce = Callable[[str, dict], None]


def _record_id(args: tuple, result) -> object:
    if args and isinstance(args[0], int):
        return args[0]
    if isinstance(result, dict):
        return result.get("id")
    return getattr(result, "id", None)


def audited(kind: str) -> Callable:
    """Publish the change through the store's `announce` once the method succeeded."""

    def decorate(method: Callable) -> Callable:
        change = "Removed" if method.__name__ == "delete" else "Changed"

        @functools.wraps(method)
        def run(store, *args, **kwargs):
            result = method(store, *args, **kwargs)
            topic = f"tns1:Configuration/{kind}/{change}"
            store.announce(topic, {"id": _record_id(args, result), "action": method.__name__})
            return result

        return run

    return decorate


def silent(topic: str, data: dict) -> None:
    """The default announce: tell no one (a store used on its own, e.g. by the CSV import)."""
