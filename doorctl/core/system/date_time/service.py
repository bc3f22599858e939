"""Date and time (System > Date and time; Status > Time sync): chrony applies the
synchronization, timedatectl the system's time zone, and the sync state is watched.

A saved record reaches chronyd only while chronyd answers: on a PC without it (in
development) the page says so and the time zone still applies to schedules and logs;
once chronyd answers, the stored synchronization is applied (never the manual time
again: it is set once, when saved). A lost or regained sync is an event.
"""

from __future__ import annotations

import logging
import shlex
import socket
import time

import gevent
import gevent.lock
from flask_babel import gettext as _
from gevent import subprocess

from doorctl.core.events import EventBus
from doorctl.core.settings import Settings
from doorctl.core.system.date_time.chrony import (
    FALSETICKER,
    SELECTED,
    TOO_VARIABLE,
    Chrony,
    ChronyError,
    Reading,
    Source,
)
from doorctl.core.system.date_time.settings import (
    DHCP,
    MANUAL,
    NTP,
    NTP_PORT,
    SECTION,
    manual_time,
    system_zone,
    zone_of,
)
from doorctl.core.waiting import off_hub

log = logging.getLogger(__name__)
SYNC_TOPIC = "tns1:Device/Time/Synchronization"
CHECK_SECONDS = 30.0
# How long one reading of chronyd serves every page and API call (open tabs poll).
FRESH_SECONDS = 2.0
NOT_SYNCHRONISED = "Not synchronised"


class DateTime:
    """The date and time service: start(), stop(), apply(record), status()."""

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        chrony: Chrony,
        timedatectl: str = "",
        server_options: str = "iburst",
    ):
        self.bus = bus
        self.chrony = chrony
        self.timedatectl = shlex.split(timedatectl)
        self.server_options = server_options
        self.record = settings.get(SECTION)
        self.check_every = CHECK_SECONDS
        self.problem: str | None = None
        self.applied = False
        self.synchronized: bool | None = None
        self._watcher: gevent.Greenlet | None = None
        self._last: tuple[float, dict] | None = None
        self._reading = gevent.lock.Semaphore()

    def use(self, chrony: Chrony, timedatectl: str, server_options: str) -> None:
        """The engines to use (their paths and commands are the app's configuration)."""
        self.chrony = chrony
        self.timedatectl = shlex.split(timedatectl)
        self.server_options = server_options

    def start(self) -> None:
        """Watch chronyd: apply the stored synchronization once it answers, and tell
        when the sync is lost or regained."""
        self._watcher = gevent.spawn(self._watch)

    def stop(self) -> None:
        """Stop watching."""
        if self._watcher is not None:
            self._watcher.kill()

    def _watch(self) -> None:
        while True:
            if not self.applied:
                self._configure(self.record, set_time=False)
            self.status()
            gevent.sleep(self.check_every)

    def apply(self, record: dict) -> None:
        """A saved record: the system's zone if it changed, chrony if its part did."""
        old, self.record, self._last = self.record, record, None
        if record["time_zone"] != old["time_zone"] and record["time_zone"]:
            self._set_system_zone(record["time_zone"])
        if _engine_part(record) != _engine_part(old) or not self.applied:
            self._configure(record, set_time=True)

    def sources(self, record: dict) -> list[str]:
        """The lines of doorctl's sources file for a record (none: DHCP's or manual)."""
        if record["synchronization"] != NTP:
            return []
        lines = []
        for server in record["ntp_servers"]:
            # an NTS server's port is its key exchange's (chrony's ntsport, 4460 if 123)
            port = "" if server["port"] == NTP_PORT else f" port {server['port']}"
            if server["nts"]:
                port = port.replace("port", "ntsport") + " nts"
            lines.append(f"server {server['address']} {self.server_options}{port}")
        return lines

    def _configure(self, record: dict, set_time: bool) -> None:
        """Write the sources, reload, and set the manual time; remember any failure."""
        try:
            self.chrony.read()
            self.chrony.write_sources(self.sources(record))
            self.chrony.online(record["synchronization"] != MANUAL)
            if set_time and record["synchronization"] == MANUAL:
                moment = manual_time(record["manual_time"]).replace(tzinfo=zone_of(record))
                self.chrony.settime(moment)
        except ChronyError as error:
            if str(error) != self.problem:  # at start, chrony may just not be here (a PC)
                level = logging.WARNING if set_time else logging.INFO
                log.log(level, "date and time not applied to chrony: %s", error)
            self.problem, self.applied = str(error), False
            return
        self.problem, self.applied = None, True

    def _set_system_zone(self, zone: str) -> None:
        """The system's time zone, through timedatectl (polkit lets doorctl's user)."""
        if not self.timedatectl:
            return
        try:
            argv = [*self.timedatectl, "set-timezone", zone]
            with off_hub():
                done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            failed = done.returncode != 0 and " ".join((done.stderr or done.stdout).split())
        except (OSError, subprocess.TimeoutExpired) as error:
            failed = str(error)
        if failed:
            self.problem = _("The system's time zone could not be set: %(why)s", why=failed)
            log.warning("timedatectl set-timezone %s failed: %s", zone, failed)

    def status(self) -> dict:
        """The Time sync state: in sync or not and why, the server, offset, next sync.

        One reading of chronyd serves every caller for FRESH_SECONDS (each open page
        polls), and a settings change reads again at once."""
        with self._reading:
            last = self._last
            if last is None or time.monotonic() - last[0] > FRESH_SECONDS:
                record = self.record
                last = (time.monotonic(), self._read())
                if self.record is record:  # a save meanwhile: the next call reads again
                    self._last = last
        return {**last[1], "time": time.time(), "problem": self.problem}

    def _read(self) -> dict:
        """Ask chronyd; a lost or regained sync is announced here, where it is seen."""
        record = self.record
        state = {
            "synchronization": record["synchronization"],
            "time_zone": record["time_zone"] or system_zone(),
            "time": time.time(),
            "reachable": False,
            "synchronized": False,
            "server": None,
            "offset": None,
            "stratum": None,
            "next_sync": None,
            "reason": None,
            "problem": self.problem,
            "sources": [],
        }
        try:
            reading = self.chrony.read()
        except ChronyError as error:
            return {**state, "reason": _("chrony is not reachable: %(why)s", why=error)}
        state.update(_reading(reading))
        if not state["synchronized"]:
            state["reason"] = self._reason(record, reading)
        self._announce(state)
        return state

    def _reason(self, record: dict, reading: Reading) -> str:
        """Why the clock is not in sync, in the installer's words."""
        if record["synchronization"] == MANUAL:
            return _("The date and time are set by hand.")
        by_name = {source.name: source for source in reading.sources}
        wanted = [server["address"] for server in record["ntp_servers"]]
        if record["synchronization"] == DHCP:
            wanted = list(by_name)
        for name in wanted:
            if problem := _source_problem(name, by_name.get(name)):
                return problem
        if not reading.sources:
            if record["synchronization"] == DHCP:
                return _("There is no NTP server: DHCP gave none.")
            return _("There is no NTP server.")
        return _("Waiting for enough answers from the NTP servers.")

    def _announce(self, state: dict) -> None:
        """An event when the sync is lost or regained (not for the first look)."""
        was, self.synchronized = self.synchronized, state["synchronized"]
        if was is None or was == state["synchronized"]:
            return
        data = {"state": "synchronized" if state["synchronized"] else "lost"}
        data.update({k: state[k] for k in ("server", "reason") if state[k]})
        self.bus.publish(SYNC_TOPIC, {}, data)


