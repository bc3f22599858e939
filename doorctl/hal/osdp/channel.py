"""Secure channel setup on an OSDP bus: challenge, cryptograms, a reader's own key."""

from __future__ import annotations

import logging
import os
import time

from . import messages as m
from .reader import Inflight, Reader
from .secure import Handshake, SecureChannelError

log = logging.getLogger(__name__)

# After a failed handshake in "required" mode, try again this much later.
SC_RETRY = 5.0
# This many replies failing their MAC check within MAC_WINDOW seconds is a failed
# secure channel, not a line glitch: a required reader then waits SC_RETRY.
MAC_ERRORS = 3
MAC_WINDOW = 60.0
# A reader that answers osdp_ID and osdp_CAP but lets this many handshake commands in
# a row go unanswered is not in secure mode (a reader set up for plain OSDP ignores
# CHLNG): that is its failure, not "offline" 8 s later.
HANDSHAKE_TRIES = 3
NO_SECURE_ANSWER = "the reader does not answer in secure mode"


class SecureChannelSetup:
    """OsdpBus's secure channel phases: CHLNG, SCRYPT, KEYSET, and their failures."""

    def _phase_chlng(self, reader: Reader) -> Inflight | None:
        """Open a secure channel with the stored key or, in install mode, SCBK-D."""
        key = self._keys.get(reader.key_name())
        if key is None and reader.config.secure_channel == "required":
            self._sc_failed(reader, "no key stored for this reader; install it first", "no_key")
            return None
        default = key is None or reader.use_default_key
        alternative = None if default else self._keys.alternative(reader.key_name())
        reader.handshake = Handshake(key or b"", default_key=default, alternative=alternative)
        scb, code, data = reader.handshake.challenge()
        return self._send(reader, code, data, lambda k, p: self._on_ccrypt(reader, k, p), scb)

    def _phase_scrypt(self, reader: Reader) -> Inflight:
        """Not reached: SCRYPT is sent straight from the CCRYPT handler."""
        raise RuntimeError("scrypt phase has no command of its own")

    def _phase_keyset(self, reader: Reader) -> Inflight:
        """Give a reader still on SCBK-D its own random key."""
        key = os.urandom(16)
        return self._send(reader, *m.keyset(key), lambda k, p: self._on_keyset(reader, key, k, p))

    def _phase_sc_failed(self, reader: Reader) -> None:
        """A required secure channel failed: never poll in the clear, retry later."""
        reader.restart()
        return None

    def _on_ccrypt(self, reader: Reader, kind: str, payload: dict) -> None:
        """Check the PD's cryptogram and send our own straight away."""
        if kind != "ccrypt":
            self._handshake_failed(reader, f"no CCRYPT ({kind})", "no_secure_answer")
            return
        try:
            scb, code, data = reader.handshake.answer(payload)
        except SecureChannelError as exc:
            self._handshake_failed(reader, str(exc), exc.cause)
            return
        reader.phase = "scrypt"
        inflight = self._send(reader, code, data, lambda k, p: self._on_rmac_i(reader, k, p), scb)
        reader.inflight = inflight

    def _on_rmac_i(self, reader: Reader, kind: str, payload: dict) -> None:
        """The PD accepted our cryptogram: the secure channel is up."""
        try:
            if kind != "rmac_i":
                raise SecureChannelError(f"no RMAC_I ({kind})", "no_secure_answer")
            reader.session = reader.handshake.finish(payload)
        except SecureChannelError as exc:
            self._handshake_failed(reader, str(exc), exc.cause)
            return
        reader.sc = "up"
        default = reader.handshake.key_flag == 0
        self._key_proved(reader, reader.handshake)
        self._emit(reader, "sc_up", {"default_key": default})
        if default:
            reader.phase = "keyset"
        else:
            self._ready(reader)

    def _on_keyset(self, reader: Reader, key: bytes, kind: str, payload: dict) -> None:
        """Keep the new key; the PD now drops the session, so set up a new one."""
        if kind != "ack":
            self._sc_failed(reader, "KEYSET refused", "no_secure_answer")
            return
        self._keys.put(reader.key_name(), key)
        self._emit(reader, "keyset", {"key_name": reader.key_name(), "by": "install"})
        reader.session = None
        reader.sc = "down"
        reader.use_default_key = False
        reader.phase = "chlng"

    def _handshake_failed(self, reader: Reader, reason: str, cause: str) -> None:
        """Install mode falls back to SCBK-D once; otherwise the reader is reported."""
        mode = reader.config.secure_channel
        if mode == "install" and not reader.use_default_key:
            reader.use_default_key = True
            reader.phase = "chlng"
            return
        self._rotation_failed(reader, reason)
        self._sc_failed(reader, reason, cause)

    def _handshake_unanswered(self, reader: Reader) -> bool:
        """A CHLNG or SCRYPT without any answer: after HANDSHAKE_TRIES of them the
        handshake has failed (True: the bus has dealt with the silence)."""
        if reader.phase not in ("chlng", "scrypt"):
            return False
        reader.unanswered += 1
        if reader.unanswered < HANDSHAKE_TRIES:
            return False
        reader.unanswered, reader.inflight = 0, None
        self._handshake_failed(reader, NO_SECURE_ANSWER, "no_secure_answer")
        return True

    def _sc_failed(self, reader: Reader, reason: str, cause: str) -> None:
        """Report that a required secure channel can't be had and stop polling."""
        # A new cause (a key entered, and now no answer) is reported as well.
        already = reader.sc == "failed" and reader.sc_cause == cause
        reader.sc, reader.phase, reader.session = "failed", "sc_failed", None
        reader.sc_cause = cause
        reader.next_try = time.monotonic() + SC_RETRY
        if reader.online:
            reader.online = False
            self._fail_pending(reader, "secure channel failed")
            self._emit(reader, "offline", {"reason": "sc_failed"})
        if not already:
            # Retries every SC_RETRY seconds; report the failure once, not each time.
            log.warning("osdp reader %d: secure channel failed: %s", reader.address, reason)
            self._emit(reader, "sc_failed", {"reason": reason, "cause": cause})

    def _sc_lost(self, reader: Reader, reason: str) -> None:
        """A reply failed its MAC: drop the session and re-establish it from SQN 0;
        MAC_ERRORS of them in MAC_WINDOW fail a required secure channel."""
        now = time.monotonic()
        reader.mac_errors = [t for t in reader.mac_errors if now - t < MAC_WINDOW] + [now]
        if len(reader.mac_errors) >= MAC_ERRORS and reader.config.secure_channel == "required":
            reader.mac_errors.clear()
            why = f"{MAC_ERRORS} replies failed their MAC check within {MAC_WINDOW:.0f} s"
            self._sc_failed(reader, f"{why} ({reason})", "mac")
            return
        log.warning("osdp reader %d: %s", reader.address, reason)
        self._emit(reader, "sc_down", {"reason": reason})
        reader.sc = "down"
        reader.restart()
