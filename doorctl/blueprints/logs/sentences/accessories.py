"""Sentences of the Accessories' events: the I/O ports."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.logs.sentences import Context, says, text
from doorctl.core.events import Event

CIRCUITS = {"open": lazy_gettext("open circuit"), "closed": lazy_gettext("closed circuit")}


def _port(event: Event) -> str:
    return text(event.source.get("name") or event.source.get("port"))


def _circuit(event: Event) -> str:
    circuit = event.data.get("circuit")
    return str(CIRCUITS.get(circuit, text(circuit)))


@says("tns1:Device/Trigger/DigitalInput")
def _input(event: Event, context: Context) -> str:
    if event.data.get("active"):
        return _(
            "Input %(port)s became active (%(circuit)s)", port=_port(event), circuit=_circuit(event)
        )
    return _(
        "Input %(port)s became inactive (%(circuit)s)", port=_port(event), circuit=_circuit(event)
    )


@says("tns1:Device/Trigger/Relay")
def _output(event: Event, context: Context) -> str:
    if event.data.get("active"):
        return _(
            "Output %(port)s activated (%(circuit)s)", port=_port(event), circuit=_circuit(event)
        )
    return _(
        "Output %(port)s deactivated (%(circuit)s)", port=_port(event), circuit=_circuit(event)
    )


@says("tns1:Device/IO/SupervisedPort")
def _supervised(event: Event, context: Context) -> str:
    state, port = event.data.get("state"), _port(event)
    if state == "cut":
        return _("The wire of supervised input %(port)s was cut", port=port)
    if state == "short":
        return _("The wire of supervised input %(port)s was short-circuited", port=port)
    if state == "open":
        return _("Supervised input %(port)s: open circuit, wire intact", port=port)
    return _("Supervised input %(port)s: closed circuit, wire intact", port=port)
