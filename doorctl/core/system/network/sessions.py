"""Connected clients (System > Network): an administrator ends one client's session.

Each login starts a session with its own random id, kept in the signed cookie. Ending
a session stores its id; a cookie that names an ended session logs nobody in from its
next request on, while the user's other sessions go on. Ids older than the longest
idle timeout are forgotten: a cookie that old has ended by itself.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from doorctl.core.store import Store, Transaction

ENDED_TOPIC = "tns1:Device/User/SessionEnded"
# The longest idle timeout a session may have (Users > Session settings).
KEEP_SECONDS = 86400


def new_session_id() -> str:
    """A fresh, unguessable session id for a login."""
    return secrets.token_hex(12)


class EndedSessions:
    """The sessions ended one by one, checked on every request (a set in memory)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock
        cutoff = clock() - KEEP_SECONDS
        rows = store.execute("SELECT session FROM ended_sessions WHERE ended > ?", (cutoff,))
        self._ended = {row[0] for row in rows}

    def ended(self, session: str | None) -> bool:
        """Whether this session was ended by an administrator."""
        return session in self._ended

    def end(self, session: str, user: str | None, by: str, address: str) -> None:
        """End one session, with an event naming who ended whose session."""
        self.store.write(_end, session, self.clock(), {"user": user}, by, address)
        self._ended.add(session)


def _end(tx: Transaction, session: str, now: float, whose: dict, by: str, address: str):
    tx.execute("DELETE FROM ended_sessions WHERE ended < ?", (now - KEEP_SECONDS,))
    tx.execute(
        "INSERT OR REPLACE INTO ended_sessions (session, ended) VALUES (?, ?)", (session, now)
    )
    tx.event(ENDED_TOPIC, whose, {"by": by, "address": address})