def _engine_part(record: dict) -> tuple:
    """What chrony applies of a record: the manual time only in manual mode."""
    manual = record["manual_time"] if record["synchronization"] == MANUAL else None
    return record["synchronization"], repr(record["ntp_servers"]), manual


def _reading(reading: Reading) -> dict:
    """The state's part that chronyd's tracking and sources give."""
    selected = next((s for s in reading.sources if s.state == SELECTED), None)
    synchronized = selected is not None and reading.leap != NOT_SYNCHRONISED
    next_sync = None
    if selected is not None and selected.last_rx is not None:
        next_sync = max(0.0, 2.0**selected.poll - selected.last_rx)
    return {
        "reachable": True,
        "synchronized": synchronized,
        "server": selected.name if selected else None,
        "offset": reading.offset if synchronized else None,
        "stratum": reading.stratum if synchronized else None,
        "next_sync": next_sync,
        "sources": [
            {"name": s.name, "state": s.state, "reach": s.reach, "stratum": s.stratum}
            for s in reading.sources
        ],
    }


def _source_problem(name: str, source: Source | None) -> str | None:
    """Why one server does not set the clock, or None when nothing is wrong with it."""
    if source is None:
        if not _resolves(name):
            return _("The name %(name)s does not resolve.", name=name)
        return _("chronyd has not taken %(name)s yet.", name=name)
    if source.reach == 0:
        return _("No answer from %(name)s.", name=name)
    if source.state == FALSETICKER:
        return _("%(name)s's time disagrees with the other servers.", name=name)
    if source.state == TOO_VARIABLE:
        return _("%(name)s's time varies too much to be trusted.", name=name)
    return None


def _resolves(name: str) -> bool:
    """Whether a host name (or address) resolves, within 3 s."""
    try:
        with gevent.Timeout(3):
            return bool(socket.getaddrinfo(name, None))
    except (OSError, gevent.Timeout):
        return False
