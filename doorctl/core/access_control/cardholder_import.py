"""Cardholder import: a CSV file streamed into the store by a child process.

Every row is checked first; nothing is written unless all are good, and then all of
them in one transaction. The child has its own SQLite connection: on a thread,
checking 100,000 rows holds the GIL long enough to stall the hub for ~100 ms at a
time, which a reader's PIN timing must not see. Rows are read one at a time and what
they hold waits in SQLite temporary tables, in a file in the data directory (not in
RAM, nor in a /tmp that may be RAM) that SQLite removes even if the child dies. So
neither process grows with the file (8 million bad rows once took 5 GB, because every
row's error was kept): the first 100 errors are reported, with the count of all.

The rows commit with their audit event, `tns1:Configuration/Cardholder/Imported`, in
one transaction like every other change; the parent numbers the event on the bus
before the child starts (so its id is never another event's) and publishes it once
the rows are in. A failed import leaves a gap in the event ids, nothing else.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import logging
import os
import sqlite3
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from doorctl.core.access_control.cardholder_csv import COLUMNS, credential_of, holder_of, restored
from doorctl.core.access_control.credentials import PinHasher
from doorctl.core.access_control.pin_key import pin_secret
from doorctl.core.errors import Invalid
from doorctl.core.events import Event
from doorctl.core.secrets import Sealer
from doorctl.core.store import DB_NAME, INSERT_EVENT, Store, connect, event_row, secret_key
from doorctl.core.waiting import off_hub

if TYPE_CHECKING:  # the child needs no event log
    from doorctl.core.eventlog import EventLog

log = logging.getLogger(__name__)
ENCODINGS = {"utf-8": "UTF-8", "windows-1252": "Windows-1252", "iso-8859-1": "ISO-8859-1"}
CODECS = {"utf-8": "utf-8", "cp1252": "windows-1252", "iso8859-1": "iso-8859-1"}
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
LABELS = {**ENCODINGS, "utf-8-sig": "UTF-8", "utf-16": "UTF-16"}
MAX_REPORTED = 100
FIELD_LIMIT = 4096  # the longest cell the file may hold: notes of 1,000 characters fit
LINE_LIMIT = 65536
RECORD_LINES = 100
CHUNK = 64 * 1024
CHILD_NICENESS = 10  # the door, the readers and the web come first; the import waits
IMPORTED = "tns1:Configuration/Cardholder/Imported"
FAILED = "The import stopped unexpectedly; nothing was imported. The system log has details."
TEMPORARY_TABLES = """
CREATE TABLE temp.holders (
    seq INTEGER PRIMARY KEY, ref TEXT UNIQUE, name TEXT, enabled INTEGER,
    valid_from TEXT, valid_until TEXT, long_access INTEGER, notes TEXT);
CREATE TABLE temp.creds (
    line INTEGER PRIMARY KEY, holder INTEGER, enabled INTEGER,
    card TEXT UNIQUE, pin_hash TEXT, pin_only TEXT UNIQUE);
"""
AGAINST_STORE = """
SELECT c.line, 'card' FROM temp.creds c JOIN main.credentials m ON m.card = c.card
UNION ALL
SELECT c.line, 'pin' FROM temp.creds c
JOIN main.credentials m ON m.card IS NULL AND m.pin_hash = c.pin_only
ORDER BY 1
"""


@dataclass
class ImportResult:
    """What an import did, or why it did nothing: the first bad rows and how many."""

    cardholders: int = 0
    credentials: int = 0
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0

    def add(self, line: int, problems: dict[str, str]) -> None:
        """Count a bad row; keep it when it is among the first MAX_REPORTED."""
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append({"line": line, "errors": problems})

    def to_dict(self) -> dict:
        """The REST answer."""
        return asdict(self)

    def counts(self) -> dict:
        """What the audit event tells of an import: how many, never what (no PINs)."""
        return {"cardholders": self.cardholders, "credentials": self.credentials}


def encoding_named(name: str | None) -> str:
    """The encoding the user chose for a file (UTF-8 when none); raise Invalid."""
    try:
        chosen = CODECS.get(codecs.lookup(name or "utf-8").name)
    except (LookupError, ValueError, TypeError):
        chosen = None
    if chosen is None:
        raise Invalid({"encoding": f"Choose one of: {', '.join(ENCODINGS.values())}."})
    return chosen


class Lines:
    """A text stream's lines for csv: each within LINE_LIMIT, a record within RECORD_LINES.

    A longer line is skipped, and a quoted cell running over more lines is closed, so
    that one record never holds more than a few MiB; `problem` says what was done to
    the record being read, which is then a bad row.
    """

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.count = self.in_record = 0
        self.problem: str | None = None

    def __iter__(self):
        while line := self.stream.readline(LINE_LIMIT):
            self.count += 1
            self.in_record += 1
            if len(line) == LINE_LIMIT and not line.endswith(("\n", "\r")):
                self._skip_rest()
                self.problem, line = f"The line is over {LINE_LIMIT} characters.", "\n"
            if self.in_record > RECORD_LINES:
                self.problem, line = (
                    f"The row runs over {RECORD_LINES} lines (a quote left open?).",
                    '"\n',
                )
            yield line

    def _skip_rest(self) -> None:
        while (more := self.stream.readline(LINE_LIMIT)) and not more.endswith(("\n", "\r")):
            pass


def records(lines: Lines, result: ImportResult):
    """(line, cells) of each record that is not blank; one csv can't read is a bad row."""
    reader = csv.reader(lines)
    while True:
        lines.in_record, lines.problem = 0, None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            result.add(reader.line_num, {"row": f"A cell is over {FIELD_LIMIT} characters."})
            continue
        if lines.problem:
            result.add(reader.line_num, {"row": lines.problem})
        elif cells:
            yield reader.line_num, cells


