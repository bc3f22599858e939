"""`doorctl supervise`: runs `doorctl serve` as a child and starts it again when it asks.

The supervisor lives in the base install and is never replaced by an upgrade, so a
broken new version cannot break the way back. It starts the active firmware's
`doorctl serve` (the base install's own when nothing was upgraded), with
DOORCTL_SUPERVISED=1; forwards SIGTERM and SIGINT; starts the child again when it
exits with RESTART_EXIT_CODE (75); and otherwise exits with the child's code, which
systemd (Restart=always) answers by starting the supervisor again.

A version on trial (just switched to) must report healthy within the health time, or
the supervisor stops it, switches back to the previous version, puts back the
database copied before the upgrade, and records why; the old version then says so.
A version on trial that exits before it reports healthy has failed, even when it asks
for a restart (75): Maintenance's restart, restore and factory default are refused
during a trial, so a healthy version never asks for one then.

Each `doorctl serve` runs in a process group of its own with its engine; once it
exits, whatever is left of the group is killed and waited for, so nothing holds the
database while a copy is put back or the next one starts. A simulated control button
held at start (--sim-button-held, DOORCTL_SIM_BUTTON_HELD) applies to the first start
only: a restart is no new press of the button.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from doorctl.core.children import die_with_parent
from doorctl.core.maintenance import firmware as fw
from doorctl.core.maintenance.restart import RESTART_EXIT_CODE, SUPERVISED_ENV
from doorctl.core.notify import Notifier

log = logging.getLogger("doorctl.supervisor")
WATCH_EVERY = 0.1  # seconds between looks at a child on trial
STOP_SECONDS = 10.0  # a child that ignores SIGTERM this long is killed
SIM_BUTTON = "--sim-button-held"
SIM_BUTTON_ENV = "DOORCTL_SIM_BUTTON_HELD"


class Supervisor:
    """One `doorctl serve` at a time, from the active firmware, started again on 75."""

    def __init__(self, data_dir: Path, root: Path, serve_args: list[str], health_seconds: float):
        self.data_dir = Path(data_dir)
        self.root = Path(root)
        self.serve_args = serve_args
        self.health_seconds = health_seconds
        self.child: subprocess.Popen | None = None
        self.stopping = False
        self.first_start = True
        # systemd's socket passes on to serve, whose hub sends READY and the watchdog's
        # pings; the supervisor only gives each start a whole watchdog period
        self.notifier = Notifier.from_environment()

    def run(self) -> int:
        """Serve until stopped; the exit code is the last child's."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._forward)
        while not self.stopping:  # a signal before the first start stops it too
            state = self._prepare()
            code = self._run_child(state)
            if code == RESTART_EXIT_CODE and not self.stopping:
                log.info("doorctl serve asked for a restart")
                continue
            return 0 if self.stopping and code in (0, -signal.SIGTERM) else code
        return 0

    def _forward(self, signum, frame) -> None:
        self.stopping = True
        if self.child and self.child.poll() is None:
            self.child.send_signal(signum)

    def _prepare(self) -> dict:
        """Put back a database copy that a fallback or rollback asked for, and remove
        what an interrupted upgrade left."""
        fw.make_root(self.root)
        state = self._runnable(fw.state_of(self.root))
        if state["restore"]:
            fw.restore_database(self.root / state["restore"], self.data_dir)
            state["restore"] = None
            fw.write_state(self.root, state)
        fw.clean_leftovers(self.root, state)
        fw.forget_health(self.root)
        return state

    def _runnable(self, state: dict) -> dict:
        """An active version that is not on trial and whose environment is gone (its
        Python missing) gives way to the previous version with its database copy, else
        to the base install; recorded as a failure. (A trial's falls back as it fails.)"""
        active = state["active"]
        if state["trial"] or fw.runnable(self.root, active):
            return state
        previous = state["previous"]
        back = previous if previous and fw.runnable(self.root, previous) else None
        detail = f"{fw.python_of(self.root, active)} is missing"
        log.error(
            "doorctl %s can't start (%s): starting the %s",
            active["version"],
            detail,
            f"previous version {back['version']}" if back else "base install",
        )
        state["active"] = {"version": back["version"], "env": back["env"]} if back else None
        state["previous"] = None
        state["restore"] = back.get("db") if back else None
        state["last"] = {
            "phase": "failed",
            "version": active["version"],
            "from_version": back["version"] if back else None,
            "time": time.time(),
            "reason": "exited",
            "detail": detail,
        }
        fw.write_state(self.root, state)
        return state

    def _start(self, state: dict) -> subprocess.Popen:
        python = fw.python_of(self.root, state["active"])
        env = {
            **os.environ,
            SUPERVISED_ENV: "1",
            fw.BASE_PYTHON_ENV: sys.executable,
            fw.FIRMWARE_DIR_ENV: str(self.root),
            fw.HEALTH_SECONDS_ENV: str(self.health_seconds),
            # never import doorctl from the working directory (a checkout, under
            # scripts/run) instead of the environment's own: serve's and its engine's
            "PYTHONSAFEPATH": "1",
        }
        if not self.first_start:
            env.pop(SIM_BUTTON_ENV, None)
        command = [python, "-m", "doorctl", "serve", *self.serve_args]
        log.info("starting %s", " ".join(command))
        child = subprocess.Popen(
            command, env=env, start_new_session=True, preexec_fn=_die_with_supervisor
        )
        self.first_start = False
        self.serve_args = without_sim_button(self.serve_args)
        version = (state["active"] or {}).get("version") or "base install"
        self.notifier.send("WATCHDOG=1", f"STATUS=starting doorctl serve ({version})")
        return child

    def _run_child(self, state: dict) -> int:
        """Run one child; a trial that fails falls back, and the child runs again."""
        try:
            self.child = self._start(state)
        except OSError as error:
            if not state["trial"]:
                raise
            self._fall_back({"reason": "exited", "detail": error.strerror})
            return RESTART_EXIT_CODE
        if self.stopping:  # the signal came while it was being started
            self.child.terminate()
        try:
            if state["trial"]:
                verdict = self._watch_trial()
                if verdict is not None:
                    self._fall_back(verdict)
                    return RESTART_EXIT_CODE
            return self.child.wait()
        finally:
            self._end_group()

    def _end_group(self) -> None:
        """Kill what is left of the child's process group (its engine) and wait until
        none of it runs any more: then nothing holds the database."""
        self._stop_child()
        group = self.child.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        deadline = time.monotonic() + STOP_SECONDS
        while _group_runs(group) and time.monotonic() < deadline:
            time.sleep(WATCH_EVERY)

    def _watch_trial(self) -> dict | None:
        """None once the child reports healthy (the trial ends); else why it did not."""
        deadline = time.monotonic() + self.health_seconds
        while not self.stopping:
            if fw.healthy_pid(self.root) == self.child.pid:
                self._passed()
                return None
            code = self.child.poll()
            if code is not None:
                return {"reason": "exited", "exit_code": code}
            if time.monotonic() > deadline:
                self._stop_child()
                return {"reason": "not_healthy", "seconds": self.health_seconds}
            time.sleep(WATCH_EVERY)
        return None

    def _stop_child(self) -> None:
        if self.child.poll() is not None:
            return
        self.child.terminate()
        try:
            self.child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()

    def _passed(self) -> None:
        state = fw.state_of(self.root)  # the child may have written since
        trial = state["trial"]
        if trial is None:  # cleared by hand meanwhile: nothing to end
            return
        log.info("doorctl %s reported healthy", trial["version"])
        state["trial"] = None
        state["last"] = {
            "phase": "healthy",
            "version": trial["version"],
            "from_version": trial["from_version"],
            "time": time.time(),
            "announced": True,  # the child said so itself when it reported healthy
        }
        fw.write_state(self.root, state)

    def _fall_back(self, why: dict) -> None:
        """Back to the previous version and its database copy; record why."""
        state = fw.state_of(self.root)
        # no previous slot recorded (a hand-edited state): the base install is the way back
        trial, previous = state["trial"], state["previous"] or {"version": None, "env": fw.BASE}
        if trial is None:  # cleared by hand meanwhile: the active version just starts again
            return
        log.error("doorctl %s did not become healthy (%s): falling back", trial["version"], why)
        state["active"] = {"version": previous["version"], "env": previous["env"]}
        state["previous"] = None
        state["restore"] = previous.get("db")
        state["trial"] = None
        state["last"] = {
            "phase": "failed",
            "version": trial["version"],
            "from_version": trial["from_version"],
            "time": time.time(),
            **why,
        }
        fw.write_state(self.root, state)


def without_sim_button(args: list[str]) -> list[str]:
    """Serve's arguments less the simulated control button held at start."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == SIM_BUTTON:
            skip = True
        elif not arg.startswith(SIM_BUTTON + "="):
            kept.append(arg)
    return kept


def _group_runs(group: int) -> bool:
    """Whether a process of the group still runs (a zombie holds no files)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                return True
    return False


def _die_with_supervisor() -> None:
    """In serve, before it runs: SIGKILL when the supervisor dies, as a power cut takes
    both. serve has a process group of its own, so a signal to the supervisor's group
    no longer reaches it (under systemd the unit's cgroup is killed whole anyway)."""
    die_with_parent(signal.SIGKILL)
