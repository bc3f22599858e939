"""The engine process seen from the web process: started, watched, restarted, called.

If the engine dies, the outputs it drove go back to their normal state first (what
`doorctl reset-outputs` does after the whole service dies), then a new engine starts;
meanwhile calls to it fail with Unavailable. Each end and each return is an event
(tns1:Device/DoorEngine, a property: state restarting with the cause, then running)
and the status, which the Status page shows, says so until it runs again.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gevent
import gevent.event
from gevent import socket, subprocess

from doorctl.core.board import reset_outputs
from doorctl.core.engine.link import Link, LinkClosed
from doorctl.core.errors import DoorctlError
from doorctl.core.events import EventBus

log = logging.getLogger(__name__)
TOPIC = "tns1:Device/DoorEngine"
START_TIMEOUT = 30.0
RESTART_DELAY = 1.0
STOP_TIMEOUT = 5.0


class Unavailable(DoorctlError):
    """The engine process is starting or restarting."""

    status = 503


class EngineProcess:
    """Runs `doorctl engine` as a child; its events land on the web's bus."""

    def __init__(self, data_dir: Path, hardware: str, bus: EventBus, reader_test_ports=False):
        self.data_dir = data_dir
        self.hardware = hardware
        self.bus = bus
        self.reader_test_ports = reader_test_ports
        self.link: Link | None = None
        self.child: subprocess.Popen | None = None
        self.restarts = 0
        self.last_end: dict | None = None
        self.running = False
        self.on_log: Callable[[list[dict]], None] = lambda entries: None  # its log records
        self._ready = gevent.event.Event()
        self._watcher: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start the engine and wait until its services run."""
        self.running = True
        self._watcher = gevent.spawn(self._watch)
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("the engine process did not start")

    def stop(self) -> None:
        """Close the link (the engine stops its services and exits), then reap it."""
        self.running = False
        if self.link is not None:
            self.link.close()
        if self.child is not None:
            try:
                self.child.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        if self._watcher is not None:
            self._watcher.kill()

    def apply(self, section: str, record: dict) -> None:
        """A settings section changed in the store: the engine re-reads and applies it
        (an engine not running yet, or restarting, reads it as it starts)."""
        if self._ready.is_set():
            self.call("settings", "changed", section)

    def call(self, target: str, method: str, *args, **kwargs):
        """Run a method of an engine service; Unavailable while the engine is down."""
        link = self.link
        if link is None or not self._ready.is_set():
            raise Unavailable("The door engine is restarting; try again in a moment.")
        try:
            return link.call(target, method, *args, **kwargs)
        except LinkClosed:
            raise Unavailable("The door engine is restarting; try again in a moment.") from None

    def tell(self, target: str, method: str, *args) -> None:
        """Call without waiting for the answer (from a bus subscriber, which must be
        quick); an engine that is down reads everything afresh as it starts."""
        if self._ready.is_set():
            gevent.spawn(self._tell, target, method, *args)

    def _tell(self, target: str, method: str, *args) -> None:
        with contextlib.suppress(Unavailable):  # restarting: it reads the store afresh
            self.call(target, method, *args)

    def status(self) -> dict:
        """Whether the engine runs, its process id, how often it was restarted and why
        it last ended."""
        pid = self.child.pid if self.child is not None else None
        running = self._ready.is_set()
        state = "running" if running else "restarting" if self.restarts else "starting"
        return {
            "running": running,
            "state": state,
            "pid": pid,
            "restarts": self.restarts,
            "last_end": self.last_end,
        }

    def _watch(self) -> None:
        while self.running:
            code = self._run_once()
            self._ready.clear()
            if not self.running:
                return
            self.restarts += 1
            self.last_end = {"time": time.time(), "cause": end_cause(code), "exit_status": code}
            log.error("the engine process ended (%s): outputs reset, restarting", end_cause(code))
            self.bus.publish(TOPIC, {}, {"state": "restarting", **self.last_end}, {}, True)
            self._reset_outputs()
            gevent.sleep(RESTART_DELAY)

    def _run_once(self) -> int:
        """One life of the engine process: spawn, link, wait for its end."""
        ours, theirs = socket.socketpair()
        self.child = subprocess.Popen(self._command(theirs.fileno()), pass_fds=(theirs.fileno(),))
        theirs.close()
        self.link = Link(ours, self._message)
        code = self.child.wait()
        self.link.close()
        return code

    def _command(self, fd: int) -> list[str]:
        command = [sys.executable, "-m", "doorctl", "engine", "--data-dir", str(self.data_dir)]
        command += ["--hardware", self.hardware, "--link-fd", str(fd)]
        command += ["--log-level", logging.getLevelName(logging.getLogger().getEffectiveLevel())]
        return command + (["--reader-test-ports"] if self.reader_test_ports else [])

    def _message(self, message: dict) -> None:
        if "event" in message:
            self.bus.relay(message["event"])
        elif "log" in message:
            self.on_log(message["log"])
        elif message.get("ready"):
            self._ready.set()
            if self.restarts:
                self.bus.publish(
                    TOPIC, {}, {"state": "running", "restarts": self.restarts}, {}, True
                )

    def _reset_outputs(self) -> None:
        """Outputs safe on a real board; the simulated board died with the engine."""
        if self.hardware == "sim":
            return
        try:
            reset_outputs(self.data_dir, self.hardware)
        except Exception:
            log.exception("resetting the outputs after the engine died failed")


def end_cause(code: int) -> str:
    """How a process ended, as a person reads it: "killed by signal SIGKILL" or "exit
    code 1" (a negative return code is the signal that ended it)."""
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
