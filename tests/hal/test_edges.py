"""Edges pushed from a real native thread reach the hub in order, and listeners may sleep."""

import threading

import gevent

from doorctl.hal.edges import EdgeQueue


def test_edges_from_a_native_thread_reach_the_hub_in_order():
    got = []

    def handler(channel, when):
        gevent.sleep(0)  # a listener may switch greenlets: it runs in a greenlet
        got.append(channel)

    queue = EdgeQueue(handler)
    thread = threading.Thread(target=lambda: [queue.push(pin) for pin in range(200)])
    thread.start()
    thread.join()
    with gevent.Timeout(2):
        while len(got) < 200:
            gevent.sleep(0.005)
    queue.close()
    assert got == list(range(200))


def test_a_failing_handler_does_not_stop_the_queue():
    got = []

    def handler(channel, when):
        if channel == 1:
            raise RuntimeError("bad edge")
        got.append(channel)

    queue = EdgeQueue(handler)
    for pin in (0, 1, 2):
        queue.push(pin)
    gevent.sleep(0.05)
    queue.close()
    assert got == [0, 2]
