"""Cardholder CSV files that are big, badly made or hostile: a clear answer, bounded memory.

The import reads the encoding chosen (or named by a byte order mark), reports the first
100 bad rows with the count of all, never shows an operator a traceback, and an export
cell that a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys

import gevent
import pytest
from support import csrf_token

from doorctl.core.access_control.cardholder_csv import neutralised, restored
from doorctl.core.access_control.cardholder_import import IMPORTED, run_in_child
from doorctl.core.access_control.credentials import PIN_RULE
from doorctl.core.events import Event
from doorctl.core.store import DB_NAME


def import_csv(api, data: bytes, encoding: str | None = None):
    """POST a CSV file's bytes to the import, with the encoding chosen (if any)."""
    query = {"encoding": encoding} if encoding else {}
    return api.client.post(
        "/api/v1/cardholders/import",
        data=data,
        content_type="text/csv",
        headers=api.headers,
        query_string=query,
    )


def cardholder_names(api) -> list[str]:
    return [h["name"] for h in api.get("/api/v1/cardholders").json["cardholders"]]


def test_an_import_of_many_bad_rows_reports_the_first_100_and_the_count(admin_api):
    response = import_csv(admin_api, b"name,pin\n" + b"a,1\n" * 250_000)
    assert response.status_code == 400
    assert response.json["error_count"] == 250_000
    assert len(response.json["errors"]) == 100
    assert response.json["errors"][0] == {"line": 2, "errors": {"pin": PIN_RULE}}
    assert "250000 bad rows" in response.json["error"]
    assert cardholder_names(admin_api) == []


def test_a_cell_over_the_csv_limit_is_a_bad_row(admin_api):
    data = b"name,notes\nAnn,ok\nBo," + b"x" * 5000 + b"\nCy,ok\n" + b"Di," + b"y" * 200_000
    response = import_csv(admin_api, data)
    assert response.status_code == 400
    assert [e["line"] for e in response.json["errors"]] == [3, 5]
    assert "A cell is over 4096 characters" in response.json["errors"][0]["errors"]["row"]
    assert "The line is over 65536 characters" in response.json["errors"][1]["errors"]["row"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert cardholder_names(admin_api) == []


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("windows-1252", "name\nRen\u00e9e \u2013 \u20ac\n".encode("cp1252")),
        ("iso-8859-1", "name\nRen\u00e9e\n".encode("latin-1")),
        ("utf-8", "name\nRen\u00e9e\n".encode()),
        ("windows-1252", b"\xef\xbb\xbf" + "name\nRen\u00e9e\n".encode()),
        (None, "name\nRen\u00e9e\n".encode("utf-16")),
    ],
)
def test_an_import_reads_the_encoding_chosen_or_named_by_a_bom(admin_api, encoding, data):
    response = import_csv(admin_api, data, encoding)
    assert response.status_code == 200, response.json
    assert cardholder_names(admin_api)[0].startswith("Ren\u00e9e")


@pytest.mark.parametrize(("encoding", "label"), [(None, "UTF-8"), ("windows-1252", "Windows-1252")])
def test_a_file_not_in_the_encoding_chosen_is_refused_naming_it(admin_api, encoding, label):
    data = "name\nAnn\nRen\u00e9e\n".encode("latin-1") + b"\x81\x8d\n"
    response = import_csv(admin_api, data, encoding)
    assert response.status_code == 400
    assert f"not {label} text" in response.json["errors"][0]["errors"]["encoding"]
    assert cardholder_names(admin_api) == []


def test_an_encoding_that_is_not_offered_is_refused(admin_api):
    response = import_csv(admin_api, b"name\nAnn\n", "ebcdic-cp-be")
    assert response.status_code == 400
    assert "UTF-8, Windows-1252, ISO-8859-1" in response.json["fields"]["encoding"]


def test_the_import_page_offers_the_encodings_and_reads_the_one_chosen(logged_in, admin_api):
    assert "Windows-1252" in logged_in.get("/access/cardholders").get_data(as_text=True)
    token = csrf_token(logged_in, "/access/cardholders")
    upload = (io.BytesIO("name\nJos\u00e9\n".encode("cp1252")), "people.csv")
    form = {"file": upload, "encoding": "windows-1252", "csrf_token": token}
    assert logged_in.post("/access/cardholders/import", data=form).status_code == 303
    assert cardholder_names(admin_api) == ["Jos\u00e9"]


def test_a_failed_import_child_tells_no_traceback_path_or_version(tmp_path, caplog):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    source = io.BytesIO(b"name\nAnn\n")
    result = run_in_child(not_a_directory, source, "utf-8", Event(1, 0.0, IMPORTED)).to_dict()
    text = json.dumps(result)
    assert result["errors"][0]["errors"]["import"].startswith("The import stopped unexpectedly")
    for secret in ("Traceback", str(tmp_path), "/", "Python", sys.version.split()[0]):
        assert secret not in text
    assert "Traceback" in caplog.text


