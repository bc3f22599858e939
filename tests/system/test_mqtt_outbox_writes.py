"""The MQTT outbox on disk, without a broker: what a failed write leaves queued."""

from __future__ import annotations

import sqlite3

import gevent

from doorctl.core.store import Store
from doorctl.core.system.mqtt.outbox import Outbox


def test_publications_of_a_failed_write_stay_queued_for_the_next(tmp_path, monkeypatch):
    monkeypatch.setattr("doorctl.core.diskwriter.RETRY_DELAY", 0.05)
    outbox = Outbox(Store(tmp_path))
    outbox.start()
    other = sqlite3.connect(outbox.store.path, isolation_level=None)
    # a disk that refuses the write, as a full SD card does
    other.execute(
        "CREATE TRIGGER full BEFORE INSERT ON mqtt_outbox BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    outbox.add("dc/event/Device/Trigger/Counter", b"{}", 1, False)
    gevent.sleep(0.2)
    other.execute("DROP TRIGGER full")
    outbox.stop()
    assert [row.topic for row in outbox.rows(0, 10)] == ["dc/event/Device/Trigger/Counter"]
