"""Readers (Access control > Peripherals): OSDP readers on serial buses, the Wiegand reader.

The reader connector takes up to two OSDP readers on one RS-485 bus (multi-drop) or
one Wiegand reader. Readers with the same port share one OsdpBus (one greenlet);
changing a reader restarts only its bus. Card reads and keypad entries go to access
control like the Wiegand reader's; the decision events drive the reader's LED and
buzzer through OSDP. A port that can't be opened at run time is the reader's error
state and is retried; it never stops the rest of the appliance.

Layout: ``form`` (a reader's fields and their checks), ``topics`` (the events a reader
publishes), ``bus`` (one port and its OSDP readers; which ports a reader may use),
``service`` (``Readers``: the buses and each reader's live state), ``keys`` (the
readers' secure channel keys, sealed) and the parts of ``Readers`` kept apart:
``configuration`` (add, configure, remove; a bus's sharing rules; the writes to the
store), ``osdp_events`` (what the readers report), ``secure_channel`` (a required
secure channel failing: the event and the alarm), ``flapping`` (its up and down told
sparingly), ``rotation`` (a reader's new key), ``clearing`` (a stored key cleared),
``feedback`` (grant and deny at the reader) and ``upgrade`` (Upgrade readers).
"""

from .bus import ReaderBus, port_opens, port_problem
from .form import (
    BUS_FIELDS,
    DIRECTIONS,
    FIELDS,
    LIVE_DEFAULTS,
    PROTOCOLS,
    READERS_PER_BUS,
    SECURE_CHANNEL_MODES,
    SHARED_FIELDS,
    WIEGAND_ID,
    ReaderForm,
    defaults,
)
from .service import Readers
from .topics import (
    CARD_READ,
    KEY_CLEARED,
    KEY_ROTATION,
    KEY_SET,
    ONLINE,
    PORT_ERROR,
    POWER,
    SECURE_CHANNEL,
    SECURE_CHANNEL_FAILURE,
    TAMPER,
    UPGRADE,
)

__all__ = [
    "BUS_FIELDS",
    "CARD_READ",
    "DIRECTIONS",
    "FIELDS",
    "KEY_CLEARED",
    "KEY_ROTATION",
    "KEY_SET",
    "LIVE_DEFAULTS",
    "ONLINE",
    "PORT_ERROR",
    "POWER",
    "PROTOCOLS",
    "READERS_PER_BUS",
    "SECURE_CHANNEL",
    "SECURE_CHANNEL_FAILURE",
    "SECURE_CHANNEL_MODES",
    "SHARED_FIELDS",
    "TAMPER",
    "UPGRADE",
    "WIEGAND_ID",
    "ReaderBus",
    "ReaderForm",
    "Readers",
    "defaults",
    "port_opens",
    "port_problem",
]
