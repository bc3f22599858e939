"""The link to the broker: one paho client, driven from one greenlet on the hub.

Why this design: paho's own `loop_start()` thread would, in the served appliance
(where gevent has patched `threading`), be a greenlet that blocks in a real
`select()`, and in an unpatched process a foreign thread calling back into the hub.
Instead doorctl never lets paho run a loop: the link greenlet waits on the socket
with `gevent.select.select` (a hub watcher in both worlds) and calls paho's
`loop_read` / `loop_write` / `loop_misc`, so every paho callback runs on the hub,
in that greenlet, and nothing needs a lock or a hand-over queue. Writes queued by
other greenlets wake it through a pipe (paho's `on_socket_register_write`).

The one step that blocks is opening the connection (DNS, TCP connect, TLS and
WebSocket handshakes inside paho's `reconnect()`). When gevent has patched `socket`
(`doorctl serve`) those are cooperative, so the greenlet calls it directly; in an
unpatched process (tests, embedding) it runs on the hub's threadpool, a real
thread, and returns a plain non-blocking socket the greenlet then drives.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl

import gevent
import gevent.select
import paho.mqtt.client as mqtt
import socks
from gevent import monkey
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from doorctl.core.errors import DoorctlError
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.mqtt import refusal

log = logging.getLogger(__name__)
WEBSOCKET = ("ws", "wss")
TLS = ("ssl", "wss")
MAX_INFLIGHT = 100
SESSION_EXPIRY = 7 * 86400


class LinkError(Exception):
    """The connection failed or was lost; the message says why, in words."""


class ConnectionLost(LinkError):
    """The broker closed the connection (or the network lost it) without saying why."""


class TlsContext(ssl.SSLContext):
    """Remembers the sockets it wraps, so a failed handshake's socket can be closed."""

    def wrap_socket(self, *args, **kwargs) -> ssl.SSLSocket:
        wrapped = super().wrap_socket(*args, **kwargs)
        self.wrapped = wrapped
        return wrapped

    def close_wrapped(self) -> None:
        """Close the last socket this context wrapped (paho leaves it open on failure)."""
        sock = getattr(self, "wrapped", None)
        if sock is not None:
            sock.close()


def tls_context(settings: dict, certificates: Certificates) -> TlsContext:
    """Verify the broker against the chosen CA certificate (else the system's) and its
    hostname; present the chosen client certificate, if any."""
    context = TlsContext(ssl.PROTOCOL_TLS_CLIENT)
    ca, client = settings["ca_certificate"], settings["client_certificate"]
    if ca:
        _load("CA certificate", ca, _trust, context, certificates.pem, ca)
    else:
        context.load_default_certs()
    if client:
        _load("client certificate", client, certificates.load_chain, context, client)
    if settings["alpn"]:
        context.set_alpn_protocols([settings["alpn"]])
    return context


def _trust(context: ssl.SSLContext, pem, cert_id: str) -> None:
    """Trust the CA certificates stored under `cert_id` (and only them)."""
    context.load_verify_locations(cadata=pem(cert_id))


def _load(what: str, cert_id: str, load, *args) -> None:
    """Load a certificate of the store with `load(*args)`; one that can't be used (its
    key sealed by another device, damaged) is named in words, what OpenSSL said is logged."""
    try:
        load(*args)
    except (OSError, ValueError, DoorctlError) as error:
        log.error("MQTT %s %s can't be loaded: %s", what, cert_id, error)
        raise LinkError(
            f"The {what} {cert_id} can't be used; import it again under System > "
            "Certificates or choose another on the MQTT page."
        ) from None


def build_client(
    settings: dict, certificates: Certificates, will: tuple | None, tunnel: dict | None = None
) -> mqtt.Client:
    """A paho client configured from the MQTT client section, through the proxy when
    `tunnel` gives one (paho's proxy_set arguments); it does not connect."""
    v5 = settings["mqtt_version"] == "5"
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=settings["client_id"],
        clean_session=None if v5 else settings["clean_session"],
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        transport="websockets" if settings["protocol"] in WEBSOCKET else "tcp",
        reconnect_on_failure=False,
    )
    client.connect_timeout = settings["timeout"]
    client.max_inflight_messages = MAX_INFLIGHT
    if settings["protocol"] in TLS:
        client.tls_set_context(tls_context(settings, certificates))
    if settings["username"]:
        client.username_pw_set(settings["username"], settings["password"] or None)
    if will:
        client.will_set(*will)
    if tunnel:
        client.proxy_set(**tunnel)
    client.connect_async(
        settings["host"], settings["port"], settings["keep_alive"], **_v5(settings)
    )
    return client


def _v5(settings: dict) -> dict:
    """MQTT 5 keeps a session only with a session expiry; 3.1.1 uses clean_session."""
    if settings["mqtt_version"] != "5":
        return {}
    properties = Properties(PacketTypes.CONNECT)
    if not settings["clean_session"]:
        properties.SessionExpiryInterval = SESSION_EXPIRY
    return {"clean_start": settings["clean_session"], "properties": properties}


