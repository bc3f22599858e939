"""Connected clients (manual: System > Network): who is connected to the web server now.

The web server reports each connection as it opens and closes, and each request on
it with the user the request logged in as (HTTP Basic or the session cookie) and the
session its cookie names. A client is the open connections of one address, user,
protocol and session (a browser opens several); an event stream holds its connection
open for as long as it is watched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Connection:
    """One open connection to the web server."""

    address: str
    protocol: str
    since: float
    last_request: float | None = None
    user: str | None = None
    streaming: bool = False
    session: str | None = None


class ConnectedClients:
    """The open connections of the HTTP and HTTPS servers."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._open: dict[object, Connection] = {}

    def opened(self, peer: tuple, protocol: str) -> None:
        """A connection from `peer` (address, port) was accepted."""
        self._open[peer] = Connection(str(peer[0]), protocol, self._clock())

    def closed(self, peer: tuple) -> None:
        """The connection from `peer` is closed."""
        self._open.pop(peer, None)

    def request(
        self, peer: tuple, user: str | None, stream: bool, session: str | None = None
    ) -> None:
        """A request on the connection is answered (an event stream stays open)."""
        connection = self._open.get(peer)
        if connection is not None:
            connection.last_request = self._clock()
            connection.user = user or connection.user
            connection.session = session or connection.session
            connection.streaming = stream

    def answered(self, peer: tuple) -> None:
        """The answer is sent in full: an event stream on the connection has ended."""
        connection = self._open.get(peer)
        if connection is not None:
            connection.streaming = False

    def clients(self) -> list[dict]:
        """Every client connected now: address, user, protocol, since, last request,
        open event streams, connections and session, the longest-connected first."""
        groups: dict[tuple, dict] = {}
        for c in list(self._open.values()):
            key = (c.address, c.user, c.protocol, c.session)
            group = groups.setdefault(key, _client(c))
            group["since"] = min(group["since"], c.since)
            if c.last_request and c.last_request > (group["last_request"] or 0):
                group["last_request"] = c.last_request
            group["event_streams"] += c.streaming
            group["connections"] += 1
        return sorted(groups.values(), key=lambda g: g["since"])


def _client(c: Connection) -> dict:
    return {
        "address": c.address,
        "user": c.user,
        "protocol": c.protocol,
        "since": c.since,
        "last_request": c.last_request,
        "event_streams": 0,
        "connections": 0,
        "session": c.session,
    }