def header_errors(header: list[str]) -> dict[str, str]:
    """Why the first record does not name the columns, else {}."""
    if "name" in header and set(header) <= set(COLUMNS):
        return {}
    return {"header": f"The first line must name the columns: {', '.join(COLUMNS)}"}


class Importer:
    """Checks and imports one CSV text stream into a data directory (in the child)."""

    def __init__(self, data_dir: Path, pins: PinHasher, event: Event):
        self.data_dir = data_dir
        self.pins = pins
        self.event = event

    def run(self, stream: TextIO) -> ImportResult:
        """Check every row; write all of them, or nothing and the errors."""
        conn = connect(self.data_dir / DB_NAME)
        try:
            conn.execute("PRAGMA temp_store = FILE")
            conn.executescript(TEMPORARY_TABLES)
            result = self._check(conn, stream)
            if not result.error_count:
                self._against_store(conn, result)
            return result if result.error_count else self._write(conn)
        finally:
            conn.close()

    def _check(self, conn: sqlite3.Connection, stream: TextIO) -> ImportResult:
        """Read the rows one at a time, keep the good ones, count and report the bad ones."""
        result, lines = ImportResult(), Lines(stream)
        conn.execute("BEGIN")
        try:
            found = records(lines, result)
            header = [cell.strip() for cell in next(found, (1, []))[1]]
            if header_errors(header):
                result.add(1, header_errors(header))
                return result
            for line, cells in found:
                problems = self._row(conn, header, cells, line)
                if problems:
                    result.add(line, problems)
        except UnicodeDecodeError:
            label = LABELS.get(stream.encoding, stream.encoding)
            message = f"The file is not {label} text; choose the encoding it was saved in."
            result.add(lines.count, {"encoding": message})
        finally:
            conn.execute("COMMIT")
        return result

    def _row(self, conn: sqlite3.Connection, header: list[str], cells: list[str], line: int):
        """Check one row and keep it in the temporary tables; its problems by field, or {}."""
        if len(cells) > len(header):
            return {"row": "The row has more fields than the header."}
        row = {name: restored(cell) for name, cell in zip(header, cells, strict=False)}
        problems: dict[str, str] = {}
        ref = (row.get("ref") or "").strip() or None
        holder = self._holder(conn, ref)
        record = holder_of(row, problems) if holder is None else None
        credential = credential_of(row, self.pins, problems)
        if problems:
            return problems
        if holder is None:
            holder = conn.execute(
                "INSERT INTO temp.holders (ref, name, enabled, valid_from, valid_until,"
                " long_access, notes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ref, *(record[k] for k in COLUMNS[1:7])),
            ).lastrowid
        return self._credential(conn, holder, credential, line) if credential else {}

    def _holder(self, conn: sqlite3.Connection, ref: str | None) -> int | None:
        if ref is None:
            return None
        found = conn.execute("SELECT seq FROM temp.holders WHERE ref = ?", (ref,)).fetchone()
        return found[0] if found else None

    def _credential(self, conn: sqlite3.Connection, holder: int, credential: dict, line: int):
        """Keep a row's credential; a card or PIN-only PIN on an earlier line is refused."""
        card, pin_hash = credential["card"], credential["pin_hash"]
        pin_only = None if card else pin_hash
        try:
            conn.execute(
                "INSERT INTO temp.creds VALUES (?, ?, ?, ?, ?, ?)",
                (line, holder, credential["enabled"], card, pin_hash, pin_only),
            )
        except sqlite3.IntegrityError:
            what, column = ("card", "card") if card else ("pin", "pin_only")
            sql = f"SELECT line FROM temp.creds WHERE {column} = ?"
            first = conn.execute(sql, (card or pin_only,)).fetchone()[0]
            return {what: f"The same {what} is on line {first} already."}
        return {}

    def _against_store(self, conn: sqlite3.Connection, result: ImportResult) -> None:
        """Rows whose card or PIN-only PIN someone in the store has already."""
        for line, what in conn.execute(AGAINST_STORE):
            result.add(line, {what: f"This {what} belongs to a cardholder on the device already."})

    def _write(self, conn: sqlite3.Connection) -> ImportResult:
        """All cardholders and credentials in one transaction."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            first = conn.execute("SELECT coalesce(max(id), 0) FROM main.cardholders").fetchone()[0]
            holders = conn.execute(
                "INSERT INTO main.cardholders (id, name, enabled, valid_from, valid_until,"
                " long_access, notes) SELECT seq + ?, name, enabled, valid_from, valid_until,"
                " long_access, notes FROM temp.holders ORDER BY seq",
                (first,),
            ).rowcount
            credentials = conn.execute(
                "INSERT INTO main.credentials (cardholder_id, enabled, card, pin_hash)"
                " SELECT holder + ?, enabled, card, pin_hash FROM temp.creds ORDER BY line",
                (first,),
            ).rowcount
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            result = ImportResult()
            message = "Another change conflicted while importing; nothing was imported."
            result.add(0, {"import": message})
            return result
        result = ImportResult(holders, credentials)
        data = {**self.event.data, **result.counts()}  # with who imported
        conn.execute(INSERT_EVENT, event_row(replace(self.event, data=data)))
        conn.execute("COMMIT")
        return result


def decoded(raw: io.BufferedReader, encoding: str) -> TextIO:
    """The file as text: a byte order mark names its encoding, else the user's choice."""
    head = raw.peek(3)[:3]
    for bom, codec in BOMS:
        if head.startswith(bom):
            encoding = codec
            break
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")


