"""snmpd's pass_persist child serving doorctl's objects from their snapshot file.

Run as `python -m doorctl.core.system.snmp.pass_persist FILE` (objects.snmpd_lines).

net-snmp's pass_persist protocol on stdin/stdout: "PING" is answered "PONG"; "get"
and "getnext" with an OID on the next line are answered with OID, type and value
lines, or "NONE"; "set" (OID, then "type value") is answered "not-writable": every
object is read-only. FILE is the snapshot objects.py keeps current; it is read again
only when it was replaced (a stat per request), so a walk never asks doorctl anything.
It imports nothing of gevent or Flask, so that snmpd starts it quickly.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from doorctl.core.system.snmp.mib import varbinds

Oid = tuple[int, ...]


class Objects:
    """The snapshot file's objects in OID order, read again when the file changes."""

    def __init__(self, path: Path):
        self.path = path
        self._seen: tuple | None = None
        self._oids: list[Oid] = []
        self._bindings: list[tuple[Oid, str, object]] = []

    def _load(self) -> None:
        try:
            stat = os.stat(self.path)
        except OSError:
            self._seen, self._oids, self._bindings = None, [], []
            return
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen == self._seen:
            return
        try:
            snapshot = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return  # replaced again meanwhile: the next request reads the new one
        self._bindings = varbinds(snapshot)
        self._oids = [binding[0] for binding in self._bindings]
        self._seen = seen

    def get(self, oid: Oid) -> tuple[Oid, str, object] | None:
        """The object at exactly `oid`."""
        self._load()
        at = bisect.bisect_left(self._oids, oid)
        if at < len(self._oids) and self._oids[at] == oid:
            return self._bindings[at]
        return None

    def getnext(self, oid: Oid) -> tuple[Oid, str, object] | None:
        """The first object after `oid`."""
        self._load()
        at = bisect.bisect_right(self._oids, oid)
        return self._bindings[at] if at < len(self._bindings) else None


def parse(text: str) -> Oid | None:
    """ ".1.3.6..." as a tuple of numbers; None when it is not an OID."""
    try:
        return tuple(int(part) for part in text.strip().strip(".").split("."))
    except ValueError:
        return None


def answer(binding: tuple[Oid, str, object] | None) -> str:
    """The reply lines for one object, or NONE."""
    if binding is None:
        return "NONE\n"
    oid, kind, value = binding
    if kind == "string":
        value = " ".join(str(value).splitlines())
    return f".{'.'.join(map(str, oid))}\n{kind}\n{value}\n"


def serve(objects: Objects, requests: TextIO, replies: TextIO) -> None:
    """Answer snmpd until it closes our stdin."""
    for line in requests:
        command = line.strip().lower()
        if command == "ping":
            reply = "PONG\n"
        elif command in ("get", "getnext"):
            oid = parse(requests.readline())
            lookup = objects.get if command == "get" else objects.getnext
            reply = answer(lookup(oid)) if oid is not None else "NONE\n"
        elif command == "set":
            requests.readline()
            requests.readline()
            reply = "not-writable\n"
        else:
            continue  # a blank line, or a command of a later protocol version
        replies.write(reply)
        replies.flush()


def main(argv: list[str]) -> int:
    """Serve the snapshot file named on the command line."""
    if len(argv) != 1:
        print("usage: python -m doorctl.core.system.snmp.pass_persist SNAPSHOT", file=sys.stderr)
        return 2
    serve(Objects(Path(argv[0])), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
