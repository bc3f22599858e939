"""Live panels over Server-Sent Events: the server pushes a panel's fresh HTML when it changes.

A page opens one stream for all its live panels (`/live?panel=doors&panel=device`) with
htmx's SSE extension, and each panel element swaps the messages named after it
(`sse-swap="doors"`, `hx-swap="innerHTML"`): no polling and no script of our own, so
the strict Content-Security-Policy holds.

The stream sends every panel as soon as it connects, so a browser that reconnects after
a restart catches up at once; then a panel again when an event of its topics arrives
(a burst of events gives one render); and every REFRESH_SECONDS each panel whose HTML
changed without an event (an uptime, a supervised loop's resistance). When nothing
changed, a comment keeps the connection open through proxies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gevent
from flask import Blueprint, Response, request, session, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from doorctl.blueprints import kiosk
from doorctl.blueprints.access_control import alarms, doors, peripherals, simulator
from doorctl.blueprints.accessories import io_ports
from doorctl.blueprints.common import allow, appliance
from doorctl.blueprints.logs import remote_syslog
from doorctl.blueprints.status import status
from doorctl.blueprints.system import date_time
from doorctl.core.engine.process import Unavailable
from doorctl.core.errors import Invalid, NotFound
from doorctl.core.events import Subscription, topic_matches
from doorctl.core.logs.audit import PREFIX as CONFIGURATION
from doorctl.core.system.date_time.service import SYNC_TOPIC

bp = Blueprint("live", __name__)
REFRESH_SECONDS = 10
# Events of one change (a door's mode, lock and relay) come within a few milliseconds.
COALESCE_SECONDS = 0.05
DOOR, READER, TAMPER = "tns1:Door/", "tns1:Device/Reader/", "tns1:Device/Tamper"
# The engine restarting or running again changes every panel that shows its state.
ENGINE = "tns1:Device/DoorEngine"
IO = ("tns1:Device/Trigger/", "tns1:Device/IO/")
ACCESS = "tns1:AccessControl/"


@dataclass(frozen=True)
class Panel:
    """A live panel: the topics that change it, the role that may see it, its HTML, and
    whether this device has it at all (the simulator only on the simulated board)."""

    topics: tuple[str, ...]
    render: Callable[[], str]
    role: str = "viewer"
    shown: Callable[[], bool] = lambda: True


def readers_html() -> str:
    """The Peripherals page's readers table, inside its live section (which stays)."""
    html = peripherals.readers_html()
    return html[html.index(">", html.index("<section")) + 1 : html.rindex("</section>")]


PANELS = {
    "doors": Panel((DOOR, ENGINE), doors.cards_html),
    "door-summary": Panel((DOOR, ENGINE), status.doors_html),
    "alarm-summary": Panel((TAMPER, READER, DOOR, ENGINE), status.alarms_html),
    "reader-summary": Panel((READER, ENGINE), status.readers_html),
    "device": Panel((ENGINE,), status.device_html),
    "alarms": Panel((TAMPER, READER), alarms.table_html),
    "io": Panel(IO, io_ports.table_html, "operator"),
    "simulator": Panel(
        (*IO, DOOR, READER, TAMPER),
        simulator.board_html,
        "administrator",
        lambda: appliance().simulator.available(),
    ),
    "readers": Panel((READER,), readers_html),
    # in sync or not, and what Date and time saved; the offset and next sync refresh
    "time-sync": Panel((SYNC_TOPIC, f"{CONFIGURATION}Settings/"), date_time.time_sync_html),
    # a server added or changed; its state and counts refresh every REFRESH_SECONDS
    "remote-syslog": Panel(
        (f"{CONFIGURATION}{remote_syslog.KIND}/",), remote_syslog.servers_html, "administrator"
    ),
    # the kiosk display's page (blueprints/kiosk.py); its Settings change the actions shown
    "kiosk-doors": Panel((DOOR, ENGINE, f"{CONFIGURATION}Settings/"), kiosk.doors_html, "kiosk"),
    "kiosk-alarms": Panel((TAMPER, READER, DOOR, ENGINE), kiosk.alarms_html, "kiosk"),
    "kiosk-decisions": Panel((ACCESS,), kiosk.decisions_html, "kiosk"),
}


def message(name: str, html: str) -> str:
    """One SSE message named after its panel; each line of HTML is a data line."""
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


def _requested() -> dict[str, Panel]:
    """The panels of `?panel=`, each one the user may see; raise for any other."""
    names = request.args.getlist("panel")
    if not names:
        raise Invalid({"panel": _("Name at least one live panel.")})
    unknown = [n for n in names if n not in PANELS]
    if unknown:
        raise NotFound(_("There is no live panel %(name)s.", name=unknown[0]))
    return {
        n: PANELS[n] for n in names if current_user.has_role(PANELS[n].role) and PANELS[n].shown()
    }


class Pusher:
    """What one browser was last sent, panel by panel; only changes go out again."""

    def __init__(self, panels: dict[str, Panel]):
        self.panels = panels
        self.sent: dict[str, str] = {}

    def changed(self, names) -> str:
        """The messages for those of `names` whose HTML differs from what was sent."""
        out = []
        for name in names:
            try:
                html = self.panels[name].render()
            except Unavailable:  # the engine restarts: the panel shows its last state
                continue
            if self.sent.get(name) != html:
                self.sent[name] = html
                out.append(message(name, html))
        return "".join(out)

    def touched(self, subscription: Subscription, first) -> set[str]:
        """The panels the event `first` and those right behind it change."""
        events = [first]
        gevent.sleep(COALESCE_SECONDS)
        while (event := subscription.get(0)) is not None:
            events.append(event)
        return {
            name
            for name, panel in self.panels.items()
            if panel.topics and any(topic_matches(e.topic, panel.topics) for e in events)
        }


def _topics(panels: dict[str, Panel]) -> tuple[str, ...]:
    """Every topic prefix the panels listen to (never empty: that would mean all)."""
    return tuple({t for panel in panels.values() for t in panel.topics}) or ("-",)


@bp.route("/live")
@allow("kiosk")  # each panel names its own role: the kiosk's role sees only its panels
def stream():
    """The live panels of a page as SSE: each `event:` is a panel, its data the HTML."""
    pusher = Pusher(_requested())
    subscription = Subscription(appliance().bus, _topics(pusher.panels))
    ended, session_id = appliance().ended_sessions.ended, session.get("sid")

    def generate() -> Iterator[str]:
        try:
            yield "retry: 2000\n\n" + pusher.changed(pusher.panels)
            due = time.monotonic() + REFRESH_SECONDS
            # a session an administrator ends stops watching at its next event or refresh
            while not ended(session_id):
                event = subscription.get(max(0.0, due - time.monotonic()))
                if event is not None:
                    if changes := pusher.changed(pusher.touched(subscription, event)):
                        yield changes
                    continue
                yield pusher.changed(pusher.panels) or ": keep-alive\n\n"
                due = time.monotonic() + REFRESH_SECONDS
        finally:
            subscription.close()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(generate()), mimetype="text/event-stream", headers=headers)
