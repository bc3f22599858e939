"""Admission: a request waiting off the hub gives its place to others, and takes it back.
Answers leave at once on kept-alive connections, over HTTP and HTTPS."""

import socket

import gevent
import gevent.event
import gevent.socket
import gevent.ssl
import pytest

from doorctl.admission import Admission
from doorctl.core.waiting import off_hub
from doorctl.server import Limits, Server


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


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def keep_alive_requests(client, count: int) -> list[bytes]:
    """`count` requests on one connection, each answer read before the next is sent."""
    answers = []
    for _ in range(count):
        client.sendall(b"GET / HTTP/1.1\r\nHost: doorctl\r\n\r\n")
        answer = b""
        while not answer.endswith(b"hello"):
            answer += client.recv(4096)
        answers.append(answer)
    return answers


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_accepted_connections_send_each_write_at_once(doorctl, scheme):
    """TCP_NODELAY: otherwise an answer after the first on a kept-alive connection
    waits up to 40 ms for the client's delayed ACK (see tests/bench/bench_keepalive.py)."""
    tls = {}
    if scheme == "https":
        doorctl.https.ensure_device_certificate()
        tls = {"ssl_context": doorctl.https.context()}
    server = Server(("127.0.0.1", 0), hello, Limits(), **tls)
    listener = gevent.socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = gevent.socket.create_connection(listener.getsockname(), timeout=10)
    accepted, address = listener.accept()
    probe = accepted.dup()  # the same socket, still open after TLS takes the other fd
    serve = server.wrap_socket_and_handle if scheme == "https" else server.handle
    serving = gevent.spawn(serve, accepted, address)
    if scheme == "https":
        context = gevent.ssl.SSLContext(gevent.ssl.PROTOCOL_TLS_CLIENT)  # cooperative
        context.check_hostname, context.verify_mode = False, gevent.ssl.CERT_NONE
        client = context.wrap_socket(client)
    with client, listener, probe:
        answers = keep_alive_requests(client, 3)
        assert probe.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    serving.join(timeout=10)
    assert [a.split(b"\r\n")[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 3
