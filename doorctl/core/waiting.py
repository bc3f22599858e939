"""Waits that do no work on the hub: for the disk's writer thread, a database lock, a child.

The web server lets only a few requests build their answers at once, so that a reader
poll that falls due never waits behind many. A request that waits for a thread or a
child process does nothing on the hub meanwhile, and it must not keep others (a door
command among them) out for as long as SQLite's busy wait or an import takes. Such a
wait goes in `with off_hub():`; the server tells this module, for the greenlet that
serves a request, how to give its place back and take one again. Outside a request
(tests, the CLI, a service's own greenlet) `off_hub()` does nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

import gevent
from gevent.hub import get_hub
from gevent.local import local

StepOut = Callable[[], AbstractContextManager]

_current = local()


@contextlib.contextmanager
def off_hub() -> Iterator[None]:
    """Wait without holding the request's place: given back now, taken again after."""
    step_out: StepOut | None = getattr(_current, "step_out", None)
    if step_out is None:
        yield
        return
    _current.step_out = None  # a wait inside this one has no place to give back
    try:
        with step_out():
            yield
    finally:
        _current.step_out = step_out


@contextlib.contextmanager
def serving(step_out: StepOut) -> Iterator[None]:
    """This greenlet serves a request: `step_out()` is how its waits leave their place."""
    previous = getattr(_current, "step_out", None)
    _current.step_out = step_out
    try:
        yield
    finally:
        _current.step_out = previous


def computed(function: Callable, *args):
    """`function(*args)` on the hub's threadpool: for CPU-bound work that uses nothing of
    gevent (encoding a long answer, formatting rows). Done on the hub, it would stall
    reader polling for its whole length; on a thread, the hub takes the GIL back after
    one switch interval (`sys.getswitchinterval()`) whenever a timer or input is due."""
    with off_hub():
        done, result = get_hub().threadpool.apply(_captured, (function, args))
    if not done:
        raise result  # here, where the caller handles it; the threadpool would print it
    return result


def computed_here(function: Callable, *args):
    """computed(), run in the caller's context: its request, app and language (for
    work that translates words, as the sentences of a log's rows do)."""
    return computed(contextvars.copy_context().run, function, *args)


def _captured(function: Callable, args: tuple) -> tuple[bool, object]:
    try:
        return True, function(*args)
    except Exception as exc:
        return False, exc


# A greenlet that has computed this long lets due timers and input run before going on.
SLICE = 0.002


def pause() -> None:
    """Let the hub run what is due (a reader poll's timer, input) and come back.

    `gevent.sleep(0)` is not enough: it resumes the caller in the same turn of the
    event loop, before any timer that has fallen due meanwhile. A timer of our own
    queues us behind the ones already due."""
    gevent.sleep(0.0001)


def in_slices(items: Iterable) -> Iterator:
    """The items of `items`, with a pause() whenever making them took SLICE seconds."""
    start = time.perf_counter()
    for item in items:
        yield item
        if time.perf_counter() - start > SLICE:
            pause()
            start = time.perf_counter()
