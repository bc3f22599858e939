"""How doorctl restarts itself: the process that serves exits with RESTART_EXIT_CODE
and whatever started it starts it again.

Under systemd (Restart=always) and under `doorctl supervise` (what `scripts/run` and
the unit start) the supervisor sees the code; a `doorctl serve` started by hand with
no supervisor replaces itself with a fresh copy of its own command line instead.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path

RESTART_EXIT_CODE = 75
"""EX_TEMPFAIL from sysexits.h: "try again", which is what a restart asks for."""

SUPERVISED_ENV = "DOORCTL_SUPERVISED"
"""Set to 1 by the supervisor in the environment of the `doorctl serve` it starts."""


log = logging.getLogger(__name__)

PORTS_NAME = "restart-ports.json"
"""The ports served before a restart, for a command line that asked for any free one."""

REBOOT_COMMAND = "systemctl reboot"
"""How the whole device restarts on a Raspberry Pi under systemd."""


def systemd_runs() -> bool:
    """True when systemd is the init system (sd_booted(3)'s own test)."""
    return Path("/run/systemd/system").is_dir()


def remember_ports(data_dir: Path, ports: dict[str, int]) -> None:
    """Keep the bound ports, so that a restart answers where the browser waits."""
    (data_dir / PORTS_NAME).write_text(json.dumps(ports), encoding="utf-8")


def ports_after_restart(data_dir: Path, http_port: int, https_port: int) -> tuple[int, int]:
    """The command line's ports, except that "any free port" (0) becomes the one served
    before a restart; the note is read once."""
    path = data_dir / PORTS_NAME
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
        path.unlink()
    except (OSError, ValueError):
        return http_port, https_port
    http = http_port or int(before.get("http", 0))
    https = https_port or int(before.get("https", 0))
    return http, https


def reboot(command: str) -> None:
    """Run the reboot command; a failure is logged and doorctl restarts alone."""
    try:
        subprocess.run(shlex.split(command), check=True, timeout=30)
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        log.error("restarting the device with %r failed (%s): doorctl restarts", command, error)


def start_again() -> int:
    """Under a supervisor, the exit code that asks it to start doorctl again; without
    one, replace this process with a fresh copy of its own command line."""
    if os.environ.get(SUPERVISED_ENV) == "1":
        return RESTART_EXIT_CODE
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)
    return RESTART_EXIT_CODE  # not reached: execv does not return
