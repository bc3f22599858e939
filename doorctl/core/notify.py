"""systemd's notify protocol (sd_notify(3)): READY, WATCHDOG, STOPPING and STATUS.

One datagram on the AF_UNIX socket named by $NOTIFY_SOCKET ('@' for Linux's abstract
namespace). It is a few lines, so it is ours: systemd-python needs libsystemd's
headers on the Pi, and sdnotify adds nothing but a dependency. Under `doorctl
supervise` the unit's main process is the supervisor, so the unit says
NotifyAccess=all: the hub whose stall systemd must see is serve's, and only a ping
sent from that hub's own loop proves the loop still turns.
"""

from __future__ import annotations

import logging
import os
import socket

import gevent

log = logging.getLogger("doorctl.notify")
NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"


class Notifier:
    """Messages to systemd; every method does nothing where no socket was given."""

    def __init__(self, address: str = "", watchdog_usec: int = 0):
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_usec = watchdog_usec
        self._socket: socket.socket | None = None
        self._failed = False

    @classmethod
    def from_environment(cls, take: bool = False) -> Notifier:
        """The socket and watchdog systemd gave; `take` removes them from the environment,
        so that no child (the engine, chronyc, tcpdump) speaks for the service."""
        get = os.environ.pop if take else os.environ.get
        address = get(NOTIFY_SOCKET, None) or ""
        usec = get(WATCHDOG_USEC, None) or "0"
        if take:
            # the supervisor is the unit's main process: serve's own pid is never
            # WATCHDOG_PID under it, and NotifyAccess=all accepts serve's pings
            os.environ.pop(WATCHDOG_PID, None)
        return cls(address, int(usec) if usec.isdigit() else 0)

    def send(self, *fields: str) -> bool:
        """Send `KEY=value` lines in one datagram; False (logged once) if it failed."""
        if not self.address:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.sendto("\n".join(fields).encode(), self.address)
        except OSError as error:
            if self._socket is not None:
                self._socket.close()
                self._socket = None
            if not self._failed:
                log.warning("systemd's notify socket refused a message: %s", error)
            self._failed = True
            return False
        return True

    def ready(self, status: str) -> bool:
        """The service serves (Type=notify's start is over)."""
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        """A short line that `systemctl status` shows."""
        return self.send(f"STATUS={status}")

    def stopping(self) -> bool:
        """The service stops for good (not a restart by its supervisor)."""
        return self.send("STOPPING=1", "STATUS=stopping")

    def ping(self) -> bool:
        """The service is alive: systemd's watchdog starts counting again."""
        return self.send("WATCHDOG=1")

    def watch_hub(self) -> gevent.Greenlet | None:
        """Ping the watchdog every half period from a greenlet on this hub: when the hub
        is blocked, no greenlet runs, the pings stop and systemd restarts the service."""
        if not (self.address and self.watchdog_usec):
            return None
        every = self.watchdog_usec / 2_000_000
        return gevent.spawn(_ping_forever, self, every)


def _ping_forever(notifier: Notifier, every: float) -> None:
    while True:
        notifier.ping()
        gevent.sleep(every)