def import_csv(event_log: EventLog, data_dir: Path, source: BinaryIO, encoding: str):
    """Import with its audit event, numbered on the bus first so that no other event has its id."""
    event = event_log.bus.new(IMPORTED)
    result = run_in_child(data_dir, source, encoding, event)
    if not result.error_count:
        event_log.logged_elsewhere(replace(event, data={**event.data, **result.counts()}))
    return result


def run_in_child(data_dir: Path, source: BinaryIO, encoding: str, event: Event) -> ImportResult:
    """Import in a child process (gevent's subprocess: the hub keeps running meanwhile)."""
    import gevent
    from gevent import subprocess

    root = str(Path(__file__).resolve().parents[3])  # the child imports this same doorctl
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen(
        [sys.executable, "-m", __name__, str(data_dir), encoding, str(event.id), repr(event.time)]
        + [json.dumps(event.data.get("actor"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path, "SQLITE_TMPDIR": str(data_dir)},
    )
    try:
        with off_hub():  # the child does the work: other requests go on meanwhile
            out, err = gevent.spawn(child.stdout.read), gevent.spawn(child.stderr.read)
            _feed(child.stdin, source)
            child.wait()
            out, err = out.get(), err.get()
        return _answer(child.returncode, out, err)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _feed(pipe, source: BinaryIO) -> None:
    """Copy the upload to the child a chunk at a time, never the whole file at once."""
    with contextlib.suppress(BrokenPipeError):  # the child stopped early: its answer says why
        try:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                pipe.write(chunk)
        finally:
            pipe.close()


def _answer(code: int, out: bytes, err: bytes) -> ImportResult:
    """The child's result; a failure goes to the system log, never to the operator."""
    if code == 0:
        with contextlib.suppress(ValueError, TypeError):
            return ImportResult(**json.loads(out))
    log.error("cardholder import ended with %s: %s", code, err.decode(errors="replace")[-2000:])
    result = ImportResult()
    result.add(0, {"import": FAILED})
    return result


def _pin_secret(data_dir: Path) -> bytes:
    """The key of this unit's PIN hashes (a restored backup may have brought its own)."""
    store, device_secret = Store(data_dir), secret_key(data_dir)
    try:
        return pin_secret(store, Sealer(device_secret), device_secret)
    finally:
        store.close()


def main(argv: list[str]) -> int:
    """The child: import the CSV on stdin into the data directory; the result as JSON."""
    data_dir, encoding = Path(argv[0]), argv[1]
    actor = json.loads(argv[4]) if len(argv) > 4 else None
    event = Event(int(argv[2]), float(argv[3]), IMPORTED, data={"actor": actor} if actor else {})
    os.nice(CHILD_NICENESS)
    csv.field_size_limit(FIELD_LIMIT)
    importer = Importer(data_dir, PinHasher(_pin_secret(data_dir)), event)
    result = importer.run(decoded(sys.stdin.buffer, encoding))
    json.dump(result.to_dict(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
