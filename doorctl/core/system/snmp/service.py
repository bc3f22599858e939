"""The SNMP service: runs net-snmp's snmpd as doorctl's child, as the settings say.

snmpd is started with its configuration in the data directory (`snmp/`, 0700):
`snmpd -f -Lo udp:<address>:<port>` with SNMPCONFPATH and SNMP_PERSISTENT_DIR there
and nothing of the system's (/etc/snmp is never read). The configuration holds the
communities and the trap sessions' keys: it is written 0600 and removed as soon as
snmpd has read it (snmpd reads it only when it starts; it is written again for each
start). A saved change of the settings or of a v3 user restarts snmpd; off stops it;
an snmpd that ends unasked is started again after a pause that grows up to a minute.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import gevent
from flask_babel import lazy_gettext
from gevent import subprocess

from doorctl.core.children import die_with_parent, stop
from doorctl.core.settings import Settings
from doorctl.core.system.snmp.engine import (
    engine_id,
    notification_targets,
    persistent_file,
    snmpd_conf,
)
from doorctl.core.system.snmp.settings import OFF, SECTION

log = logging.getLogger(__name__)
READY = "NET-SNMP version"  # snmpd's first line on stdout once it listens
START_SECONDS = 10.0
STOP_SECONDS = 5.0
RETRY_SECONDS = (1, 5, 15, 60)
MAX_OUTPUT = 20  # lines of snmpd's output kept for the status


class Snmp:
    """SNMP: start(), stop(), apply(record), status(), targets(); see engine.py for
    the hooks (`extra_config`, `targets`)."""

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        serial: str,
        users: Callable[[], list[dict]] = list,
    ):
        self.settings = settings
        self.users = users  # the v3 users with their keys (users.py's SnmpUsers.opened)
        self.directory = Path(data_dir) / "snmp"
        self.serial = serial
        self.snmpd = "snmpd"
        self.address = "0.0.0.0"  # what snmpd listens on (tests: 127.0.0.1)
        self.extra_config: list[Callable[[dict], list[str]]] = []
        self.record = self._with_users(settings.get(SECTION))
        self.process: subprocess.Popen | None = None
        self.problem = ""
        self.output: list[str] = []
        self._watcher: gevent.Greenlet | None = None
        self._running = False
        self._ready = False  # snmpd said it listens
        self._failures = 0

    @property
    def engine_id(self) -> str:
        """The unit's SNMP engine ID (hex), for receivers of v3 traps."""
        return engine_id(self.serial)

    def targets(self) -> list[dict]:
        """The trap receivers with their credentials, as plain data (engine.py)."""
        return notification_targets(self.record, self.engine_id)

    def start(self) -> None:
        """Run snmpd if the stored settings turn SNMP on."""
        self._running = True
        self.apply(self.settings.get(SECTION))

    def stop(self) -> None:
        """Stop snmpd (doorctl is stopping)."""
        self._running = False
        self._end()

    def apply(self, record: dict) -> None:
        """A saved record: restart snmpd with it, or stop it when SNMP is off."""
        self.record = self._with_users(record)
        if not self._running:
            return
        self._end()
        self._failures = 0
        if record["version"] != OFF:
            self._launch()

    def users_changed(self) -> None:
        """A v3 user was added, changed or removed: restart snmpd with the users."""
        self.apply(self.settings.get(SECTION))

    def _with_users(self, record: dict) -> dict:
        return {**record, "users": self.users()}

    def status(self) -> dict:
        """Whether snmpd runs, where it listens, and why it does not."""
        alive = self.process is not None and self.process.poll() is None
        running = alive and self._ready
        state = "running" if running else "starting" if alive else "failed"
        if self.record["version"] == OFF:
            state = "off"
        return {
            "state": state,
            "running": running,
            "port": self.record["port"],
            "engine_id": self.engine_id,
            "problem": "" if alive else str(self.problem),  # in the asker's language
        }

    def _launch(self) -> None:
        """Write the configuration, start snmpd and wait until it listens (or ends)."""
        conf = self._write_files()
        environment = {
            **os.environ,
            "SNMPCONFPATH": f"{self.directory}:{self.directory / 'persistent'}",
            "SNMP_PERSISTENT_DIR": str(self.directory / "persistent"),
            "MIBS": "",
            "MIBDIRS": str(self.directory / "mibs"),
        }
        listen = _endpoint(self.address, self.record["port"])
        self.output = []
        self._ready = False
        try:
            self.process = subprocess.Popen(
                [self.snmpd, "-f", "-Lo", listen],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=environment,
                preexec_fn=die_with_parent,  # no snmpd outlives doorctl holding the port
            )
        except OSError as error:
            conf.unlink(missing_ok=True)
            self._forget_passwords()
            self.problem = lazy_gettext(
                "%(program)s can't be run (%(why)s): install Debian's snmpd.",
                program=self.snmpd,
                why=error.strerror,
            )
            log.warning("%s", self.problem)
            return
        self._ready = self._await_ready(self.process)
        conf.unlink(missing_ok=True)
        if self.process.poll() is not None:  # it ended before it read its users
            self._forget_passwords()
        if self._ready:
            self.problem = ""
        self._watcher = gevent.spawn(self._watch, self.process)

    def _write_files(self) -> Path:
        """snmpd.conf (0600) and the persistent file with the v3 users; the conf's path."""
        persistent = self.directory / "persistent"
        persistent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        extra = [line for hook in self.extra_config for line in self._lines_of(hook)]
        conf = self.directory / "snmpd.conf"
        text = snmpd_conf(self.record, self.serial, extra)
        _write_secret(conf, text)
        users = persistent / "snmpd.conf"
        old = users.read_text() if users.exists() else ""
        _write_secret(users, persistent_file(old, self.record))
        return conf

    def _forget_passwords(self) -> None:
        """Take the v3 users' clear passwords (`createUser` lines) out of the persistent
        file when no snmpd runs to turn them into localised keys: an snmpd that could not
        start, or one stopped, must not leave them on disk."""
        users = self.directory / "persistent" / "snmpd.conf"
        if users.exists():
            lines = users.read_text().splitlines()
            kept = [line for line in lines if not line.startswith("createUser ")]
            if kept != lines:
                _write_secret(users, "\n".join(kept) + "\n")

    def _lines_of(self, hook: Callable[[dict], list[str]]) -> list[str]:
        """A hook's configuration lines; one that fails is logged and left out, so that
        the system group still answers."""
        try:
            return [line for line in hook(self.record) if "\n" not in line]
        except Exception:
            log.exception("an SNMP configuration hook failed; snmpd runs without its lines")
            return []

    def _await_ready(self, process: subprocess.Popen) -> bool:
        """Read snmpd's output until it says it runs; False if it ended first."""
        with gevent.Timeout(START_SECONDS, False):
            for line in process.stdout:
                self._keep(line)
                if line.startswith(READY):
                    return True
            process.wait()  # its output ended: it is ending
        self.problem = self._why(process)
        log.warning("snmpd did not start: %s", self.problem)
        return False

    def _why(self, process: subprocess.Popen) -> str:
        """What snmpd said before it ended, in a line (its own words)."""
        said = [line for line in self.output if not line.startswith(READY)]
        errors = [line for line in said if "error" in line.lower()]
        if process.poll() is None:
            return lazy_gettext("snmpd did not answer in time.")
        if errors:
            return errors[-1]
        if process.returncode < 0:
            return lazy_gettext("snmpd was ended by signal %(number)d.", number=-process.returncode)
        if said:
            return said[-1]
        return lazy_gettext("snmpd ended with status %(status)d.", status=process.returncode)

    def _keep(self, line: str) -> None:
        line = line.strip()
        if line:
            self.output = [*self.output, line][-MAX_OUTPUT:]

    def _watch(self, process: subprocess.Popen) -> None:
        """Log what snmpd says; start it again if it ends while it should run."""
        for line in process.stdout:
            self._keep(line)
            log.info("snmpd: %s", line.strip())
            if line.startswith(READY) and not self._ready:  # later than START_SECONDS
                self._ready, self.problem = True, ""
        process.wait()
        if process is not self.process or not self._running:
            return
        process.stdout.close()
        self.problem = self._why(process)
        log.warning("snmpd ended: %s", self.problem)
        pause = RETRY_SECONDS[min(self._failures, len(RETRY_SECONDS) - 1)]
        self._failures += 1
        gevent.sleep(pause)
        if process is self.process and self._running:
            self._launch()

    def _end(self) -> None:
        """Stop snmpd and its watcher, and wait for it."""
        process, self.process = self.process, None
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not gevent.getcurrent():
            watcher.kill()
        if process is not None:
            stop(process, STOP_SECONDS)
            process.stdout.close()
        self._forget_passwords()


def _endpoint(address: str, port: int) -> str:
    """snmpd's listening address: udp:0.0.0.0:161, or udp6:[::]:161 for IPv6."""
    return f"udp6:[{address}]:{port}" if ":" in address else f"udp:{address}:{port}"


def _write_secret(path: Path, text: str) -> None:
    """Write a file only its owner reads (it may hold communities and keys)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.chmod(path, 0o600)