def describe(
    error: BaseException,
    settings: dict,
    client_certificate: bool = False,
    tunnel: dict | None = None,
) -> str:
    """Why opening the connection failed, as a person reads it on the status line."""
    where = f"{settings['host']}:{settings['port']}"
    if isinstance(error, socks.ProxyError):
        return _proxy_words(error, where, bool(tunnel and tunnel.get("proxy_username")))
    if tunnel and isinstance(error, socket.gaierror):  # the proxy resolves the broker
        return f"Unknown proxy host {tunnel['proxy_addr']!r}: {error.strerror}."
    if isinstance(error, ssl.SSLError) and not isinstance(error, ssl.SSLCertVerificationError):
        said = refusal.words(error, settings, client_certificate)
        if said:
            return said
    if isinstance(error, socket.gaierror):
        return f"Unknown host {settings['host']!r}: {error.strerror}."
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection: no broker listens there."
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"The broker's certificate is not accepted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        hint = " Is this a plain (non-TLS) port?" if "WRONG_VERSION" in str(error) else ""
        return f"TLS handshake with {where} failed: {error.reason or error}.{hint}"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"No answer from {where} within {settings['timeout']} s."
    if isinstance(error, mqtt.WebsocketConnectionError):
        return f"WebSocket handshake with {where} failed: {error}."
    if isinstance(error, OSError):
        return f"{where}: {error.strerror or error}."
    return f"{where}: {error}"


def _proxy_words(error: socks.ProxyError, where: str, login: bool) -> str:
    """Why the proxy did not open the tunnel to the broker, from what PySocks reports.

    A proxy answers a missing login with 407 and (tinyproxy) a wrong one with 401."""
    cause = error.socket_err
    if isinstance(error, socks.ProxyConnectionError):
        why = getattr(cause, "strerror", None) or cause or error
        return f"The proxy can't be reached: {why}."
    said = str(cause if isinstance(cause, socks.ProxyError) else error.msg).strip()
    if said[:3] in ("401", "407"):
        if login:
            return "The proxy refused the login: check the login and password in System > Proxy."
        return "The proxy asks for a login: enter its login and password in System > Proxy."
    if said[:3].isdigit():
        return f"The proxy refused the connection to {where}: {said}."
    return f"The proxy did not open a connection to {where}: {said}."


def _attempt(function) -> Exception | None:
    """Run `function`, returning its exception instead of raising it across threads."""
    try:
        function()
    except Exception as error:
        return error
    return None


class Link:
    """One paho client and the plumbing that lets a greenlet drive it."""

    def __init__(
        self,
        settings: dict,
        certificates: Certificates,
        will: tuple | None,
        tunnel: dict | None = None,
    ):
        self.settings, self.tunnel = settings, tunnel
        self.client = build_client(settings, certificates, will, tunnel)
        self.tls = self.client._ssl_context
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.client.on_socket_register_write = lambda *args: self.wake()

    def wake(self) -> None:
        """Make the driving greenlet look at the socket now (paho queued a packet)."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"w")

    def open(self) -> None:
        """Open the socket and queue CONNECT; raise LinkError with the reason."""
        if monkey.is_module_patched("socket"):
            error = _attempt(self.client.reconnect)
        else:
            error = gevent.get_hub().threadpool.apply(_attempt, (self.client.reconnect,))
        if error is not None:
            self.client._sock_close()
            if isinstance(self.tls, TlsContext):
                self.tls.close_wrapped()
            said = describe(error, self.settings, self._client_certificate, self.tunnel)
            raise LinkError(said) from error
        self._check_alpn()

    @property
    def _client_certificate(self) -> bool:
        return bool(self.settings["client_certificate"])

    def closed_before_connack(self, error: LinkError) -> LinkError:
        """The broker closed the connection before accepting it: a TLS broker is asked why
        (directly only: through a proxy the second connection would take another path)."""
        if not isinstance(error, ConnectionLost):
            return error
        if self.tunnel:
            return LinkError("The broker closed the connection before accepting it.")
        said = None
        if isinstance(self.tls, ssl.SSLContext):
            args = (self.tls, self.settings, self._client_certificate)
            if monkey.is_module_patched("socket"):
                said = refusal.refusal(*args)
            else:
                said = gevent.get_hub().threadpool.apply(refusal.refusal, args)
        return LinkError(said or "The broker closed the connection before accepting it.")

    def _check_alpn(self) -> None:
        """A broker that ignores the ALPN name would talk to the wrong service."""
        wanted = self.settings["alpn"]
        if not wanted or self.settings["protocol"] not in TLS:
            return
        sock = self.client.socket()
        tls = getattr(sock, "_socket", sock)
        chosen = tls.selected_alpn_protocol() if hasattr(tls, "selected_alpn_protocol") else None
        if chosen != wanted:
            self.client._sock_close()
            raise LinkError(
                f"The broker did not accept the ALPN protocol {wanted!r} "
                f"(it chose {chosen or 'none'}); check the name your broker provider gives."
            )

    def step(self, timeout: float) -> None:
        """Wait up to `timeout` for the socket, then let paho read, write and ping."""
        sock = self.client.socket()
        if sock is None:
            raise LinkError("The connection was closed.")
        if getattr(sock, "pending", lambda: 0)():
            readable, writable = [sock], []
        else:
            want = [sock] if self.client.want_write() else []
            readable, writable, _ = gevent.select.select([sock, self._wake_r], want, [], timeout)
        if self._wake_r in readable:
            self._drain()
        rc = mqtt.MQTT_ERR_SUCCESS
        if sock in readable:
            rc = self.client.loop_read()
        if rc == mqtt.MQTT_ERR_SUCCESS and (sock in writable or self.client.want_write()):
            rc = self.client.loop_write()
        if rc == mqtt.MQTT_ERR_SUCCESS:
            rc = self.client.loop_misc()
        closed = rc == mqtt.MQTT_ERR_SUCCESS and self.client.socket() is None
        if rc == mqtt.MQTT_ERR_CONN_LOST or closed:
            raise ConnectionLost("The connection was lost.")
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise LinkError(f"The connection was lost: {mqtt.error_string(rc)}")

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 4096)

    def close(self) -> None:
        """Close the socket and the wake pipe."""
        self.client._sock_close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
