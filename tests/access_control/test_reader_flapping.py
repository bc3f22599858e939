"""A reader's secure channel flapping (MAC failures every few seconds) is told sparingly,
and a real recovery is still told."""

from __future__ import annotations

import gevent
import pytest

TOPIC = "tns1:Device/Reader/SecureChannel"


@pytest.mark.engine_in_process  # it plays the OSDP bus's reports into the readers service
def test_flapping_is_summarised_with_a_count_and_a_recovery_is_told(doorctl, admin_api, line):
    added = admin_api.post("/api/v1/readers", {"id": "front", "port": line.path, "address": 1})
    assert added.status_code == 201
    readers = doorctl.readers
    readers.flap_window, readers.steady = 1.0, 0.3
    seen = []
    doorctl.bus.subscribe(lambda e: seen.append(e.data), TOPIC)

    def bus_says(*kinds):  # what the OSDP bus reports, as it reports it
        for kind in kinds:
            readers._on_osdp("front", kind, {"reason": "bad reply MAC", "cause": "mac"})
            gevent.sleep(0.01)

    def told():
        return [(e["state"], e.get("changes")) for e in seen]

    bus_says("sc_up", "sc_down")
    assert told() == [("up", None), ("down", None)], "a change is told as it comes"
    bus_says("sc_up", "sc_down", "sc_failed", "sc_up", "sc_down")
    gevent.sleep(0.5)
    assert len(seen) == 2, "the flapping within the window is held back"
    gevent.sleep(0.7)
    assert told()[2:] == [("down", 5)], "then told once, with the count"
    bus_says("sc_up")
    assert told()[3:] == [("up", None)], "a recovery is told at once"
    bus_says("sc_down", "sc_up")
    gevent.sleep(0.45)
    assert told()[4:] == [("up", 2)], "an up that stays up is told before the window ends"
    gevent.sleep(1.5)
    assert len(seen) == 5
    bus_says("sc_down")
    assert told()[5:] == [("down", None)], "after a quiet window, at once again"
