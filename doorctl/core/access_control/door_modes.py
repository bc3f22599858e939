"""Door modes, after ONVIF's DoorMode, and the commands that set them.

Locked is the normal, secure mode (card access works); Accessed is a momentary
unlock for the access time; Unlocked holds the lock released; Blocked refuses cards
but REX still lets people out; Locked down and Locked open are overrides that only
"release" (return to normal) ends.

The held modes (all but Accessed) and the scheduled unlock's state are stored when
set, and an operator's command is answered only once its mode is on disk, so that a
restart or a power cut gives the door back the mode it was last given. A mode the disk
refused (the command was answered with an error) is written again until it is in.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import time
from collections import deque
from dataclasses import dataclass

import gevent
import gevent.event

from doorctl.core import diskwriter
from doorctl.core.diskwriter import DiskWriter
from doorctl.core.errors import DoorctlError
from doorctl.core.store import Store
from doorctl.core.waiting import off_hub

log = logging.getLogger(__name__)

LOCKED, UNLOCKED, ACCESSED, BLOCKED = "locked", "unlocked", "accessed", "blocked"
LOCKED_DOWN, LOCKED_OPEN = "locked_down", "locked_open"
ONVIF_MODE = {
    LOCKED: "Locked",
    UNLOCKED: "Unlocked",
    ACCESSED: "Accessed",
    BLOCKED: "Blocked",
    LOCKED_DOWN: "LockedDown",
    LOCKED_OPEN: "LockedOpen",
}
RELEASED_MODES = (UNLOCKED, ACCESSED, LOCKED_OPEN)
ACTIONS = ("access", "lock", "unlock", "block", "lockdown", "lockopen", "release")
# The actions an override refuses until "release" (lockdown may replace locked open).
REFUSED_DURING = {
    LOCKED_DOWN: ("access", "lock", "unlock", "block", "lockopen"),
    LOCKED_OPEN: ("access", "lock", "unlock", "block"),
}
RESTORED = "restored after restart"
# How long an operator's command waits for its mode to reach the disk before it is
# answered with an error; an SD card commit takes tens of milliseconds.
STORE_TIMEOUT = 10.0


class NotStored(DoorctlError):
    """The mode is in effect but did not reach the disk: a restart would lose it."""

    status = 503


@dataclass(frozen=True)
class HeldMode:
    """What a restart must give back: the base mode, the override, the scheduled unlock."""

    base_mode: str = LOCKED
    override: str | None = None
    scheduled: bool = False
    schedule_held: bool = False
    first_in_seen: bool = False


class DoorModes:
    """The doors' held modes on disk: written on a thread of their own, read back at start."""

    def __init__(self, store: Store):
        self._restored = _load(store)
        self._last = dict(self._restored)
        self._numbers: dict[int, int] = {}
        self._count = itertools.count(1)
        self._queue: deque[tuple[int, int, HeldMode]] = deque()
        self._stored = 0
        self._failure = ""
        self._written = gevent.event.Event()
        self._writer = DiskWriter(store.path, self._write_queued, lambda: bool(self._queue))
        self._writer.on_written = self._on_written
        self.running = False

    def start(self) -> None:
        """Start the writer (a door's mode reaches the disk off the hub)."""
        self._writer.start()
        self.running = True

    def stop(self) -> None:
        """Write what is queued, then stop."""
        self.running = False
        self._writer.stop()

    def restored(self, door_id: int) -> HeldMode | None:
        """The held mode stored before this start, None when the door never had one."""
        return self._restored.get(door_id)

    def keep(self, door_id: int, held: HeldMode) -> int:
        """Queue a door's held mode for the disk (unless unchanged); the number to wait for."""
        if self._last.get(door_id) != held:
            self._last[door_id] = held
            self._numbers[door_id] = next(self._count)
            self._queue.append((self._numbers[door_id], door_id, held))
            self._writer.poke()
        return self._numbers.get(door_id, 0)

    def wait(self, number: int, timeout: float = STORE_TIMEOUT) -> None:
        """Return once the held mode `number` is on disk (synchronous FULL); raise NotStored."""
        if not self.running:
            self._writer.flush()
        else:
            self._wait_written(number, timeout)
        if self._stored < number:
            raise NotStored(
                "The door is in the new mode, but it could not be stored: after a restart "
                "the door would return to the mode stored before. See the system log."
            )

    def _wait_written(self, number: int, timeout: float) -> None:
        """Wait for writes until one stored `number`, failed, or the time ran out."""
        if self._stored < number:
            self._writer.poke()  # a command repeated after a failed write tries again
        with off_hub(), gevent.Timeout(timeout, False):
            while self._stored < number:
                written = self._written
                written.wait()
                if self._failure and self._stored < number:
                    return

    def _write_queued(self, conn: sqlite3.Connection) -> None:
        """Store the latest held mode of each queued door in one commit (writer thread)."""
        batch = [self._queue.popleft() for _ in range(len(self._queue))]
        if not batch:
            return
        latest = {door_id: (number, held) for number, door_id, held in batch}
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR REPLACE INTO door_modes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [_row(door_id, held) for door_id, (_, held) in latest.items()],
                )
        except sqlite3.Error as error:
            self._queue.extendleft(reversed(batch))  # kept for the next attempt
            self._failure = str(error)
            return
        self._failure = ""
        self._stored = max(number for number, _ in latest.values())

    def _on_written(self) -> None:
        """On the hub after each write: wake the commands waiting for their mode; after a
        failed one, try again soon, so that the mode reaches the disk without a new command."""
        if self._failure:
            log.error("door mode not stored: %s", self._failure)
            gevent.spawn_later(diskwriter.RETRY_DELAY, self._writer.poke)
        written, self._written = self._written, gevent.event.Event()
        written.set()


def _row(door_id: int, held: HeldMode) -> tuple:
    return (
        door_id,
        held.base_mode,
        held.override,
        int(held.scheduled),
        int(held.schedule_held),
        int(held.first_in_seen),
        time.time(),
    )


def _load(store: Store) -> dict[int, HeldMode]:
    """Every door's stored held mode (read once, at start, before any service runs)."""
    rows = store.execute("SELECT * FROM door_modes").fetchall()
    return {
        row["door"]: HeldMode(
            row["base_mode"],
            row["override"],
            bool(row["scheduled"]),
            bool(row["schedule_held"]),
            bool(row["first_in_seen"]),
        )
        for row in rows
    }