@pytest.mark.parametrize(
    "name", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", '=HYPERLINK("x")', "'=already", "'plain", "Ann"]
)
def test_export_neutralises_formulas_and_import_undoes_it(admin_api, name):
    admin_api.post("/api/v1/cardholders", {"name": "x", "notes": name})
    exported = admin_api.get("/api/v1/cardholders/export").get_data()
    cell = next(csv.DictReader(io.StringIO(exported.decode())))["notes"]
    assert cell == (name if name in ("'plain", "Ann") else "'" + name)
    admin_api.delete("/api/v1/cardholders/1")
    assert import_csv(admin_api, exported).status_code == 200
    holder = admin_api.get("/api/v1/cardholders").json["cardholders"][0]
    assert holder["notes"] == name


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised_and_restored(start):
    cell = start + "1"
    assert neutralised(cell) == "'" + cell
    assert restored(neutralised(cell)) == cell
    assert restored(neutralised("'" + cell)) == "'" + cell


def test_a_multipart_import_names_its_encoding_and_leaves_no_file_behind(admin_api, data_dir):
    before = sorted(p.name for p in data_dir.iterdir())
    upload = (io.BytesIO("name\nJos\u00e9\n".encode("latin-1")), "people.csv")
    response = admin_api.client.post(
        "/api/v1/cardholders/import",
        data={"file": upload, "encoding": "iso-8859-1"},
        headers=admin_api.headers,
    )
    assert response.status_code == 200, response.json
    assert cardholder_names(admin_api) == ["Jos\u00e9"]
    assert sorted(p.name for p in data_dir.iterdir()) == before


def test_a_long_line_inside_a_quoted_cell_makes_its_row_bad(admin_api):
    data = b'name,notes\nAnn,"first\n' + b"x" * 70_000 + b'\nlast"\nBo,ok\n'
    response = import_csv(admin_api, data)
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"line": 4, "errors": {"row": "The line is over 65536 characters."}}
    ]
    assert cardholder_names(admin_api) == []


def test_a_record_over_100_lines_is_closed_and_its_row_is_bad(admin_api):
    data = b"name,notes\nAnn," + b'"a\n",' * 100_000 + b"\nBo,ok\n"
    response = import_csv(admin_api, data)
    assert response.status_code == 400
    first = response.json["errors"][0]
    assert first == {
        "line": 102,
        "errors": {"row": "The row runs over 100 lines (a quote left open?)."},
    }
    assert cardholder_names(admin_api) == []


GOOD = (
    b"ref,name,card_format,card_number,card_bits,pin\n"
    b"a,Ann,raw,12,32,123456\na,Ann,,,,\nb,Bo,raw,13,32,\n"
)


def logged(api, topic: str = "") -> list[dict]:
    """The event log, newest first, as the API lists it."""
    return api.get("/api/v1/events", query_string={"topic": topic, "limit": 1000}).json["events"]


def test_an_import_commits_with_its_audit_event(admin_api, data_dir, doorctl):
    heard: list = []
    doorctl.bus.subscribe(heard.append, IMPORTED)
    admin_api.post("/api/v1/cardholders", {"name": "Before"})
    assert import_csv(admin_api, GOOD).status_code == 200
    with sqlite3.connect(data_dir / DB_NAME) as db:  # on disk when the import answers
        assert db.execute("SELECT count(*) FROM cardholders").fetchone()[0] == 3
        assert db.execute(
            "SELECT count(*) FROM events WHERE topic = ?", (IMPORTED,)
        ).fetchone() == (1,)
    admin_api.post("/api/v1/cardholders", {"name": "After"})
    events = logged(admin_api)
    imported = [e for e in events if e["topic"] == IMPORTED]
    actor = {"user": "root", "address": "127.0.0.1", "via": "api"}  # the Audit log's who
    assert [e["data"] for e in imported] == [{"cardholders": 2, "credentials": 2, "actor": actor}]
    assert "123456" not in json.dumps(imported) and "pin" not in json.dumps(imported)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))
    assert events[0]["data"]["action"] == "create" and events[0]["id"] > imported[0]["id"]
    assert [(e.id, e.data) for e in heard] == [(imported[0]["id"], imported[0]["data"])]


def test_a_failed_import_logs_no_event_and_imports_nothing(admin_api, doorctl):
    heard: list = []
    doorctl.bus.subscribe(heard.append, IMPORTED)
    assert import_csv(admin_api, b"name,pin\nAnn,1\n").status_code == 400
    assert logged(admin_api, IMPORTED) == [] and heard == []
    assert cardholder_names(admin_api) == []


def test_an_imported_event_counts_towards_the_log_retention(admin_api, doorctl):
    doorctl.settings.update("event_log", {"retention": 1000})
    for number in range(1000):
        doorctl.bus.publish("tns1:Test/Filler", data={"n": number})
    doorctl.event_log.flush()
    assert import_csv(admin_api, GOOD).status_code == 200
    doorctl.bus.publish("tns1:Test/Filler", data={"n": "last"})
    doorctl.event_log.flush()
    assert doorctl.store.execute("SELECT count(*) FROM events").fetchone()[0] == 1000


def test_the_export_lets_a_due_timer_run_between_pieces(admin_api, doorctl):
    """A reader poll that falls due while a long export is sent runs before the next
    piece is made, not after the whole file."""
    conn = doorctl.store.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO cardholders (name) VALUES (?)", ((f"P {n}",) for n in range(5000))
    )
    conn.execute("COMMIT")
    answer = admin_api.client.get(
        "/api/v1/cardholders/export", headers=admin_api.headers, buffered=False
    )
    pieces, order = iter(answer.response), []
    next(pieces)  # the header line
    gevent.spawn_later(0, order.append, "timer")  # due at once, as a late reader poll is
    for _ in pieces:
        order.append("piece")
    answer.close()
    assert order.count("piece") >= 3
    assert order.index("timer") == 0
