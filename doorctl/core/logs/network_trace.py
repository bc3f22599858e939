"""Network trace (manual: Logs > Network trace): the unit's own traffic, recorded by
tcpdump for a while and downloaded as a pcap file that Wireshark opens.

One trace at a time. tcpdump runs as a child under gevent's subprocess (the hub serves
on while it records); it is ended when its duration is over, when an administrator
stops it, when the page that started it is gone, when its file is full, or when
doorctl stops, and it dies with doorctl should doorctl itself be killed. The file is
bounded: the trace stops once it holds MAX_FILE_MB (its first MAX_FILE_MB of traffic),
so a long trace on a busy link can't fill the card. A finished trace is kept
KEEP_SECONDS for its download, then deleted.
tcpdump needs CAP_NET_RAW: as root it has it; a service user gets it from systemd's
AmbientCapabilities=CAP_NET_RAW, which tcpdump inherits.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import pwd
import shutil
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import gevent
from flask_babel import gettext as _
from gevent import subprocess

from doorctl.core.children import die_with_parent, stop
from doorctl.core.errors import Conflict, Invalid, NotFound
from doorctl.core.waiting import off_hub

log = logging.getLogger(__name__)
TOPIC = "tns1:Device/Network/Trace"
TCPDUMP = "/usr/bin/tcpdump"
ALL = "any"
# One second to 30 minutes: long enough to catch a fault an installer reproduces or
# waits for (a broker that drops the unit every few minutes), short enough that a
# forgotten trace ends the same hour, or sooner when its file is full.
SECONDS = (1, 30 * 60)
UNITS = {"seconds": 1, "minutes": 60}
MAX_FILE_MB = 50  # tcpdump's -C counts millions of bytes
# tcpdump starts a second file once the first holds -C; how often that is looked for.
FULL_CHECK_SECONDS = 0.5
KEEP_SECONDS = 15 * 60
# A trace started from a page lives while the browser that started it is there: its
# page asks for the state every 2 s, and any other page of the same login counts too.
# When none has come for this long the browser has gone: the trace ends, its file goes.
LEASE_SECONDS = 60
# How long tcpdump may take to open the interface and say that it listens.
READY_SECONDS = 10
FILE = "network-trace.pcap"
PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER = 47, 2, 3
CAP_NET_RAW = 13  # linux/capability.h
# The source of what the device does on its own (no user): the trace doorctl ends as it stops.
DEVICE: dict = {}


def interfaces(net: Path = Path("/sys/class/net")) -> list[str]:
    """The network interfaces of the unit, by name."""
    try:
        return sorted(path.name for path in net.iterdir())
    except OSError:
        return []


def seconds_of(duration, unit) -> tuple[int | None, dict[str, str]]:
    """A duration and its unit as whole seconds, or the fields' messages."""
    errors = {}
    if not isinstance(unit, str) or unit not in UNITS:
        errors["unit"] = _("Choose one of: %(choices)s.", choices=", ".join(UNITS))
    number = not isinstance(duration, bool) and isinstance(duration, int | float)
    if not number or not math.isfinite(duration) or duration != int(duration):
        errors["duration"] = _("Enter a whole number, for example 30.")
    elif not errors and not SECONDS[0] <= duration * UNITS[unit] <= SECONDS[1]:
        errors["duration"] = _(
            "Enter a duration from 1 second to %(minutes)d minutes.", minutes=SECONDS[1] // 60
        )
    return (None if errors else int(duration) * UNITS[unit]), errors


