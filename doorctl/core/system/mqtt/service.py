"""The MQTT service (manual: "MQTT"): client, publication, subscriptions, door commands.

One greenlet owns the link (see link.py): it connects with a growing back-off,
sends the connect message, subscribes, publishes the Home Assistant discovery and
feeds queued publications to paho in id order; paho's callbacks run in it.

Delivery guarantees. QoS 1 and 2 events pass through the SQLite outbox and leave it
only on the broker's acknowledgement, so they are delivered at least once across
broker restarts, network loss and doorctl restarts, in order. QoS 2 is exactly once
while doorctl runs when Clean session is off: paho keeps the session and resends
with the same packet ids, and the broker drops what it has already seen. After a
doorctl crash the messages that were in flight (at most MAX_INFLIGHT) are resent
with new ids, so those few may arrive twice. QoS 0 events go out only while
connected. Loops: a message received on a subscription becomes an event, and such
an event is never published onto a topic any subscription matches (with MQTT 5 the
subscriptions also ask for no_local), so the device never feeds itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import gevent

from doorctl.core.device import DeviceInfo
from doorctl.core.eventlog import EventLog
from doorctl.core.events import Event, EventBus
from doorctl.core.settings import Settings
from doorctl.core.store import Store
from doorctl.core.system import proxy
from doorctl.core.system.certificates import Certificates
from doorctl.core.system.mqtt import discovery, messages, tls
from doorctl.core.system.mqtt.forms import PublicationForm, SubscriptionsForm, client_form
from doorctl.core.system.mqtt.home_assistant import HomeAssistant
from doorctl.core.system.mqtt.inbound import DoorCommands
from doorctl.core.system.mqtt.link import Link, LinkError
from doorctl.core.system.mqtt.old_files import import_old_files
from doorctl.core.system.mqtt.outbox import Outbox
from doorctl.core.system.mqtt.subscribing import Subscribing

log = logging.getLogger(__name__)

CLIENT, PUBLICATION, SUBSCRIPTIONS = "mqtt_client", "mqtt_publication", "mqtt_subscriptions"
WINDOW = 200
MAX_BACKOFF = 120.0
UNUSABLE = "The settings can't be used; the system log has details."
FAILED = "The MQTT client stopped on an unexpected error; the system log has details."
KNOWN_TOPICS = (
    "tns1:AccessControl/AccessGranted/Credential",
    "tns1:AccessControl/Denied/Credential",
    "tns1:Device/Trigger/DigitalInput",
    "tns1:Device/User/Login",
    "tns1:Door/Command",
    "tns1:Door/State/DoorAlarm",
    "tns1:Door/State/DoorMode",
    "tns1:Door/State/DoorPhysicalState",
    "tns1:Door/State/DoorTamper",
    messages.STATEFUL,
    messages.STATELESS,
)


class MqttService(Subscribing):
    """The device's MQTT client: start()/stop()/apply()/status() like every service."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: EventBus,
        device: DeviceInfo,
        certificates: Certificates,
        data_dir: Path,
    ):
        self.settings, self.store, self.bus, self.device = settings, store, bus, device
        self.certificates = certificates
        settings.register(CLIENT, client_form(device.serial), secrets=("password",))
        settings.register(PUBLICATION, PublicationForm)
        settings.register(SUBSCRIPTIONS, SubscriptionsForm)
        settings.check(CLIENT, lambda record: tls.check(certificates, record))
        import_old_files(data_dir, certificates, settings, CLIENT, bus)
        certificates.used_by("MQTT", lambda: tls.chosen(self.client))
        for section in (CLIENT, PUBLICATION, SUBSCRIPTIONS, proxy.SECTION):
            settings.on_change(section, self.apply)
        self.door_commands: DoorCommands | None = None
        self.entities: Callable[[], list[dict]] = discovery.default_entities
        self.home_assistant = HomeAssistant()
        self.outbox = Outbox(store)
        self.outbox.on_written = self._rows_written
        self.states: dict[str, str] = {}
        self.counts = dict(published=0, received=0, not_connected=0, loop_guarded=0)
        self._link: Link | None = None
        self._stale_discovery: dict | None = None
        self._greenlet: gevent.Greenlet | None = None
        self._running = False
        self._state = ("disconnected", "", time.time())
        self._reset_session()
        self._load()
        bus.subscribe(self._on_event)

    def _load(self) -> None:
        self.client = self.settings.get(CLIENT)
        self.proxy = self.settings.get(proxy.SECTION)
        self.publication = self.settings.get(PUBLICATION)
        self.subscriptions = self.settings.get(SUBSCRIPTIONS)
        self.outbox.limit = self.publication["queue_limit"]

    def _reset_session(self) -> None:
        """A new paho client knows no packet ids: every queued row is sent again."""
        self._handed: dict[int, int] = {}
        self._last_handed = 0
        self._need_rows = True
        self._connack = None
        self.subscribed: list[str] = []
        self._pending_subscribe: tuple[int, list[str]] = (0, [])

    # service interface

    def start(self) -> None:
        """Start the outbox and, when Connect is on, the link."""
        self.outbox.start()
        self._running = True
        self._restart()

    def stop(self) -> None:
        """Say goodbye to the broker (the LWT payload, as the broker would) and stop."""
        self._running = False
        self._stop_link()
        self.outbox.stop()

    def apply(self, _record: dict | None = None, force: bool = False) -> None:
        """Take the stored settings into use; reconnect when the client part changed."""
        old_client, old_publication, old_tunnel = self.client, self.publication, self._tunnel()
        self._load()
        if not self._running:
            return
        if force or self.client != old_client or self._tunnel() != old_tunnel:
            self._restart()
            return
        if self.connected:
            self._subscribe()
            self._publish_discovery(old_publication)
        elif old_publication["home_assistant"] and not self.publication["home_assistant"]:
            self._stale_discovery = old_publication

    def status(self) -> dict:
        """The live status the page and /api/v1/mqtt/status show."""
        state, reason, since = self._state
        return {
            "state": state,
            "reason": reason,
            "since": since,
            "broker": f"{self.client['protocol']}://{self.client['host']}:{self.client['port']}",
            "client_id": self.client["client_id"],
            "proxy": proxy.used_for(self.proxy, self.client["host"]),
            "queued": self.outbox.queued,
            "dropped": self.outbox.dropped,
            **self.counts,
            "subscribed": list(self.subscribed),
            "states": dict(self.states),
        }

    def known_topics(self, event_log: EventLog) -> list[str]:
        """The event topics the device has logged, for choosing publication conditions.

        Read through the event log, on its thread: DISTINCT walks the whole topic index
        of a long log, which on the hub would stall reader polling.
        """
        rows = event_log.select("SELECT DISTINCT topic FROM events ORDER BY topic LIMIT 500")
        return sorted({*KNOWN_TOPICS, *(r[0] for r in rows)})

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._state[0] == "connected"

    # the link greenlet

    def _restart(self) -> None:
        self._stop_link()
        if self._running and self.client["connect"]:
            will = messages.connect_message(self.client, "lwt")
            try:
                self._link = Link(self.client, self.certificates, will, self._tunnel())
            except LinkError as error:
                self._set_state("error", str(error))
                return
            except Exception:
                log.exception("MQTT settings can't be used")
                self._set_state("error", UNUSABLE)
                return
            self._reset_session()
            self._wire(self._link)
            self._greenlet = gevent.spawn(self._run, self._link)

    def _tunnel(self) -> dict | None:
        """The proxy the broker is reached through (paho's proxy_set arguments), or None."""
        return proxy.mqtt_proxy(self.proxy, self.client["host"])

    def _stop_link(self) -> None:
        link, greenlet = self._link, self._greenlet
        self._link = self._greenlet = None
        if greenlet is not None:
            greenlet.kill()
        if link is not None:
            if self.connected:
                self._goodbye(link)
            link.close()
        self._set_state("disconnected", "")

    def _wire(self, link: Link) -> None:
        client = link.client
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe

    def _run(self, link: Link) -> None:
        """Connect, serve, and on failure wait a growing back-off and try again."""
        delay = 1.0
        while True:
            try:
                self._connect(link)
                delay = 1.0
                self._serve(link)
            except LinkError as error:
                self._set_state("error", str(error))
            except Exception:
                log.exception("MQTT link failed")
                self._set_state("error", FAILED)
            if not self.client["reconnect"]:
                return
            gevent.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _connect(self, link: Link) -> None:
        self._set_state("connecting", "")
        self._connack = None
        link.open()
        deadline = time.monotonic() + self.client["timeout"]
        while self._connack is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkError(f"The broker did not answer within {self.client['timeout']} s.")
            try:
                link.step(min(left, 1.0))
            except LinkError as error:
                raise link.closed_before_connack(error) from error
        if self._connack.is_failure:
            raise LinkError(f"The broker refused the connection: {self._connack}.")
        self._on_connected(link)

    def _on_connected(self, link: Link) -> None:
        self._set_state("connected", "")
        connect = messages.connect_message(self.client, "connect_message")
        if connect:
            link.client.publish(*connect)
        self._subscribe()
        self._publish_discovery(self._stale_discovery)
        self._stale_discovery = None
        self._need_rows = True

    def _serve(self, link: Link) -> None:
        while True:
            self._feed(link)
            link.step(1.0)

    def _feed(self, link: Link) -> None:
        """Hand queued rows to paho in id order, at most WINDOW unacknowledged."""
        room = WINDOW - len(self._handed)
        if not self._need_rows or room <= 0:
            return
        self._need_rows = False
        rows = self.outbox.rows(self._last_handed, room)
        for row in rows:
            info = link.client.publish(row.topic, row.payload, row.qos, row.retain)
            self._handed[info.mid] = row.id
            self._last_handed = row.id
        self._need_rows = self._need_rows or len(rows) == room

    def _goodbye(self, link: Link) -> None:
        """Publish the LWT payload ourselves (a clean disconnect sends no LWT), then leave."""
        try:
            lwt = messages.connect_message(link.settings, "lwt")
            if lwt:
                link.client.publish(*lwt)
            link.client.disconnect()
            deadline = time.monotonic() + 2
            while link.client.socket() is not None and time.monotonic() < deadline:
                link.step(0.2)
        except LinkError:
            pass

    def _set_state(self, state: str, reason: str) -> None:
        if (state, reason) != self._state[:2]:
            if reason:
                log.info("MQTT %s: %s", state, reason)
            self._state = (state, reason, time.time())

    # paho callbacks (they run in the link greenlet)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connack = reason_code

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.subscribed = []
        if self.connected:
            self._set_state("disconnected", f"The connection was lost: {reason_code}.")

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        row_id = self._handed.pop(mid, None)
        if row_id is not None:
            self.outbox.ack(row_id)
            self._need_rows = True
        self.counts["published"] += 1

    # publication

    def _on_event(self, event: Event) -> None:
        """Queue an event for publication when the conditions select it (never blocks)."""
        if self.home_assistant.observe(event):
            # Its own greenlet: the entities may be asked of the engine process, whose
            # events arrive on the very greenlet that would wait for the answer.
            gevent.spawn(self._publish_state, event)
        if not self.client["connect"] or not messages.selected(event, self.publication):
            return
        topic = messages.event_topic(event.topic, self.client, self.publication)
        if messages.loops_back(topic, event, [f for f, _ in self._filters()]):
            self.counts["loop_guarded"] += 1
            return
        body = messages.payload(event, self.device.serial, self.publication["include_serial"])
        retain = messages.retained(event, self.publication)
        qos = self.publication["qos"]
        if qos:
            self.outbox.add(topic, body, qos, retain)
        elif self.connected and self._link is not None:
            self._link.client.publish(topic, body, 0, retain)
        else:
            self.counts["not_connected"] += 1

    def _rows_written(self) -> None:
        self._need_rows = True
        if self._link is not None:
            self._link.wake()

    def _publish_discovery(self, old_publication: dict | None) -> None:
        """Home Assistant discovery: retained configs and states when on, empty ones to remove."""
        was_on = bool(old_publication and old_publication["home_assistant"])
        if self._link is None or not (was_on or self.publication["home_assistant"]):
            return
        for topic, body in self.home_assistant.everything(
            self.entities(), self.client, old_publication, self.publication, self.device.to_dict()
        ):
            self._link.client.publish(topic, body, 1, True)

    def _publish_state(self, event: Event) -> None:
        """A door's or reader's new state, retained, for Home Assistant."""
        if not (self.publication["home_assistant"] and self.connected and self._link):
            return
        entities = self.entities()
        for topic, body in self.home_assistant.changed(
            event, entities, self.client, self.publication
        ):
            self._link.client.publish(topic, body, 1, True)
