"""The HTTP and HTTPS listeners in force, opened and closed as their settings change.

System > Network > HTTP and HTTPS chooses the protocols and ports at run time; this
opens the new listeners before it closes the old ones, so a port that can't be opened
is a clear error and the old listeners go on serving. With HTTPS only, the HTTP port
answers every request with a redirect to HTTPS, and HTTPS answers carry
Strict-Transport-Security.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from doorctl.core.errors import Invalid
from doorctl.server import Limits, Server, make_server

log = logging.getLogger("doorctl.listeners")
# One year: browsers keep to HTTPS for the device that long once they saw it.
HSTS = "max-age=31536000"
SCHEMES = ("http", "https")


def wanted(record: dict) -> dict[str, int]:
    """Scheme -> port of the listeners a record asks for (HTTPS only keeps HTTP open,
    to redirect)."""
    ports = {scheme: record[f"{scheme}_port"] for scheme in SCHEMES}
    if record["protocols"] == "http":
        del ports["https"]
    return ports


class RedirectToHttps:
    """WSGI app of the HTTP port with HTTPS only: 308 to the same host, the HTTPS port,
    the same path and query."""

    def __init__(self, https_port: int):
        self.https_port = https_port

    def __call__(self, environ, start_response):
        host = urlsplit("//" + environ.get("HTTP_HOST", "")).hostname or environ["SERVER_NAME"]
        host = f"[{host}]" if ":" in host else host
        path = quote(environ.get("PATH_INFO", "/"), safe="/%:@!$&'()*+,;=-._~")
        query = environ.get("QUERY_STRING", "")
        location = f"https://{host}:{self.https_port}{path}" + (f"?{query}" if query else "")
        body = b"This device answers over HTTPS only.\n"
        start_response(
            "308 Permanent Redirect",
            [
                ("Location", location),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]


class StrictTransport:
    """WSGI middleware of the HTTPS port with HTTPS only: every answer says HSTS."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, ("Strict-Transport-Security", HSTS)], exc_info)

        return self.app(environ, start)


class Listeners:
    """The HTTP and HTTPS servers of the appliance, one per scheme."""

    def __init__(
        self,
        app,
        host: str,
        limits: Limits,
        context: Callable[[], ssl.SSLContext],
    ):
        self.app = app
        self.host = host
        self.limits = limits
        self.context = context
        self.servers: dict[str, Server] = {}

    def serve(self, record: dict) -> None:
        """Listen as `record` says; raise Invalid naming the port that can't be opened,
        and leave the listeners in force as they were."""
        ports = wanted(record)
        moving = {s: p for s, p in ports.items() if not self._listening(s, p)}
        self._refuse_own_ports(moving)
        opened = self._open_all(moving)
        for scheme in list(self.servers):
            if scheme not in ports or scheme in opened:
                self._retire(self.servers.pop(scheme))
        self.servers.update(opened)
        for server in opened.values():
            server.start()
        self._route(record)
        log.info("listening on %s", self.urls())

    def _listening(self, scheme: str, port: int) -> bool:
        server = self.servers.get(scheme)
        return server is not None and port in (0, server.server_port)

    def _refuse_own_ports(self, moving: dict[str, int]) -> None:
        """A port the other protocol listens on now can't change hands in one step."""
        for scheme, port in moving.items():
            other = self.servers.get("https" if scheme == "http" else "http")
            if other is not None and other.server_port == port:
                message = f"Port {port} serves {other_name(scheme)} now: change one port at a time."
                raise Invalid({f"{scheme}_port": message})

    def _open_all(self, moving: dict[str, int]) -> dict[str, Server]:
        """Bind every new listener, or none of them."""
        opened: dict[str, Server] = {}
        try:
            for scheme, port in moving.items():
                opened[scheme] = self._open(scheme, port)
        except Invalid:
            for server in opened.values():
                server.close()
            raise
        return opened

    def _open(self, scheme: str, port: int) -> Server:
        """A server bound to its port (not yet accepting); raise Invalid if it can't be."""
        context = self.context() if scheme == "https" else None
        server = make_server(self.app, self.host, port, self.limits, context)
        try:
            server.init_socket()
        except OSError as exc:
            reason = "another program listens on it" if exc.errno == 98 else exc.strerror
            message = f"Port {port} can't be opened: {reason}."
            raise Invalid({f"{scheme}_port": message}) from None
        return server

    @staticmethod
    def _retire(server: Server) -> None:
        """Stop accepting at once; a connection still open on it ends with its client or
        its request timeout."""
        server.close()

    def _route(self, record: dict) -> None:
        """With HTTPS only, HTTP redirects and HTTPS says HSTS; else both serve the app."""
        https_only = record["protocols"] == "https"
        base = self.app.extensions["doorctl.admission"]
        for scheme, server in self.servers.items():
            if https_only and scheme == "http":
                server.application = RedirectToHttps(self.servers["https"].server_port)
            elif https_only:
                server.application = StrictTransport(base)
            else:
                server.application = base

    def use_context(self, context: ssl.SSLContext) -> None:
        """Serve another certificate from the next HTTPS connection on."""
        server = self.servers.get("https")
        if server is not None:
            server.wrap_socket = context.wrap_socket

    def ports(self) -> dict[str, int]:
        """Scheme -> the port each listener is bound to."""
        return {scheme: server.server_port for scheme, server in self.servers.items()}

    def urls(self, host: str | None = None) -> str:
        """The URLs to open: http:// and https:// with the ports listened on."""
        host = host or self.host
        host = "localhost" if host in ("0.0.0.0", "::") else host
        host = f"[{host}]" if ":" in host else host
        return " and ".join(f"{s}://{host}:{p}/" for s, p in self.ports().items())

    def stop(self, timeout: float = 3) -> None:
        """Stop every listener, giving open connections `timeout` seconds."""
        for server in self.servers.values():
            server.stop(timeout=timeout)
        self.servers.clear()


def other_name(scheme: str) -> str:
    """The protocol that is not `scheme`, as the page names it."""
    return "HTTPS" if scheme == "http" else "HTTP"
