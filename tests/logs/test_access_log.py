"""The access log: filters, paging, and the live rows stream."""

from __future__ import annotations

import gevent

from doorctl.core.access_control.credentials import card_key
from doorctl.core.store import connect


def grant_and_deny(doorctl):
    access = doorctl.access
    holder = access.cardholders.create({"name": "Ann"})
    card = {"format": "H10301", "facility": 1, "number": 1}
    access.credentials.create({"cardholder_id": holder["id"], "card": card})
    access.rules.create({"cardholder_ids": [holder["id"]]})
    for number in (1, 2, 1):
        access.present_card("wiegand", card_key("H10301", 1, number))
    doorctl.event_log.flush()
    return holder


def test_access_log_api_filters_and_pages(doorctl, viewer_api):
    holder = grant_and_deny(doorctl)
    everything = viewer_api.get("/api/v1/access-log").json["events"]
    assert [e["data"]["reason"] for e in everything] == ["granted", "unknown_credential", "granted"]
    denied = viewer_api.get("/api/v1/access-log?result=denied").json["events"]
    assert [e["data"]["card"]["number"] for e in denied] == [2]
    mine = viewer_api.get(f"/api/v1/access-log?cardholder_id={holder['id']}&limit=1").json
    assert len(mine["events"]) == 1 and mine["next"]
    older = viewer_api.get(f"/api/v1/access-log?cardholder_id={holder['id']}&before={mine['next']}")
    assert len(older.json["events"]) == 1
    assert viewer_api.get("/api/v1/access-log?door_id=2").json["events"] == []
    assert "result" in viewer_api.get("/api/v1/access-log?result=maybe").json["fields"]


def test_access_log_page_lists_decisions(doorctl, logged_in):
    grant_and_deny(doorctl)
    page = logged_in.get("/logs/access?result=granted").get_data(as_text=True)
    assert page.count('class="granted"') == 2 and 'class="denied"' not in page
    assert "Ann" in page


def test_live_rows_stream_sends_new_decisions(doorctl, logged_in):
    response = logged_in.get("/logs/access/stream?result=granted")
    chunks = (c.decode() if isinstance(c, bytes) else c for c in response.response)
    assert "retry" in next(chunks)
    gevent.spawn_later(0.05, grant_and_deny, doorctl)
    row = next(c for c in chunks if c)
    assert "event: row" in row and "Granted" in row and "Ann" in row
    response.close()


def test_access_log_filters_find_their_events_by_index(doorctl, viewer_api, monkeypatch):
    """A filter by cardholder or door walks an index, not every event's JSON: on a long
    log a cardholder with no events would otherwise read the whole log."""
    import doorctl.core.diskwriter as diskwriter

    statements = []

    def traced(path):
        conn = connect(path)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(diskwriter, "connect", traced)
    doorctl.event_log.stop()  # the reading thread opens a traced connection when started
    doorctl.event_log.start()
    holder = grant_and_deny(doorctl)
    plans = {}
    for query in (f"cardholder_id={holder['id']}", "door_id=1", "cardholder_id=7&door_id=1"):
        statements.clear()
        assert viewer_api.get(f"/api/v1/access-log?{query}").status_code == 200
        select = next(s for s in statements if s.startswith("SELECT * FROM events"))
        plan = doorctl.store.execute("EXPLAIN QUERY PLAN " + select).fetchall()
        plans[query] = " ".join(row["detail"] for row in plan)
    assert "USING INDEX events_cardholder" in plans[f"cardholder_id={holder['id']}"]
    assert "USING INDEX events_door" in plans["door_id=1"]
    assert "USING INDEX events_cardholder" in plans["cardholder_id=7&door_id=1"]