def keep_net_raw_for_tcpdump() -> None:
    """Take CAP_NET_RAW (the unit's AmbientCapabilities=, for tcpdump) out of this
    process's ambient set, so the programs doorctl runs (snmpd and its pass_persist,
    chronyc, nmcli, the engine) start without it; only tcpdump gets it back
    (_die_with_doorctl). doorctl itself keeps it, to hand on. Harmless where it is not
    ambient (root, development)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_RAW, 0, 0)


def _die_with_doorctl() -> None:
    """In tcpdump, before it runs: SIGTERM when doorctl dies, so no trace outlives it,
    and CAP_NET_RAW in its ambient set again for the capture (refused where doorctl
    has none to give, as root: then tcpdump needs none, or says it lacks it)."""
    die_with_parent(signal.SIGTERM)
    ctypes.CDLL(None, use_errno=True).prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0)


class NetworkTrace:
    """The one network trace: start it, follow it, stop it, download it."""

    def __init__(self, data_dir: Path, publish: Callable | None = None):
        self.folder = data_dir / "network-trace"
        self.tcpdump = TCPDUMP
        self.publish = publish or (lambda *args: None)
        self.lease_seconds = LEASE_SECONDS
        self.keep_seconds = KEEP_SECONDS
        self.max_file_mb = MAX_FILE_MB
        self.trace: dict | None = None
        self.starting = False  # while tcpdump is being started, for a trace asked for

    # --- the service --------------------------------------------------------------------

    def start(self) -> None:
        """A trace left by a doorctl that was killed is deleted."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop(self) -> None:
        """doorctl stops: the trace ends and its file goes."""
        trace, self.trace = self.trace, None
        if trace is not None:
            self._end(trace, "stopped", DEVICE, {"reason": "shutdown"})
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- what the page and the API ask --------------------------------------------------

    def begin(self, duration, unit, interface, source: dict, watcher: str | None = None) -> dict:
        """Record for `duration` `unit` on `interface` ("any": all); raise Invalid or
        Conflict. Returns once tcpdump listens. A trace with a `watcher` (the login
        session of the page that started it) ends when that session has not been
        seen (`seen`) for lease_seconds."""
        seconds, errors = seconds_of(duration, unit)
        if not isinstance(interface, str) or interface not in [ALL, *interfaces()]:
            names = ", ".join([ALL, *interfaces()])
            errors["interface"] = _("Choose one of: %(choices)s.", choices=names)
        if errors:
            raise Invalid(errors)
        if self.running() or self.starting:
            raise Conflict(_("A network trace is running already: stop it or wait for its end."))
        self.starting = True  # tcpdump takes a while to listen: a second start must wait
        try:
            self._discard()
            self.trace = self._launch(seconds, interface, source, watcher)
        finally:
            self.starting = False
        return self.status()

    def running(self) -> bool:
        """Whether a trace is recording now."""
        return self.trace is not None and self.trace["state"] == "running"

    def seen(self, watcher: str | None) -> None:
        """A request of `watcher` came: the browser that started the trace is there."""
        trace = self.trace
        if watcher and trace is not None and trace["watcher"] == watcher:
            trace["asked"] = time.monotonic()

    def status(self) -> dict:
        """The trace's state, times, interface, size and who started it."""
        trace = self.trace
        if trace is None:
            return {"state": "none"}
        path = self.folder / FILE
        size = path.stat().st_size if path.exists() else 0
        shown = {k: trace[k] for k in ("state", "seconds", "interface", "problem")}
        shown.update({k: _iso(trace[k]) for k in ("started", "ends", "ended")})
        return {**shown, "bytes": size, "user": trace["source"].get("user")}

    def end(self, source: dict) -> dict:
        """Stop the running trace now; what it recorded can be downloaded."""
        if not self.running():
            raise Conflict(_("No network trace is running."))
        self._end(self.trace, "stopped", source)
        return self.status()

    def file(self) -> tuple[str, Path]:
        """The finished trace's file name and path; raise Conflict or NotFound."""
        trace = self.trace
        path = self.folder / FILE
        if trace is not None and trace["state"] == "running":
            raise Conflict(_("The network trace is still running; stop it or wait for its end."))
        if trace is None or not path.exists():
            raise NotFound(_("There is no network trace to download; start one first."))
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(trace["started"]))
        return f"network-trace-{trace['interface']}-{stamp}.pcap", path

    # --- inside -------------------------------------------------------------------------

    def _argv(self, interface: str) -> list[str]:
        """tcpdump: no names looked up, not promiscuous (the unit's own traffic, no
        CAP_NET_ADMIN), each packet handed over and written at once (a trace stopped
        early would otherwise lose the packets libpcap still buffers), a new file once
        max_file_mb are written (then the trace stops: `_full`). As root it stays root
        (-Z) rather than become the tcpdump user, who may not write in the data directory."""
        argv = [self.tcpdump, "-i", interface, "-n", "-p", "-U", "--immediate-mode"]
        argv += ["-w", str(self.folder / FILE), "-C", str(self.max_file_mb)]
        if os.geteuid() == 0:
            argv += ["-Z", pwd.getpwuid(os.geteuid()).pw_name]
        return argv

    def _launch(self, seconds: int, interface: str, source: dict, watcher: str | None) -> dict:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            process = subprocess.Popen(
                self._argv(interface),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_die_with_doorctl,
            )
        except OSError as error:
            raise Conflict(_("tcpdump could not be started: %(why)s", why=error.strerror)) from None
        problem = self._ready(process)
        if problem:
            raise Conflict(_("tcpdump could not record: %(why)s", why=problem))
        now = time.time()
        trace = {"state": "running", "seconds": seconds, "interface": interface}
        trace.update(started=now, ends=now + seconds, ended=None, problem=None, source=source)
        trace.update(process=process, watcher=watcher, asked=time.monotonic())
        trace["greenlet"] = gevent.spawn(self._run, trace)
        self.publish(
            TOPIC, source, {"state": "started", "seconds": seconds, "interface": interface}
        )
        return trace

    def _ready(self, process) -> str | None:
        """Wait until tcpdump listens; why it could not, if it ended instead."""
        lines = []
        with off_hub(), gevent.Timeout(READY_SECONDS, False):
            for raw in process.stderr:
                line = raw.decode(errors="replace").strip()
                if line.startswith("tcpdump: listening on"):
                    gevent.spawn(_drain, process.stderr)
                    return None
                lines.append(line.removeprefix("tcpdump: "))
        _kill(process)
        process.stderr.close()
        return " ".join(lines[-2:]) or _("it did not start listening in time")

    def _run(self, trace: dict) -> None:
        """Wait for the end of the duration, a full file, tcpdump's own end or the lease's."""
        process = trace["process"]
        while trace["state"] == "running" and not trace.get("ending"):
            left = trace["ends"] - time.time()
            if left <= 0:
                self._end(trace, "done")
            elif self._full():
                self._end(trace, "full", data={"megabytes": self.max_file_mb})
            elif trace["watcher"] and time.monotonic() - trace["asked"] > self.lease_seconds:
                self._end(trace, "abandoned")
            elif _waited(process, min(left, FULL_CHECK_SECONDS)) and not trace.get("ending"):
                trace["problem"] = _(
                    "tcpdump ended on its own (exit code %(code)d).", code=process.returncode
                )
                self._end(trace, "failed")

    def _full(self) -> bool:
        """Whether tcpdump has begun a second file: the first holds max_file_mb."""
        return (self.folder / f"{FILE}1").exists()

    def _end(self, trace: dict, state: str, source: dict | None = None, data=None) -> None:
        """tcpdump told to finish its file; an abandoned trace's file is deleted, and so
        is what tcpdump began after a full one. The state changes once all is done, so
        whoever reads it finds the file as it says. `source`: who ended it, when not
        the trace itself; `data`: why, for its event."""
        if trace["state"] != "running" or trace.get("ending"):
            return
        trace["ending"] = True
        ended = time.time()
        if trace.get("greenlet") is not None and trace["greenlet"] is not gevent.getcurrent():
            trace["greenlet"].kill(block=False)
        _kill(trace["process"])
        self._discard_extra()
        if state == "abandoned":
            self._discard()
        else:
            gevent.spawn_later(self.keep_seconds, self._expire, trace)
        trace.update(state=state, ended=ended)
        said = {"state": state, "seconds": round(ended - trace["started"]), **(data or {})}
        source = trace["source"] if source is None else source
        self.publish(TOPIC, source, {**said, "interface": trace["interface"]})

    def _expire(self, trace: dict) -> None:
        """A finished trace not replaced since: its file is deleted, and it is gone."""
        if self.trace is trace:
            self._discard()
            self.trace = None

    def _discard(self) -> None:
        (self.folder / FILE).unlink(missing_ok=True)
        self._discard_extra()

    def _discard_extra(self) -> None:
        """The files tcpdump began after the first was full (network-trace.pcap1, ...)."""
        for path in self.folder.glob(f"{FILE}?*"):
            path.unlink(missing_ok=True)


def _waited(process, timeout: float) -> bool:
    """Whether the process ended within `timeout` seconds."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _kill(process) -> None:
    """SIGTERM (tcpdump writes out what it holds), SIGKILL if it lingers."""
    stop(process, 5)


def _drain(stream) -> None:
    """Read tcpdump's messages as they come, so it never waits on a full pipe."""
    try:
        for _line in stream:
            pass
    finally:
        stream.close()


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat("T", "seconds") if epoch else None
