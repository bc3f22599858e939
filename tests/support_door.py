"""A served appliance whose door is commanded, killed and restarted, as at a power cut.

The door's cardholder has one card that a rule lets through door 1 at any time, so
whatever refuses that card after a restart is the door's mode.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
from pathlib import Path

from support import ROOT_PASSWORD, start_served

CARD = {"format": "H10301", "facility": 12, "card": 345}
DENIED_BY_MODE = {"locked_down": "door_locked_down", "blocked": "door_blocked"}
# A granted card unlocks for the access time; short, so that the next command finds
# the door back in its held mode most of the time (the model does not depend on it).
ACCESS_TIME = 0.5


class ServedDoor:
    """`doorctl serve` in a child process with root, a card, and door 1."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.served = start_served(data_dir)
        password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        self.served.call("POST", "/api/v1/setup", password, None)
        self.call("PUT", "/api/v1/doors/1/settings", {"access_time": ACCESS_TIME})
        holder = self.call("POST", "/api/v1/cardholders", {"name": "Ann"})
        card = {"format": CARD["format"], "facility": CARD["facility"], "number": CARD["card"]}
        self.call("POST", "/api/v1/credentials", {"cardholder_id": holder["id"], "card": card})
        rule = {"name": "Ann at door 1", "cardholder_ids": [holder["id"]], "door_id": 1}
        self.call("POST", "/api/v1/access-rules", rule)

    def call(self, method: str, path: str, body=None):
        """A REST call as root; the JSON answer (an HTTPError for 4xx/5xx)."""
        return self.served.call(method, path, body)

    def command(self, action: str) -> tuple[int, dict]:
        """A door action over the REST API: (status, answer)."""
        try:
            return 200, self.call("POST", f"/api/v1/doors/1/{action}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def door(self) -> dict:
        """Door 1 as /api/v1/doors/1 shows it."""
        return self.call("GET", "/api/v1/doors/1")

    def kill(self) -> None:
        """SIGKILL: nothing is flushed or closed, as when the Pi loses power."""
        self.served.stop(signal.SIGKILL)

    def restart(self) -> None:
        """Kill the appliance (if running) and start it again on the same data."""
        if self.served.process.poll() is None:
            self.kill()
        self.served = start_served(self.data_dir)

    def present_card(self) -> str:
        """Present the card at the Wiegand reader; the decision's reason from the log."""
        last = self.newest("tns1:AccessControl/")
        self.call("POST", "/api/v1/sim/wiegand", CARD)
        return self.wait_for_newer("tns1:AccessControl/", last)["data"]["reason"]

    def newest(self, topic: str) -> dict | None:
        """The newest logged event under `topic`."""
        found = self.call("GET", f"/api/v1/events?topic={topic}&limit=1")["events"]
        return found[0] if found else None

    def wait_for_newer(self, topic: str, than: dict | None, timeout: float = 10) -> dict:
        """The first event under `topic` newer than `than`, once the log has written it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.newest(topic)
            if event is not None and (than is None or event["id"] > than["id"]):
                return event
            time.sleep(0.02)
        raise AssertionError(f"no new {topic} event in the log")

    def close(self) -> None:
        """Stop the appliance (SIGTERM), killing it if it does not stop."""
        try:
            self.served.stop()
        finally:
            if self.served.process.poll() is None:
                self.served.process.kill()
                self.served.process.communicate()


def relay_locks(door: dict) -> bool:
    """Whether the relay level holds the lock locked for its lock type."""
    energised = door["relay"]
    return not energised if door["lock_type"] == "fail_secure" else energised
