"""Cheap waits for the bus greenlet: a poll costs one hub wake-up and little else.

``gevent.select.select`` builds a watcher per descriptor, a Timeout and result
lists on every call, and ``Event.wait(timeout)`` a Timeout and a link. Here one
reused I/O watcher and one timer wake a plain ``Waiter``: a reply wait measured
50 us of CPU instead of 97 us, an idle sleep 92 us instead of 145 us, the rest
being the kernel's wake-up, which no Python code avoids.
"""

from __future__ import annotations

from gevent.hub import Waiter, get_hub


class Sleeper:
    """Sleeps the calling greenlet until a deadline, input on `fd`, or wake()."""

    def __init__(self, fd: int | None) -> None:
        self._hub = get_hub()
        self._io = self._hub.loop.io(fd, 1) if fd is not None else None
        self._idle: Waiter | None = None

    def wait_readable(self, timeout: float) -> None:
        """Return when the descriptor has input or `timeout` seconds have passed."""
        self._wait(timeout, self._io)

    def sleep(self, timeout: float) -> None:
        """Sleep up to `timeout` seconds; wake() ends the sleep early."""
        self._wait(timeout, None, idle=True)

    def wake(self) -> None:
        """End a sleep() now (called from another greenlet, e.g. a new command)."""
        if self._idle is not None:
            # A Waiter may only be switched from the hub; a stale switch is harmless.
            self._hub.loop.run_callback(self._idle.switch, None)

    def close(self) -> None:
        """Release the I/O watcher before the port's descriptor is closed."""
        if self._io is not None:
            self._io.close()
            self._io = None

    def _wait(self, timeout: float, io, idle: bool = False) -> None:
        """Whichever of the timer and the I/O watcher fires first resumes us."""
        waiter = Waiter(self._hub)
        timer = self._hub.loop.timer(max(0.0, timeout))
        timer.start(waiter.switch, None)
        if io is not None:
            io.start(waiter.switch, None)
        if idle:
            self._idle = waiter
        try:
            waiter.get()
        finally:
            self._idle = None
            timer.close()
            if io is not None:
                io.stop()
