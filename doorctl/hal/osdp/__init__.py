"""OSDP v2.2 control panel (CP) for card readers on an RS-485 bus.

One ``OsdpBus`` per serial port, polling up to two readers (by address) from
one gevent greenlet. Each idle reader gets a POLL every ``poll_interval``
seconds (default 15 ms: a card waits at most that long, and an idle bus stays
cheap); a queued command goes out at once. The port is opened with
``serial.serial_for_url`` and ``timeout=0``; the greenlet waits for input on
the port's descriptor in the hub (``sleeper``), so the hub never blocks. Half
duplex: an adapter with
automatic direction needs nothing; otherwise pass ``set_direction(transmit)``
(the board's DE pin) and the bus raises it only while a frame is being sent.

Usage::

    keys = KeyStore(data_dir)                      # SCBKs, 0600 JSON file
    bus = OsdpBus("/dev/ttyAMA0", [ReaderConfig(1, secure_channel="install")],
                  on_event, baudrate=115200, key_store=keys, set_direction=de)
    bus.start()
    bus.led(1, temporary={"on_color": "green", "on_count": 30, "timer": 30})
    result = bus.file_transfer(1, firmware, progress=lambda sent, total: ...)
    result.get(timeout=600)  # {"ok": True, "status": 1, ...} or {"ok": False, ...}
    bus.stop()

Commands (``led``, ``buzzer``, ``text``, ``output``, ``status``, ``comset``,
``file_transfer``, ``rotate_key``) return a ``gevent.event.AsyncResult`` whose value is a dict
with ``ok`` plus the decoded reply (``{"ok": False, "reply": "nak", "reason":
...}`` or ``{"ok": False, "error": "offline"}``). Never ``.get()`` it inside
``on_event``: the callback runs in the bus greenlet.

``on_event(address, kind, data)`` kinds and payloads:

- ``online``: the ``readers()`` entry (identity, capabilities, sc).
- ``offline``: {} or {"reason": "sc_failed"}; after 8 s without a valid reply.
  The bus keeps probing and the reader comes back by itself (``online``).
- ``sc_up`` {"default_key": bool}, ``sc_down`` {"reason"}, ``sc_failed``
  {"reason", "cause": "no_key" | "wrong_key" | "no_secure_answer" | "mac"},
  ``keyset`` {"key_name", "by": "install" | "rotation"} (the reader acknowledged
  a new key, now stored), ``key_proved`` {"key_name", "new": bool} (a handshake
  settled which of two keys the reader has, after a rotation's answer was lost).
- ``card``: {"reader", "format": "raw"|"wiegand"|"ascii", "bits", "data" (hex),
  "bit_string" ("0101..."), and "facility"/"number" for valid 26-bit H10301}.
- ``keypad`` {"reader", "keys"} ("*" and "#" decoded), ``lstat`` {"tamper",
  "power"}, ``istat`` {"inputs"}, ``ostat`` {"outputs"}, ``mfgrep``
  {"vendor_code", "data" (hex)}, ``nak`` {"command" (code), "name" ("osdp_LED"),
  "code", "reason", "error" (the specification's words for the code)},
  ``com`` {"address", "baud"} after a successful COMSET.

``readers()`` returns one dict per reader: address, online, state (link
phase: start, cap, chlng, keyset, ready, sc_failed), sc (off, up, down,
failed, unsupported), secure_channel, vendor (OUI hex), vendor_code, model,
version, serial (hex), firmware ("major.minor.build"), capabilities (name ->
{"compliance", "items"}), tamper/power once known, naks (command name ->
{"count", "code", "error"}: the commands the reader refused, and the last reason)
and transfer {"sent", "total"} while a file is being sent.

Secure channel per reader (``ReaderConfig.secure_channel``): ``"off"``;
``"install"`` uses the stored key or, if the reader has none, SCBK-D and then
sends it a random key with KEYSET and stores it; ``"required"`` uses the stored
key only and never polls in the clear: a failure is reported (``sc_failed``,
state ``sc_failed``) and retried every few seconds. Keys are stored under the
reader's ``key_name`` (default "<vendor oui>-<serial>" from osdp_ID) in a key
store (``keystore`` says what it must do). ``rotate_key(address)`` gives a reader in
a secure channel a new random key (``rekey``); the bus never re-keys a reader itself,
and in "required" mode never falls back to SCBK-D. ``MAC_ERRORS`` replies failing
their MAC within ``MAC_WINDOW`` fail a required secure channel (cause "mac").

While every reader on a bus is idle (online, nothing queued), the POLL rounds
run in hub callbacks (``idle``) and the greenlet sleeps; the first reply that
is not the expected ACK (in a secure channel: with the expected MAC) hands the
bus back to the greenlet.

Layout: ``codec`` (frames, CRC, FrameDecoder), ``messages`` (command builders
and reply parsers), ``secure`` (AES secure channel), ``keystore``, ``rekey`` (key
rotation), ``reader`` (per-reader state), ``sleeper`` (the greenlet's waits), ``idle`` (idle POLL
rounds in the hub), ``bus`` (the greenlet: life cycle, polling loop, replies) and
the parts of ``OsdpBus`` kept apart: ``transport`` (frames on the serial line),
``commands`` (the per-reader command queue), ``transfer`` (file transfer) and
``channel`` (secure channel setup).
"""

from .bus import OsdpBus
from .keystore import KeyStore
from .reader import ReaderConfig

__all__ = ["KeyStore", "OsdpBus", "ReaderConfig"]
