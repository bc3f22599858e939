"""Per-reader state of the control panel: link, sequence, secure channel, queue."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gevent.event import AsyncResult

from . import messages as m
from .secure import Handshake, Session

SC_MODES = ("off", "install", "required")


@dataclass
class ReaderConfig:
    """How the controller wants one reader on a bus to be run."""

    address: int
    secure_channel: str = "off"
    key_name: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.address < 0x7F:
            raise ValueError("OSDP reader address must be 0..126")
        if self.secure_channel not in SC_MODES:
            raise ValueError(f"secure_channel must be one of {SC_MODES}")


@dataclass
class Request:
    """A command the controller asked for, answered through `result`."""

    code: int
    data: bytes
    result: AsyncResult = field(default_factory=AsyncResult)


@dataclass
class Inflight:
    """The command on the wire; a retry resends exactly these bytes and SQN."""

    frame: bytes
    sqn: int
    code: int
    handler: Callable[[str, dict], None]


@dataclass
class Transfer:
    """A file being sent to a reader, paced by its FtDelay and FtUpdateMsgMax."""

    data: bytes
    file_type: int
    chunk: int
    progress: Callable[[int, int], None] | None
    result: AsyncResult = field(default_factory=AsyncResult)
    offset: int = 0
    not_before: float = 0.0
    idle_rounds: int = 0


@dataclass
class Rotation:
    """A new key on its way to the reader (KEYSET in the secure channel), and the answer."""

    key: bytes
    result: AsyncResult = field(default_factory=AsyncResult)
    reply: str = ""


@dataclass
class Reader:
    """Everything the bus knows about one reader."""

    config: ReaderConfig
    address: int = 0
    phase: str = "start"
    sqn: int = 0
    online: bool = False
    last_reply: float = field(default_factory=time.monotonic)
    next_try: float = 0.0
    session: Session | None = None
    handshake: Handshake | None = None
    use_default_key: bool = False
    sc: str = "off"
    # Why a secure channel failed ("wrong_key", "no_secure_answer", ...), while it is failed.
    sc_cause: str | None = None
    # Handshake commands (CHLNG, SCRYPT) in a row that got no answer at all.
    unanswered: int = 0
    identity: dict = field(default_factory=dict)
    capabilities: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    # Commands the reader answered with NAK: name -> {"count", "code", "error"}.
    naks: dict = field(default_factory=dict)
    inflight: Inflight | None = None
    queue: deque = field(default_factory=deque)
    transfer: Transfer | None = None
    rotation: Rotation | None = None
    # When replies last failed their MAC check (secure channel), for counting them.
    mac_errors: list = field(default_factory=list)
    # Plain POLL commands by SQN, built once (see OsdpBus._poll).
    polls: dict = field(default_factory=dict)
    # The osdp_ACK frames an idle reader answers them with (see idle.py).
    acks: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.address = self.config.address

    def next_sqn(self) -> None:
        """Advance after a good reply: 0 only ever starts a link, then 1, 2, 3, 1..."""
        self.sqn = 1 if self.sqn == 3 else self.sqn + 1

    def restart(self) -> None:
        """Start the link again: SQN 0 tells the PD to reset, and drops its SC."""
        self.phase, self.sqn = "start", 0
        self.session = self.handshake = self.inflight = None

    def count_nak(self, code: int, payload: dict) -> dict:
        """Count a NAK to a command; the record keeps the last reason."""
        name = m.command_name(code)
        nak = self.naks.setdefault(name, {"count": 0})
        nak.update(count=nak["count"] + 1, code=payload["code"], error=m.nak_error(payload["code"]))
        return {"command": code, "name": name, **payload, "error": nak["error"]}

    def key_name(self) -> str:
        """Name of this reader's key in the store: configured, else its identity."""
        if self.config.key_name:
            return self.config.key_name
        # The vendor's bytes in wire order, as keys have always been stored under.
        code = self.identity.get("vendor_code")
        vendor = code.to_bytes(3, "little").hex() if code is not None else "unknown"
        return f"{vendor}-{self.identity.get('serial', '0')}"

    def info(self) -> dict:
        """A copy of the live state for readers()."""
        info = {"address": self.address, "online": self.online, "state": self.phase}
        info.update({"sc": self.sc, "secure_channel": self.config.secure_channel})
        info["sc_cause"] = self.sc_cause if self.sc == "failed" else None
        info.update(self.identity)
        info["capabilities"] = dict(self.capabilities)
        info.update(self.status)
        info["naks"] = {name: dict(nak) for name, nak in self.naks.items()}
        if self.transfer:
            info["transfer"] = {"sent": self.transfer.offset, "total": len(self.transfer.data)}
        return info
