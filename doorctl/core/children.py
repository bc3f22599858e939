"""Programs doorctl runs as its children (tcpdump, snmpd, `doorctl serve` under the
supervisor): none may outlive doorctl, and each is asked to stop before it is killed.

Linux's parent-death signal ends a child even when doorctl is killed outright, so no
tcpdump keeps capturing and no snmpd keeps holding its port after a crash.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """In the child, before its program runs (preexec_fn): `signum` when doorctl dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)


def stop(process, seconds: float) -> None:
    """SIGTERM, so the program writes out what it holds; SIGKILL if it lingers past
    `seconds`. The process may come from subprocess or gevent.subprocess."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
