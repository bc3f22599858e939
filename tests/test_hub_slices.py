"""Work on the hub in slices: a reader poll that falls due waits one slice, not a page."""

from __future__ import annotations

import time

import gevent
import pytest

from doorctl.core.waiting import SLICE, computed, in_slices


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_due_timer_runs_after_one_slice_of_a_long_render():
    order = []

    def pieces():
        for n in range(5):
            busy(SLICE)
            order.append("piece")
            yield n

    gevent.spawn_later(0, order.append, "timer")  # due at once, as a late reader poll is
    assert list(in_slices(pieces())) == [0, 1, 2, 3, 4]
    assert order.index("timer") == 1


def test_work_on_the_threadpool_lets_a_due_timer_run():
    order = []
    gevent.spawn_later(0, order.append, "timer")
    assert computed(sum, [1, 2, 3]) == 6
    order.append("computed")
    assert order == ["timer", "computed"]


def test_a_page_is_whole_when_rendered_in_slices(logged_in):
    page = logged_in.get("/access/cardholders")
    assert page.status_code == 200
    assert page.get_data(as_text=True).rstrip().endswith("</html>")
    assert page.content_length == len(page.get_data())


def test_an_error_on_the_threadpool_is_raised_to_the_caller_only(capsys):
    with pytest.raises(ZeroDivisionError):
        computed(divmod, 1, 0)
    assert "Traceback" not in capsys.readouterr().err
