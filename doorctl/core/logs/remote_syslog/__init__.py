"""Remote system log (manual: Logs > Remote system log): the system log and the events,
sent to syslog servers over UDP, TCP or TLS in RFC 3164 or RFC 5424.

Why not a library: Python's SysLogHandler writes RFC 3164-like text and blocks the
caller on TCP; rfc5424-logging-handler (last release 2019) does RFC 5424 only and
also sends from inside `emit()`, so a slow server would stall the greenlet that
logged, and neither buffers while a server is down. The formats are a hundred lines
(formats.py); each server gets a greenlet with a bounded buffer (sender.py).

Sources: the system log's intake (every record the system log takes, of the web
process and of the engine process, already formatted and shortened, then each
server's severity threshold), and the event bus (messages.py names the events sent).
Both only hand a message to each server's buffer, on the hub.
"""

from __future__ import annotations

import socket

from doorctl.core.events import Event, EventBus
from doorctl.core.logs.system_log import SystemLog
from doorctl.core.settings import Settings
from doorctl.core.store import Store
from doorctl.core.system.certificates import KIND as CERTIFICATE
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.network.ip_form import SECTION as IP_SECTION

from . import messages
from .formats import Message
from .sender import Sender
from .servers import KIND, PORTS, Servers, threshold  # noqa: F401  (the blueprint's)

BUFFER = 1000  # messages waiting per server while it is down
CERTIFICATE_CHANGES = f"tns1:Configuration/{CERTIFICATE}/"


class RemoteSyslog:
    """Servers and their senders: start()/stop()/apply()/status() like every service."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        bus: EventBus,
        certificates: Certificates,
        system_log: SystemLog,
    ):
        self.servers = Servers(store, certificates)
        self.settings, self.certificates = settings, certificates
        self.buffer_limit = BUFFER
        self.senders: dict[int, Sender] = {}
        self.hostname = socket.gethostname()
        self._running = False
        certificates.used_by("Remote system log", self._chosen)
        settings.on_change(IP_SECTION, self._ip_changed)
        bus.subscribe(self._on_event, *messages.PREFIXES)
        system_log.on_take(self._on_records)

    # service interface

    def start(self) -> None:
        """Start a sender per server."""
        self._running = True
        self._ip_changed(self.settings.get(IP_SECTION))
        self.apply()

    def stop(self) -> None:
        """Stop every sender."""
        self._running = False
        for sender in self.senders.values():
            sender.stop()
        self.senders = {}

    def apply(self) -> None:
        """Take the stored servers into use: a changed server's sender starts again with
        its buffer, a removed server's stops."""
        if not self._running:
            return
        wanted = {s["id"]: s for s in self.servers.list()}
        for server_id in set(self.senders) - set(wanted):
            self.senders.pop(server_id).stop()
        for server_id, server in wanted.items():
            old = self.senders.get(server_id)
            if old is not None and old.server == server:
                continue
            self.senders[server_id] = self._sender(server, old)

    def _sender(self, server: dict, old: Sender | None) -> Sender:
        sender = Sender(server, self._ca_pem, lambda: self.hostname, self.buffer_limit)
        if old is not None:
            old.stop()
            sender.take_over(old)
        sender.start()
        return sender

    def status(self, server_id: int) -> dict:
        """A server's live state: connected or connecting (and why), sent, queued, dropped."""
        sender = self.senders.get(server_id)
        if sender is None:
            return {"state": "stopped", "reason": "", "sent": 0, "queued": 0, "dropped": 0}
        return {k: v for k, v in sender.status().items() if k != "since"}

    # the servers, with their live state

    def list(self) -> list[dict]:
        """Every server with its live state."""
        return [{**s, **self.status(s["id"])} for s in self.servers.list()]

    def get(self, server_id: int) -> dict:
        """One server with its live state."""
        return {**self.servers.get(server_id), **self.status(server_id)}

    def create(self, body: dict) -> dict:
        """Add a server and start sending to it."""
        server_id = self.servers.create(body)
        self.apply()
        return self.get(server_id)

    def update(self, server_id: int, body: dict) -> dict:
        """Change a server; its sender starts again with what it holds."""
        self.servers.update(server_id, body)
        self.apply()
        return self.get(server_id)

    def delete(self, server_id: int) -> None:
        """Remove a server; what waited for it is dropped."""
        self.servers.delete(server_id)
        self.apply()

    # sources

    def _on_event(self, event: Event) -> None:
        if event.topic.startswith(CERTIFICATE_CHANGES):
            for sender in self.senders.values():
                sender.forget_ca(str(event.data.get("id", "")))
        message = messages.from_event(event, self.hostname)
        if message is not None:
            self._put(message)

    def _on_records(self, entries: list[dict]) -> None:
        """On the hub: the records the system log took, to the servers."""
        if not self.senders:
            return
        for entry in entries:
            self._put(messages.from_entry(entry, self.hostname))

    def _put(self, message: Message) -> None:
        for sender in list(self.senders.values()):
            if message.severity <= threshold(sender.server):
                sender.put(message)

    def _ca_pem(self, ca: str) -> str | None:
        """The chosen CA certificate's PEM (None: the system's CAs)."""
        return self.certificates.pem(ca) if ca else None

    def _chosen(self) -> set[str]:
        return {s["ca_certificate"] for s in self.servers.list()} - {""}

    def _ip_changed(self, record: dict) -> None:
        """The host name messages carry: the one set under System > Network, else the
        system's."""
        manual = not record.get("hostname_automatic", True) and record.get("hostname")
        self.hostname = manual or socket.gethostname()
