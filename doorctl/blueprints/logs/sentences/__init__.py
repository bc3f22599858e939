"""Each kind of event as a sentence a person reads ("Door Front door was forced open").

A kind is an event topic. Each kind is declared once, with `@says(topic)`, in the
module of its menu section (access_control, accessories, system); the Event log,
the Access log and their live rows all show the same sentence, and the raw event
stays behind each row's details. A kind without a declaration still reads as a
sentence ("Event tns1:...") but a test lists every kind the product emits and fails
for one that has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext as _

from doorctl.core.events import Event


@dataclass
class Context:
    """What a sentence may name besides the event: doors by id, settings' labels."""

    doors: dict[int, str] = field(default_factory=dict)
    labels: Callable[[str], dict[str, str]] = lambda section: {}


Sentence = Callable[[Event, Context], str]
SENTENCES: dict[str, Sentence] = {}


def says(*topics: str) -> Callable[[Sentence], Sentence]:
    """Declare the sentence of the events of `topics`."""

    def register(sentence: Sentence) -> Sentence:
        for topic in topics:
            SENTENCES[topic] = sentence
        return sentence

    return register


def sentence(event: Event, context: Context | None = None) -> str:
    """The event as one sentence, in the page's language."""
    say = SENTENCES.get(event.topic)
    if say is None:
        return _("Event %(topic)s", topic=event.topic)
    return say(event, context or Context())


def text(value, fallback: str = "?") -> str:
    """A value as it reads in a sentence: never "None", never a repr."""
    if value is None or value == "":
        return fallback
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value) or fallback
    return str(value)


def door_name(event: Event, context: Context) -> str:
    """The door an event is about, as a sentence names it: "Front door", "door Lab"
    (a door's own events carry the name it had then; others only its id)."""
    door = event.source.get("door", event.key.get("door"))
    stated = event.source.get("name") if event.topic.startswith("tns1:Door/State/") else None
    name = stated or context.doors.get(_as_int(door)) or text(door)
    return name if _("door") in name.casefold() else _("door %(name)s", name=name)


def capital(words: str) -> str:
    """Words that begin a sentence, their first letter in capitals."""
    return words[:1].upper() + words[1:]


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# The modules that declare the sentences, imported for their declarations.
from doorctl.blueprints.logs.sentences import (  # noqa: E402, F401
    access_control,
    accessories,
    backup,
    maintenance,
    network_trace,
    system,
)
