"""The appliance's web server: gevent's WSGIServer, made safe against slow clients.

A request computes its answer in one of a few places (`Admission`), so a reader poll
that falls due never waits behind many requests. Slow clients must not hold those
places: the whole body is read before a request asks for one, the request line and
headers and every piece of the body must arrive within the request timeout, and one
client address may hold only so many connections. Answers never name the software
or its version.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import io
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException

import gevent
from gevent.pywsgi import Input, WSGIHandler, WSGIServer

from doorctl.admission import Admission
from doorctl.core.system.network.clients import ConnectedClients
from doorctl.refusals import ANSWERS, SPOOL_ANSWERS

log = logging.getLogger("doorctl.server")
# The body is read in pieces of this size, each within the request timeout: an upload
# must arrive at 64 KiB per timeout at least (6.4 KiB/s at the default 10 s).
BODY_PIECE = 64 * 1024
# An answer's head and a first piece of body up to this size leave in one write: one
# packet, one TLS record (a larger piece is worth no copy; it leaves right after).
ONE_WRITE = 64 * 1024
HUB_SWITCH_INTERVAL = 0.001


@dataclass(frozen=True)
class Limits:
    """How long a client may take, and how many connections one address may hold."""

    request_timeout: float = 10.0
    connections_per_client: int = 32
    max_body: int = 32 * 1024 * 1024
    # (path, most bytes, folder, admits): a body this route takes goes to a file in the
    # folder, not into memory (a firmware bundle is tens of MiB); the view finds the
    # file's path in environ["doorctl.upload"] and CONTENT_LENGTH says 0. admits(environ)
    # says from the headers alone whether the client may send it: one that may not is
    # answered by the app without its body ever being read. One upload at a time, with
    # a Content-Length that leaves `spool_reserve` bytes free in the folder.
    spooled: tuple[tuple[str, int, str, Callable[[dict], bool]], ...] = ()
    spool_reserve: int = 64 * 1024 * 1024


UPLOAD_ENV = "doorctl.upload"


def no_delay(sock) -> None:
    """Let every write leave at once (TCP_NODELAY).

    Without it a small write that follows another waits for the client's ACK of the
    first (Nagle's algorithm), and clients delay that ACK by up to 40 ms: every request
    after the first on a kept-alive connection was answered about 40 ms late.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class RequestTimeout(Exception):
    """The client took longer than the request timeout to send part of its request."""


class BodyTooLarge(Exception):
    """The request body is larger than the appliance takes."""


class SpoolRefused(Exception):
    """An upload refused before its body is read: `code` says why (SPOOL_ANSWERS)."""

    def __init__(self, code: int):
        super().__init__(f"upload refused ({code})")
        self.code = code


class Uploads:
    """Whether an upload is being written to its file: one at a time in the process,
    over HTTP and HTTPS alike (Limits.spooled)."""

    busy = False


class Handler(WSGIHandler):
    """gevent's request handler with deadlines, and the body read before the app runs."""

    _deadline: gevent.Timeout | None = None
    _holding_head = False  # the answer's head waits to leave with the first piece of body
    _spooling = False  # this request holds the one upload place (Uploads)
    _head: bytes | None = None

    def handle(self):
        """Serve the connection's requests; a request line that never comes closes it."""
        # On a timeout the connection is closed already (idle keep-alive or a stalled client).
        with contextlib.suppress(RequestTimeout):
            super().handle()

    def handle_one_request(self):
        """One request; its head deadline never outlives it."""
        try:
            return super().handle_one_request()
        finally:
            self._stop_deadline()

    def read_requestline(self):
        """The request line, under the deadline that covers it and the headers."""
        timeout = self.server.limits.request_timeout
        self._deadline = gevent.Timeout.start_new(timeout, RequestTimeout("request head"))
        return super().read_requestline()

    def read_request(self, raw_requestline):
        """Parse the headers; the deadline ends when they are in."""
        try:
            return super().read_request(raw_requestline)
        finally:
            self._stop_deadline()

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.close()
            self._deadline = None

    def handle_one_response(self):
        """Answer once the whole body is in, so a slow upload holds no place in Admission."""
        try:
            self._read_body()
        except (RequestTimeout, BodyTooLarge, SpoolRefused, OSError, ValueError) as exc:
            self._remove_upload()
            self._refuse_body(exc)
            return
        try:
            super().handle_one_response()
        finally:
            self.server.clients.answered(self.client_address)
            self._remove_upload()

    def _write_with_headers(self, data):
        """The head and a small first piece of the body leave in one write."""
        if len(data) > ONE_WRITE:
            return super()._write_with_headers(data)
        self._holding_head = True
        try:
            super()._write_with_headers(data)
        except BaseException:
            self._head = None
            raise
        finally:
            self._holding_head = False
        if self._head is not None:  # an empty body: the head leaves alone
            head, self._head = self._head, None
            super()._sendall(head)
        return None

    def _sendall(self, data):
        """Keep the head while it waits for the body; send it along with the body."""
        if self._holding_head and self._head is None:
            self._head = bytes(data)
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        super()._sendall(data)

    def start_response(self, status, headers, exc_info=None):
        """Tell the connected clients of the request, now that the app knows its user."""
        stream = any(k.lower() == "content-type" and "event-stream" in v for k, v in headers)
        user = self.environ.get("REMOTE_USER")
        session = self.environ.get("doorctl.session")
        self.server.clients.request(self.client_address, user, stream, session)
        return super().start_response(status, headers, exc_info)

    def _read_body(self) -> None:
        """Read the body in pieces, each within the request timeout, into memory (or a
        file, for a route of Limits.spooled)."""
        limits = self.server.limits
        spool = next((s for s in limits.spooled if s[0] == self.environ.get("PATH_INFO")), None)
        most = spool[1] if spool else limits.max_body
        if (self.content_length or 0) > most:
            self._leave_unread()  # the app answers 413 from Content-Length alone
            return
        if not self.content_length and not self.wsgi_input.chunked_input:
            return
        if spool and not spool[3](self.environ):
            self._leave_unread()  # the app answers (login, role, IP filter) without it
            return
        body = self._spool_file(spool[2]) if spool else io.BytesIO()
        while piece := self._read_piece(limits.request_timeout):
            body.write(piece)
            if body.tell() > most:
                raise BodyTooLarge
        self.environ["CONTENT_LENGTH"] = "0" if spool else str(body.tell())
        if spool:
            body.close()
            body = io.BytesIO()
        body.seek(0)
        self.environ["wsgi.input"] = body
        self.environ.pop("HTTP_TRANSFER_ENCODING", None)
        self.wsgi_input = Input(io.BytesIO(), 0)

    def _spool_file(self, folder: str):
        """A new file in `folder` for the body; removed after the answer unless the view
        moved it away. Refused when another upload is under way, the length is not
        declared, or it would leave the folder's disk short of the reserve."""
        if not self.content_length:
            raise SpoolRefused(411)
        if Uploads.busy:
            raise SpoolRefused(503)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if shutil.disk_usage(folder).free < self.content_length + self.server.limits.spool_reserve:
            raise SpoolRefused(507)
        Uploads.busy = self._spooling = True
        # closed by _read_body once the body is in; removed after the answer
        spool = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", delete=False)  # noqa: SIM115
        self.environ[UPLOAD_ENV] = spool.name
        return spool

    def _remove_upload(self) -> None:
        if self._spooling:
            Uploads.busy = self._spooling = False
        path = self.environ.get(UPLOAD_ENV) if self.environ else None
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _leave_unread(self) -> None:
        self.close_connection = True
        self.environ["wsgi.input"] = io.BytesIO()
        self.wsgi_input = Input(io.BytesIO(), 0)

    def _read_piece(self, timeout: float) -> bytes:
        with gevent.Timeout(timeout, RequestTimeout("request body")):
            return self.wsgi_input.read(BODY_PIECE)

    def _refuse_body(self, exc: Exception) -> None:
        """The body never came in full or is too large: say so and close."""
        self.close_connection = True
        code = 413 if isinstance(exc, BodyTooLarge) else 400
        code = 408 if isinstance(exc, (RequestTimeout, TimeoutError)) else code
        answer = ANSWERS.get(code)
        if isinstance(exc, SpoolRefused):
            code, answer = exc.code, SPOOL_ANSWERS[exc.code]
        log.info("request from %s refused (%d): %s", self.client_address[0], code, exc)
        with contextlib.suppress(OSError):
            self.socket.sendall(answer)

    def handle_error(self, t, v, tb):
        """A client that stopped reading its answer is closed quietly, not reported."""
        if not issubclass(t, TimeoutError):
            super().handle_error(t, v, tb)
            return
        self.close_connection = True
        log.info("answer to %s not taken within the timeout: closed", self.client_address[0])

    def _handle_client_error(self, ex):
        """A malformed or slow request head: one log line, and a short answer."""
        code = 408 if isinstance(ex, RequestTimeout) else 400
        if isinstance(ex, HTTPException) or "Line too long" in str(ex):
            code = 431  # a header line too long, or too many headers
        log.info("bad request from %s: %s", self.client_address[0], ex)
        return (str(code), ANSWERS[code])


class Server(WSGIServer):
    """gevent's WSGIServer with the request handler above and a cap per client address,
    counted from accept (before any TLS handshake) to close."""

    handler_class = Handler
    base_env = {**WSGIServer.base_env, "SERVER_SOFTWARE": "doorctl"}

    def __init__(self, listener, application, limits: Limits, clients=None, **kwargs):
        super().__init__(listener, application, log=None, error_log=log, **kwargs)
        self.limits = limits
        self.clients = clients or ConnectedClients()
        self.connections: collections.Counter[str] = collections.Counter()

    def handle(self, sock, address):
        """Serve one plain HTTP connection, counted toward its address's cap from accept."""
        if not self._admit(sock, address[0], ANSWERS[503]):
            return
        no_delay(sock)
        try:
            self._serve(sock, address)
        finally:
            self._release(address[0])

    def wrap_socket_and_handle(self, client_socket, address):
        """Serve one HTTPS connection, counted from accept: a client that stalls in the
        TLS handshake holds its places as one that sends requests does. The handshake runs
        within the request timeout; one that fails (an old protocol, a scanner) is one log
        line, not a traceback."""
        if not self._admit(client_socket, address[0], b""):  # no TLS yet to say 503 in
            return None
        no_delay(client_socket)
        try:
            tls_socket = self._handshake(client_socket, address)
            if tls_socket is None:
                return None
            with contextlib.closing(tls_socket):
                return self._serve(tls_socket, address)
        finally:
            self._release(address[0])

    def _handshake(self, client_socket, address):
        """The TLS socket, or None when the handshake failed (the socket is closed)."""
        client_socket.settimeout(self.limits.request_timeout)
        try:
            return self.wrap_socket(client_socket, **self.ssl_args)
        except (OSError, ValueError) as exc:
            log.info("TLS handshake with %s failed: %s", address[0], exc)
            with contextlib.suppress(OSError):
                client_socket.close()
            return None

    def _serve(self, sock, address) -> None:
        """The connection's requests, the connected clients told of it."""
        sock.settimeout(self.limits.request_timeout)  # no read or write waits longer
        self.clients.opened(address, "https" if self.ssl_enabled else "http")
        try:
            super().handle(sock, address)
        finally:
            self.clients.closed(address)

    def _admit(self, sock, host: str, refusal: bytes) -> bool:
        """Count a new connection for its address; refuse (and close) one over the cap."""
        if self.connections[host] >= self.limits.connections_per_client:
            self._refuse(sock, host, refusal)
            return False
        self.connections[host] += 1
        return True

    def _release(self, host: str) -> None:
        self.connections[host] -= 1
        if not self.connections[host]:
            del self.connections[host]

    def _refuse(self, sock, host: str, refusal: bytes) -> None:
        log.debug("connection from %s refused: too many open", host)
        sock.settimeout(1)
        with contextlib.suppress(OSError), contextlib.closing(sock):
            sock.sendall(refusal)


def make_server(
    app, host: str, port: int, limits: Limits | None = None, ssl_context=None
) -> Server:
    """The appliance's HTTP server (HTTPS with a TLS context), the admission limit in
    front of the app."""
    limits = limits or Limits(max_body=app.config.get("MAX_CONTENT_LENGTH") or Limits.max_body)
    security = app.extensions["doorctl"].security
    # one admission for HTTP and HTTPS: the limit is on the hub's work, whatever the port
    admission = app.extensions.get("doorctl.admission") or Admission(app, hold=security.hold)
    app.extensions["doorctl.admission"] = admission
    tls = {"ssl_context": ssl_context} if ssl_context is not None else {}
    return Server((host, port), admission, limits, clients=security.clients, **tls)


def freeze_startup_objects() -> None:
    """Keep what start-up built out of the garbage collector's full passes, and give
    the hub the GIL back sooner.

    The app, templates and services are hundreds of thousands of objects that live
    for ever; a full collection that walks them all pauses the hub for 15-20 ms,
    long enough to make a reader poll late. Work on the threadpool (encoding a long
    answer, an export) holds the GIL for up to the switch interval whenever the hub
    wants it; 1 ms instead of Python's 5 keeps that wait short.
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(HUB_SWITCH_INTERVAL)
