"""How many requests build their answer at once, so the hub keeps its cadence.

The hub runs one greenlet at a time, so a reader poll that falls due waits for every
request ahead of it: a few places keep that wait short, and a request gives its place
back while it waits off the hub.
"""

from __future__ import annotations

import contextlib

import gevent
from gevent.lock import BoundedSemaphore

from doorctl.core import waiting

# Requests computing at once. The hub runs one greenlet at a time, so a reader poll
# that falls due waits for every request ahead of it; a few keep that wait short.
REQUESTS_AT_ONCE = 3


class Admission:
    """WSGI middleware: at most `limit` requests build their response at the same time.

    The limit covers building the response, not sending it: a live SSE stream returns
    its generator at once and does not hold a place while it waits for events. Nor does
    a request hold its place while it waits off the hub (`waiting.off_hub`: for the
    disk, a door mode to be stored, an import's child process).
    """

    def __init__(self, app, limit: int = REQUESTS_AT_ONCE, hold=None):
        self.app = app
        self.places = BoundedSemaphore(limit)
        self.hold = hold or (lambda environ: 0.0)

    def __call__(self, environ, start_response):
        seconds = self.hold(environ)
        if seconds:  # a client blocked for brute force waits here, holding no place
            gevent.sleep(seconds)
        place = Place(self.places)
        place.take()
        try:
            with waiting.serving(place.step_out):
                gevent.idle()  # timers and I/O first: a due reader poll never waits for the web
                return self.app(environ, start_response)
        finally:
            place.give_back()


class Place:
    """One request's place in Admission, given back while it waits off the hub."""

    def __init__(self, places: BoundedSemaphore):
        self.places = places
        self.held = False

    def take(self) -> None:
        """Wait for a free place (a request interrupted meanwhile holds none)."""
        self.places.acquire()
        self.held = True

    def give_back(self) -> None:
        """Let another request in, unless this one holds no place."""
        if self.held:
            self.held = False
            self.places.release()

    @contextlib.contextmanager
    def step_out(self):
        """Wait without the place; go on building the answer only with one again."""
        self.give_back()
        try:
            yield
        finally:
            self.take()
