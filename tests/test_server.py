"""Admission: a request waiting off the hub gives its place to others, and takes it back."""

import gevent
import gevent.event

from doorctl.core.waiting import off_hub
from doorctl.server import Admission


def admission_waiting_for(done: gevent.event.Event, seen: list[int]) -> Admission:
    """One place, and an app that waits for `done` off the hub, noting the free places."""

    def app(environ, start_response):
        with off_hub(), off_hub():  # a wait inside a wait gives back nothing more
            seen.append(admission.places.counter)
            done.wait()
        seen.append(admission.places.counter)
        return [b"answer"]

    admission = Admission(app, limit=1)
    return admission


def test_requests_waiting_off_the_hub_hold_no_place_and_answer_with_one():
    done, seen = gevent.event.Event(), []
    admission = admission_waiting_for(done, seen)
    requests = [gevent.spawn(admission, {}, None) for _ in range(3)]
    gevent.sleep(0.05)
    assert seen == [1, 1, 1], "all three wait at once, none holding the one place"
    done.set()
    gevent.joinall(requests, timeout=5, raise_error=True)
    assert seen[3:] == [0, 0, 0], "each built its answer holding the place"
    assert [r.value for r in requests] == [[b"answer"]] * 3
    assert admission.places.counter == 1


def test_a_request_stopped_before_it_has_its_place_again_gives_back_none():
    done, seen = gevent.event.Event(), []
    admission = admission_waiting_for(done, seen)
    request = gevent.spawn(admission, {}, None)
    gevent.sleep(0.05)
    admission.places.acquire()  # another request took the place meanwhile
    done.set()
    gevent.sleep(0.05)
    request.kill()
    admission.places.release()
    assert admission.places.counter == 1


def test_outside_a_request_a_wait_off_the_hub_is_only_the_wait():
    with off_hub():
        gevent.sleep(0)
