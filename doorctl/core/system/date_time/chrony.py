"""chrony, the time engine: its sources file written, reloaded and read with chronyc.

doorctl runs as an ordinary user: it writes only its own sources file (chrony's
`sourcedir` reads it at `chronyc reload sources`) and talks to chronyd through the
command socket (chronyc -h /path), which needs membership of chrony's group, never
root. The manual date and time goes through chronyd too (`settime`, with the
`manual` directive in chrony's configuration), so the clock is set by the daemon
that owns it.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import gettext as _
from gevent import subprocess

from doorctl.core.waiting import off_hub

log = logging.getLogger(__name__)
TIMEOUT = 5.0
# Fields of chronyc's CSV lines, by command (told apart by their number of fields).
TRACKING_FIELDS = 14
SOURCES_FIELDS = 10
# A source's state in `chronyc sources`: '*' is the one the clock follows.
SELECTED, COMBINED, UNREACHABLE = "*", "+", "?"
FALSETICKER, TOO_VARIABLE = "x", "~"


class ChronyError(Exception):
    """chronyc could not do what was asked; the message says why, for the installer."""


@dataclass(frozen=True)
class Source:
    """One NTP source as chronyc lists it."""

    name: str
    state: str
    stratum: int
    poll: int
    reach: int
    last_rx: float | None
    offset: float


@dataclass(frozen=True)
class Reading:
    """chronyd's tracking and sources at one moment."""

    reference: str
    stratum: int
    offset: float
    leap: str
    sources: tuple[Source, ...]


class Chrony:
    """One chronyd, reached through its command socket; `sources_file` is doorctl's."""

    def __init__(self, socket: str, sources_file: str, chronyc: str = "chronyc"):
        self.socket = socket
        self.sources_file = Path(sources_file)
        self.chronyc = chronyc

    def run(self, *commands: str, harmless: str = "") -> str:
        """chronyc's output for one or more commands; raise ChronyError saying why not
        (not for a refusal that says `harmless`)."""
        argv = [self.chronyc, "-h", self.socket, "-c", "-N", "-m", *commands]
        try:
            with off_hub():  # chronyd may be slow to answer: other requests go on
                done = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                    env={**os.environ, "TZ": "UTC"},
                )
        except FileNotFoundError:
            raise ChronyError(_("chronyc is not installed.")) from None
        except subprocess.TimeoutExpired:
            raise ChronyError(_("chronyd did not answer within %(s)d s.", s=TIMEOUT)) from None
        if done.returncode != 0 and not (harmless and harmless in done.stdout + done.stderr):
            raise ChronyError(self._refusal(done.stdout + done.stderr))
        return done.stdout

    def _refusal(self, output: str) -> str:
        """chronyc's own words about a failure, or what a missing socket means."""
        if not Path(self.socket).exists():
            return _("chronyd is not running (no command socket at %(path)s).", path=self.socket)
        words = " ".join(output.split()) or _("no answer")
        return _("chronyd refused: %(words)s", words=words[:200])

    def read(self) -> Reading:
        """Tracking and sources in one call of chronyc."""
        rows = list(csv.reader(self.run("tracking", "sources").splitlines()))
        tracking = next((r for r in rows if len(r) == TRACKING_FIELDS), None)
        if tracking is None:
            raise ChronyError(_("chronyd's answer was not understood."))
        sources = tuple(_source(r) for r in rows if len(r) == SOURCES_FIELDS and r[0] == "^")
        return Reading(
            reference=tracking[1] or tracking[0],
            stratum=int(tracking[2]),
            offset=float(tracking[4]),
            leap=tracking[13],
            sources=sources,
        )

    def write_sources(self, lines: list[str]) -> None:
        """Write doorctl's sources file whole (a new file renamed over the old one) and
        have chronyd read it again."""
        text = "".join(f"{line}\n" for line in lines)
        if self._current() == text:
            return
        if self._same_address_changed(lines):
            # chronyd keys a source by its address: one whose port or options change
            # must go before it can come back.
            self._replace("")
        self._replace(text)

    def _current(self) -> str | None:
        try:
            return self.sources_file.read_text()
        except OSError:
            return None

    def _same_address_changed(self, lines: list[str]) -> bool:
        old = {line.split()[1]: line for line in (self._current() or "").splitlines() if line}
        new = {line.split()[1]: line for line in lines}
        return any(address in old and old[address] != line for address, line in new.items())

    def _replace(self, text: str) -> None:
        partial = self.sources_file.with_suffix(".new")
        try:
            partial.write_text(text)
            partial.replace(self.sources_file)
        except OSError as error:
            why = error.strerror or str(error)
            message = _("%(path)s could not be written: %(why)s", path=self.sources_file, why=why)
            raise ChronyError(message) from None
        self.run("reload sources")

    def settime(self, moment: datetime) -> None:
        """Set the clock through chronyd (`settime`), from an aware datetime."""
        utc = moment.astimezone(UTC)
        self.run(f"settime {utc:%Y-%m-%d %H:%M:%S}")

    def online(self, online: bool) -> None:
        """Let chronyd ask its NTP sources (or stop asking them, for the manual time)."""
        self.run("online" if online else "offline", harmless="No such source")


def _source(row: list[str]) -> Source:
    """A `sources` CSV line: mode, state, name, stratum, poll, reach, last rx, offsets."""
    last_rx = int(row[6]) if row[6].lstrip("-").isdigit() else None
    return Source(
        name=row[2],
        state=row[1],
        stratum=int(row[3]),
        poll=int(row[4]),
        reach=int(row[5], 8),
        last_rx=None if last_rx is None or last_rx >= 2**32 - 1 else float(last_rx),
        offset=float(row[7]),
    )
