"""The audit trail: an acknowledged configuration change is never on disk without its event."""

import http.client
import json
import signal
import sqlite3
import threading
import time

import gevent
from support import ROOT_PASSWORD, start_served

from doorctl.core.store import DB_NAME

KILLS = 3
WRITERS = 4
CREATED = "tns1:Configuration/Cardholder/Changed"
GONE = (OSError, http.client.HTTPException, ValueError)  # killed mid-answer


def write_cardholders(server, acknowledged: list[int], stop: threading.Event) -> None:
    """Create cardholders until the appliance dies; keep the id of each 201 received."""
    while not stop.is_set():
        try:
            holder = server.call("POST", "/api/v1/cardholders", {"name": "Kill test"})
        except GONE:
            return
        acknowledged.append(holder["id"])


def kill_during_writes(server) -> list[int]:
    """SIGKILL the appliance while REST clients create cardholders; what was acknowledged."""
    acknowledged: list[int] = []
    stop = threading.Event()
    writers = [
        threading.Thread(target=write_cardholders, args=(server, acknowledged, stop))
        for _ in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    while len(acknowledged) < 20 and any(w.is_alive() for w in writers):
        time.sleep(0.01)
    server.process.send_signal(signal.SIGKILL)
    server.process.communicate(timeout=10)
    stop.set()
    for writer in writers:
        writer.join(timeout=15)
    return list(acknowledged)


def stored(data_dir) -> tuple[set[int], set[int]]:
    """The cardholder ids on disk, and the ids that have a create event on disk."""
    conn = sqlite3.connect(data_dir / DB_NAME)
    try:
        holders = {r[0] for r in conn.execute("SELECT id FROM cardholders")}
        rows = conn.execute("SELECT data FROM events WHERE topic = ?", (CREATED,))
        created = {json.loads(r[0])["id"] for r in rows if json.loads(r[0])["action"] == "create"}
        return holders, created
    finally:
        conn.close()


def test_every_acknowledged_cardholder_survives_sigkill_with_its_create_event(tmp_path):
    data_dir = tmp_path / "served"
    server = start_served(data_dir)
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", body, auth=None)
    acknowledged: list[int] = []
    for _ in range(KILLS):
        acknowledged += kill_during_writes(server)
        holders, created = stored(data_dir)
        assert set(acknowledged) <= holders, "acknowledged cardholders lost"
        assert set(acknowledged) - created == set(), "acknowledged without a create event"
        server = start_served(data_dir)
    server.stop()


def test_events_of_changes_and_of_the_door_share_one_sequence_of_ids(doorctl):
    delivered = []
    doorctl.bus.subscribe(lambda event: delivered.append(event.id))

    def door_events():
        for n in range(200):
            doorctl.bus.publish("tns1:Device/Trigger/DigitalInput", {"port": "rex"}, {"n": n})
            gevent.sleep(0)

    creating = [
        gevent.spawn(doorctl.access.cardholders.create, {"name": f"H{n}"}) for n in range(20)
    ]
    gevent.joinall([gevent.spawn(door_events), *creating], raise_error=True)
    doorctl.event_log.flush()
    logged = [row["id"] for row in doorctl.event_log.select("SELECT id FROM events ORDER BY id")]
    assert len(delivered) == len(set(delivered)) == 220
    assert set(delivered) <= set(logged)
    assert len(logged) == len(set(logged))
