"""A backup is made off the hub: its tables are read on the store's reading thread, not
the hub's connection; a backup of many cardholders restores whole. How late a reader
poll loop's ticker runs during that restore is measured by tests/bench/bench_backup.py."""

from __future__ import annotations

from support_backup import make_backup, restore

CARDHOLDERS = 4000
NOTES = "n" * 10_000  # ~40 MB of JSON to decrypt, inflate, parse, migrate and seal


def many_cardholders(doorctl) -> None:
    rows = ((f"Cardholder {i}", NOTES) for i in range(CARDHOLDERS))
    doorctl.store.conn.execute("BEGIN")
    doorctl.store.conn.executemany("INSERT INTO cardholders (name, notes) VALUES (?, ?)", rows)
    doorctl.store.conn.execute("COMMIT")


def test_a_backup_reads_its_tables_off_the_hub(low_cost, admin_api, doorctl):
    on_hub = []
    doorctl.store.conn.set_trace_callback(on_hub.append)
    try:
        make_backup(admin_api)
    finally:
        doorctl.store.conn.set_trace_callback(None)
    assert not [sql for sql in on_hub if "cardholders" in sql or "settings" in sql]


def test_a_large_backup_restores_whole(low_cost, admin_api, doorctl):
    many_cardholders(doorctl)
    answer = restore(admin_api, make_backup(admin_api))
    assert answer.status_code == 200, answer.json
    assert answer.json["counts"]["cardholders"] == CARDHOLDERS
