"""How doorctl restarts itself: the process that serves exits with RESTART_EXIT_CODE
and whatever started it starts it again.

Under systemd (Restart=always) and under `doorctl supervise` (what `scripts/run` and
the unit start) the supervisor sees the code; a `doorctl serve` started by hand with
no supervisor replaces itself with a fresh copy of its own command line instead.
"""

RESTART_EXIT_CODE = 75
"""EX_TEMPFAIL from sysexits.h: "try again", which is what a restart asks for."""

SUPERVISED_ENV = "DOORCTL_SUPERVISED"
"""Set to 1 by the supervisor in the environment of the `doorctl serve` it starts."""
