"""One server's sender: a greenlet with a bounded buffer, so the hub never waits on it.

`put()` only appends to the buffer; the sender greenlet connects (UDP, TCP or TLS,
through gevent's own socket and ssl modules, cooperative whether or not the process
is patched), writes RFC 6587 octet-counted frames on TCP and TLS, and on a failure
closes, waits a growing back-off and connects again. A message leaves the buffer
only once written; while the server is down the buffer fills, and past its bound the
oldest message is dropped and counted. The next message that goes out after a drop
is a notice saying how many were lost, so the server's log shows the gap too.

A message's text is shortened (its head and its end, as the system log shortens) to
fit 2048 bytes over UDP, the size RFC 5426 says every receiver should take, and 8192
over TCP and TLS (RFC 5425's "should support"); one the network still refuses as too
long (EMSGSIZE: structured data over a datagram's 65,507 bytes) is dropped and counted
rather than retried forever with everything behind it waiting.

The TLS context (the chosen CA, or the system's CA bundle, parsed) is built once per
sender: a changed server gets a new sender, a changed CA certificate a new context.

A second greenlet reads the connection: a syslog server never sends, so anything it
reads but TLS's own records means the server closed it (rsyslog on a restart), and
the sender reconnects before it writes into a dead connection.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable

import gevent
import gevent.event
from flask_babel import lazy_gettext
from gevent import socket as gsocket
from gevent import ssl as gssl

from .formats import FORMATS, LOCAL0, Message, octet_counted, within

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0
SEND_TIMEOUT = 10.0  # a server that takes nothing for this long is taken as gone
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 30.0
FAILED = lazy_gettext("The sender failed unexpectedly; the system log has details.")
# A socket that takes every write never yields: after a few messages the sender waits
# until the hub is idle, so timers (door, polls) and requests go first.
YIELD_EVERY = 8
UNTRUSTED = (2, 7, 18, 19, 20, 21)  # unknown issuer, self-signed, or a namesake CA's key
EXPIRED, NAME_MISMATCH = 10, (62, 64)  # a host name's, an IP address's
MOST_BYTES = {"udp": 2048, "tcp": 8192, "tls": 8192}  # a message's bound, frame aside


class SendError(Exception):
    """The connection could not be made or was lost; the message says why, in words."""


class TooLong(Exception):
    """The network refused one message as too long (EMSGSIZE); the next may go."""


class Sender:
    """Send one server's messages in order from a greenlet; put() never blocks."""

    def __init__(
        self,
        server: dict,
        ca_pem: Callable[[str], str | None],
        hostname: Callable[[], str],
        limit: int,
    ):
        self.server, self.limit = server, limit
        self._ca_pem, self._hostname = ca_pem, hostname
        self._context: ssl.SSLContext | None = None
        self.queue: deque[Message] = deque()
        self.sent = self.dropped = self._unreported = 0
        self.state = ("connecting", "", time.time())
        self._sock: socket.socket | None = None
        self._lost = None  # why the server closed the connection, in words
        self._wake = gevent.event.Event()
        self._runner: gevent.Greenlet | None = None
        self._watcher: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start connecting and sending."""
        self._runner = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop now; what is buffered stays in `queue` (a new sender may take it)."""
        if self._runner is not None:
            self._runner.kill()
        self._close()

    def take_over(self, old: Sender) -> None:
        """Carry on from a stopped sender of the same server (its settings changed): its
        waiting messages, its counts and the drops not yet told."""
        self.queue, self.sent, self.dropped = old.queue, old.sent, old.dropped
        self._unreported = old._unreported
        while len(self.queue) > self.limit:
            self.queue.popleft()
            self.dropped += 1
            self._unreported += 1

    def put(self, message: Message) -> None:
        """Buffer a message; when the buffer is full the oldest one is dropped and counted."""
        if len(self.queue) >= self.limit:
            self.queue.popleft()
            self.dropped += 1
            self._unreported += 1
        self.queue.append(message)
        self._wake.set()

    def forget_ca(self, cert_id: str) -> None:
        """The CA certificate `cert_id` changed: the next connection reads it anew."""
        if cert_id == self.server["ca_certificate"]:
            self._context = None

    def status(self) -> dict:
        """The live state the page and the API show."""
        state, reason, since = self.state
        return {
            "state": state,
            "reason": str(reason),
            "since": since,
            "sent": self.sent,
            "queued": len(self.queue),
            "dropped": self.dropped,
        }

    def _set_state(self, state: str, reason="") -> None:
        if (state, str(reason)) != (self.state[0], str(self.state[1])):
            if reason:
                log.info("remote syslog %s: %s %s", self.server["host"], state, reason)
            self.state = (state, reason, time.time())

    def _run(self) -> None:
        """Connect, send, and on failure wait a growing back-off and connect again."""
        delay = FIRST_BACKOFF
        while True:
            try:
                self._connect()
                delay = FIRST_BACKOFF
                self._serve()
            except SendError as error:
                self._set_state("connecting", error.args[0])
            except Exception:
                log.exception("remote syslog %s: the sender failed", self.server["host"])
                self._set_state("connecting", FAILED)
            self._close()
            gevent.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _connect(self) -> None:
        self._lost = None
        protocol, host, port = (self.server[k] for k in ("protocol", "host", "port"))
        try:
            self._sock = _open(protocol, host, port, self._tls)
        except ssl.SSLCertVerificationError as error:
            chosen = bool(self.server["ca_certificate"])
            raise SendError(_verify_words(error, host, chosen)) from None
        except ssl.SSLError as error:
            reason = error.reason or error.strerror or type(error).__name__
            words = lazy_gettext("TLS handshake failed: %(reason)s.", reason=reason)
            raise SendError(words) from None
        except OSError as error:
            raise SendError(_os_words(error, host, port)) from None
        if protocol != "udp":
            self._watcher = gevent.spawn(self._watch, self._sock)
        self._set_state("connected")

    def _serve(self) -> None:
        """Write buffered messages in order; wait when there are none."""
        while True:
            if self._lost is not None:
                raise SendError(self._lost)
            if not self.queue and not self._unreported:
                self._wake.clear()
                self._wake.wait()
                continue
            told = self._unreported
            message = self._lost_notice(told) if told else self.queue[0]
            try:
                self._write(message)
            except TooLong as error:
                self._drop(message, told, error.args[0])
                continue
            if told:
                self._unreported -= told
            elif self.queue and self.queue[0] is message:  # not dropped meanwhile
                self.queue.popleft()
            self.sent += 1
            if self.sent % YIELD_EVERY == 0:
                gevent.idle()  # a full buffer drains only when the hub has nothing else to do

    def _write(self, message: Message) -> None:
        protocol = self.server["protocol"]
        payload = within(message, FORMATS[self.server["format"]], MOST_BYTES[protocol])
        if protocol != "udp":
            payload = octet_counted(payload)
        try:
            self._sock.sendall(payload)
        except TimeoutError:
            words = lazy_gettext("The server took nothing for %(num)d s.", num=round(SEND_TIMEOUT))
            raise SendError(words) from None
        except OSError as error:
            if error.errno == errno.EMSGSIZE:
                raise TooLong(len(payload)) from None
            host, port = self.server["host"], self.server["port"]
            raise SendError(_os_words(error, host, port)) from None

    def _drop(self, message: Message, told: int, size: int) -> None:
        """Drop and count the one message the network refused as too long."""
        if told:
            self._unreported -= told  # the notice itself: the count stays in `dropped`
        elif self.queue and self.queue[0] is message:
            self.queue.popleft()
            self.dropped += 1
        log.warning(
            "remote syslog %s: a message of %d bytes is too long to send; dropped",
            self.server["host"],
            size,
        )

    def _tls(self) -> ssl.SSLContext:
        """The sender's TLS context, built at its first connection."""
        if self._context is None:
            ca = self.server["ca_certificate"]
            self._context = tls_context(self._ca_pem(ca) if ca else None)
        return self._context

    def _lost_notice(self, count: int) -> Message:
        """The message that tells the server how many messages it did not get."""
        text = f"{count} messages were dropped: the buffer of {self.limit} was full"
        data = {"dropped": {"count": count, "buffer": self.limit}}
        return Message(time.time(), LOCAL0, 4, "dropped", text, self._hostname(), os.getpid(), data)

    def _watch(self, sock: socket.socket) -> None:
        """Read until the server closes the connection, then wake the sender."""
        while True:
            try:
                if not sock.recv(4096):
                    break
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except OSError:
                break
        self._lost = lazy_gettext("The server closed the connection.")
        self._wake.set()

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.kill(block=False)
        if sock is not None:
            sock.close()


