"""One JSON-lines link over a Unix socket: events one way, requests and replies both.

A message is one JSON object on one line: {"event": {...}}, {"call": n, "target",
"method", "args", "kwargs"?}, or {"reply": n, "result"} / {"reply": n, "error": {...}}. Errors
that the web shows (Invalid, NotFound, Conflict) cross the link with their fields, so
a proxied call raises the same error the service itself raises (a kind of a service's
own, such as a door mode that could not be stored, keeps its message and status).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
from collections.abc import Callable

import gevent
import gevent.event
import gevent.lock
from gevent import socket

from doorctl.core import errors
from doorctl.core.logs import actor

log = logging.getLogger(__name__)
CALL_TIMEOUT = 30.0
BYTES = "__bytes__"


class LinkClosed(ConnectionError):
    """The other process went away (it died, or it is restarting)."""


class Link:
    """Both ends of the engine link: send, call and wait for a reply, dispatch."""

    def __init__(self, sock: socket.socket, on_message: Callable[[dict], None]):
        self.sock = sock
        self._file = sock.makefile("rb")
        self._on_message = on_message
        self._ids = itertools.count(1)
        self._waiting: dict[int, gevent.event.AsyncResult] = {}
        self._send_lock = gevent.lock.Semaphore()
        self._closing = False
        self.closed = gevent.event.Event()
        self._reader = gevent.spawn(self._read)

    def send(self, message: dict) -> None:
        """One message as one line; raise LinkClosed if the other end is gone."""
        line = json.dumps(message, separators=(",", ":"), default=_plain).encode() + b"\n"
        with self._send_lock:
            try:
                self.sock.sendall(line)
            except OSError as error:
                raise LinkClosed(str(error)) from None

    def call(self, target: str, method: str, *args, timeout: float = CALL_TIMEOUT, **kwargs):
        """Run `target.method(*args, **kwargs)` on the other side and return its result."""
        if self.closed.is_set():
            raise LinkClosed("the link is closed")
        number = next(self._ids)
        waiting = self._waiting[number] = gevent.event.AsyncResult()
        try:
            message = {"call": number, "target": target, "method": method, "args": args}
            message |= {"actor": who} if (who := actor.current()) else {}  # Audit log
            self.send(message | ({"kwargs": kwargs} if kwargs else {}))
            return waiting.get(timeout=timeout)
        except gevent.Timeout:  # a hung engine is a closed link to the caller, not a crash
            raise LinkClosed(f"no answer to {target}.{method} in {timeout} s") from None
        finally:
            self._waiting.pop(number, None)

    def reply(self, number: int, run: Callable[[], object]) -> None:
        """Run a call and send its result, or the error it raised."""
        try:
            message = {"reply": number, "result": run()}
        except Exception as error:
            message = {"reply": number, "error": encode_error(error)}
        self.send(message)

    def close(self) -> None:
        """Close the socket (the other end reads its end); waiting calls fail."""
        self._closing = True
        with contextlib.suppress(OSError):  # already gone
            self.sock.shutdown(socket.SHUT_RDWR)
        self._reader.kill()
        self._file.close()
        self.sock.close()
        self._fail_waiting()

    def _read(self) -> None:
        try:
            for line in self._file:
                self._dispatch(json.loads(line, object_hook=_unplain))
        except (OSError, ValueError) as error:
            if not self._closing:
                log.warning("engine link broken: %s", error)
        finally:
            self._fail_waiting()

    def _dispatch(self, message: dict) -> None:
        if "reply" in message:
            waiting = self._waiting.get(message["reply"])
            if waiting is not None and "error" in message:
                waiting.set_exception(decode_error(message["error"]))
            elif waiting is not None:
                waiting.set(message.get("result"))
            return
        try:
            self._on_message(message)
        except Exception:
            log.exception("engine link: handling %s failed", sorted(message))

    def _fail_waiting(self) -> None:
        self.closed.set()
        for waiting in list(self._waiting.values()):
            waiting.set_exception(LinkClosed("the engine process is not running"))


def _plain(value):
    """Bytes (a capture file) as base64 in a marked object, sets as lists; anything
    else by its text."""
    if isinstance(value, bytes):
        return {BYTES: base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _unplain(data: dict):
    """What _plain marked, back to bytes."""
    if len(data) == 1 and BYTES in data:
        return base64.b64decode(data[BYTES])
    return data


def encode_error(error: Exception) -> dict:
    """An error as data: the web's own errors keep their class and fields."""
    if isinstance(error, errors.DoorctlError):
        kind, status = type(error).__name__, error.status
        return {"kind": kind, "message": error.message, "fields": error.fields, "status": status}
    log.exception("engine call failed")
    return {"kind": "Error", "message": "The door engine could not do this; see the system log."}


def decode_error(data: dict) -> Exception:
    """The error that encode_error described."""
    if data["kind"] == "Invalid":
        return errors.Invalid(data["fields"], data["message"])
    kind = getattr(errors, data["kind"], None)
    if isinstance(kind, type) and issubclass(kind, errors.DoorctlError):
        return kind(data["message"], data.get("fields"))
    if "status" in data:  # a service's own kind (a door mode not stored: 503)
        error = errors.DoorctlError(data["message"], data.get("fields"))
        error.status = data["status"]
        return error
    return RuntimeError(data["message"])
