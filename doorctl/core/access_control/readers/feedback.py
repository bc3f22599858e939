"""Grant and deny at an OSDP reader: its LED and buzzer show the access decision."""

from __future__ import annotations

from doorctl.core.events import Event

from .topics import GRANTED_PREFIX

# What the reader shows for a decision, as the Wiegand reader's LED and beeper do:
# green and one short beep on grant; red and a double beep on deny (100 ms units).
FEEDBACK = {
    True: (
        ("led", {"temporary": {"on_color": "green", "on_count": 1, "timer": 30}}),
        ("buzzer", {"on_count": 1, "off_count": 0, "repeat": 1}),
    ),
    False: (
        ("led", {"temporary": {"on_color": "red", "on_count": 1, "timer": 20}}),
        ("buzzer", {"on_count": 2, "off_count": 2, "repeat": 2}),
    ),
}


class DecisionFeedback:
    """Readers' answer to a decision event, at the reader that read the credential."""

    def _on_decision(self, event: Event) -> None:
        """Green and a beep, or red and two beeps, at the OSDP reader that read the credential."""
        reader_id = event.source.get("reader")
        on_bus = self._osdp_reader(reader_id)
        if on_bus is None:
            return
        bus, address = on_bus
        for command, settings in FEEDBACK[event.topic.startswith(GRANTED_PREFIX)]:
            # Queued on the bus; the reply is not awaited (this runs in a bus greenlet).
            getattr(bus, command)(address, **settings)