def _open(protocol: str, host: str, port: int, tls_context) -> socket.socket:
    """A connected socket to the server: UDP, TCP, or TLS verified against the context."""
    if protocol == "udp":
        family, kind, proto, _, address = gsocket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
        sock = gsocket.socket(family, kind, proto)
        sock.connect(address)
        return sock
    raw = gsocket.create_connection((host, port), CONNECT_TIMEOUT)
    raw.settimeout(SEND_TIMEOUT)
    if protocol == "tcp":
        return raw
    try:
        return tls_context().wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """A TLS client context that verifies the server's certificate and name against
    the chosen CA certificate (None: the system's CAs)."""
    context = gssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_pem:
        context.load_verify_locations(cadata=ca_pem)
    else:
        context.load_default_certs()
    return context


def _verify_words(error: ssl.SSLCertVerificationError, host: str, chosen: bool):
    """Why the server's certificate was refused, in words."""
    if error.verify_code in UNTRUSTED and chosen:
        return lazy_gettext(
            "TLS refused: certificate not trusted (the chosen CA certificate did not issue it)."
        )
    if error.verify_code in UNTRUSTED:
        return lazy_gettext(
            "TLS refused: certificate not trusted (no CA of the system issued it; choose "
            "the server's CA certificate)."
        )
    if error.verify_code in NAME_MISMATCH:
        return lazy_gettext("TLS refused: the server's certificate is not for %(host)s.", host=host)
    if error.verify_code == EXPIRED:
        return lazy_gettext("TLS refused: the server's certificate has expired.")
    reason = str(error.verify_message).rstrip(".")
    return lazy_gettext("TLS refused: %(reason)s.", reason=reason)


def _os_words(error: OSError, host: str, port: int):
    """A failed connection or write, in words."""
    if isinstance(error, ConnectionRefusedError):
        return lazy_gettext("Connection refused: nothing listens on port %(port)d.", port=port)
    if isinstance(error, socket.gaierror):
        return lazy_gettext("The name %(host)s can't be resolved.", host=host)
    if isinstance(error, TimeoutError):
        seconds = round(CONNECT_TIMEOUT)
        return lazy_gettext("No answer from %(host)s within %(num)d s.", host=host, num=seconds)
    if isinstance(error, ConnectionResetError | BrokenPipeError):
        return lazy_gettext("The server closed the connection.")
    return lazy_gettext("Connection failed: %(reason)s.", reason=error.strerror or str(error))
