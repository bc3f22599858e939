"""CSV import and export of cardholders with their credentials.

One row per credential; rows with the same `ref` belong to one cardholder (an empty
ref: a cardholder of its own). An import checks every row first and reports each bad
one by line number; it writes nothing unless all rows are good, and then writes them
all in one transaction. It runs in a child process with its own SQLite connection:
on a thread, checking 100,000 rows holds the GIL long enough to stall the hub for
~100 ms at a time, which a reader's PIN timing must not see.
PINs are never exported (only their keyed hashes are stored).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from doorctl.core.access_control.cardholders import validate as validate_cardholder
from doorctl.core.access_control.credentials import PinHasher, card_of, parse_card, parse_pin
from doorctl.core.errors import Invalid
from doorctl.core.store import DB_NAME, connect, secret_key

COLUMNS = (
    "ref",
    "name",
    "enabled",
    "valid_from",
    "valid_until",
    "long_access",
    "notes",
    "card_format",
    "card_facility",
    "card_number",
    "card_bits",
    "pin",
    "credential_enabled",
)
TRUE, FALSE = {"", "1", "true", "yes", "y"}, {"0", "false", "no", "n"}
BATCH = 500
MAX_REPORTED = 1000


@dataclass
class ImportResult:
    """What an import did, or why it did nothing."""

    cardholders: int = 0
    credentials: int = 0
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The REST answer."""
        return {
            "cardholders": self.cardholders,
            "credentials": self.credentials,
            "errors": self.errors[:MAX_REPORTED],
            "error_count": len(self.errors),
        }


def _flag(value: str, name: str, errors: dict) -> bool:
    text = (value or "").strip().lower()
    if text not in TRUE | FALSE:
        errors[name] = "Use true or false."
    return text in TRUE


def _number(value: str, name: str, errors: dict) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit():
        errors[name] = "Must be a whole number, 0 or more."
        return None
    return int(text)


def _holder(row: dict, errors: dict) -> dict | None:
    flags = {k: _flag(row.get(k), k, errors) for k in ("enabled", "long_access")}
    body = {
        "name": row.get("name") or "",
        "valid_from": row.get("valid_from") or None,
        "valid_until": row.get("valid_until") or None,
        "notes": row.get("notes") or "",
        **flags,
    }
    try:
        return validate_cardholder(body)
    except Invalid as error:
        errors.update(error.fields)
        return None


def _credential(row: dict, pins: PinHasher, errors: dict) -> dict | None:
    """The credential row of a CSV row, or None when the row has no card and no PIN."""
    card = None
    if (row.get("card_format") or "").strip():
        card = {
            "format": row["card_format"].strip(),
            "facility": _number(row.get("card_facility"), "card.facility", errors),
            "number": _number(row.get("card_number"), "card.number", errors),
            "bits": _number(row.get("card_bits"), "card.bits", errors),
        }
    key = parse_card(card, errors) if not errors else None
    pin = parse_pin((row.get("pin") or "").strip(), errors)
    enabled = _flag(row.get("credential_enabled"), "credential_enabled", errors)
    if key is None and pin is None:
        return None
    pin_hash = None if pin is None else pins.stored(key, pin)
    return {"card": key, "pin_hash": pin_hash, "enabled": enabled}


class Importer:
    """Checks and imports one CSV text into the database at `path` (in the child process)."""

    def __init__(self, path: Path, pins: PinHasher):
        self.path = path
        self.pins = pins

    def run(self, text: str) -> ImportResult:
        """Check every row; write all of them, or nothing and the errors."""
        conn = connect(self.path)
        try:
            holders, errors = self._check(text)
            if not errors:
                errors = self._against_store(conn, holders)
            if errors:
                return ImportResult(errors=errors)
            return self._write(conn, holders)
        finally:
            conn.close()

    def _check(self, text: str) -> tuple[dict, list[dict]]:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in COLUMNS]
        if "name" not in header or unknown:
            message = f"The first line must name the columns: {', '.join(COLUMNS)}"
            return {}, [{"line": 1, "errors": {"header": message}}]
        holders: dict[str, dict] = {}
        errors: list[dict] = []
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            problems = self._row(row, line, holders, seen)
            if problems:
                errors.append({"line": line, "errors": problems})
        return holders, errors

    def _row(self, row: dict, line: int, holders: dict, seen: dict) -> dict:
        problems: dict[str, str] = {}
        if None in row:
            return {"row": "The row has more fields than the header."}
        ref = (row.get("ref") or "").strip() or f"line {line}"
        holder = holders.get(ref) or _holder(row, problems)
        credential = _credential(row, self.pins, problems)
        if problems:
            return problems
        holder.setdefault("lines", []).append(line)
        holders[ref] = holder
        if credential is not None:
            unique = credential["card"] or "pin:" + credential["pin_hash"]
            if unique in seen:
                what = "card" if credential["card"] else "pin"
                return {what: f"The same {what} is on line {seen[unique]} already."}
            seen[unique] = line
            holder.setdefault("credentials", []).append({**credential, "line": line})
        return {}

    def _against_store(self, conn: sqlite3.Connection, holders: dict) -> list[dict]:
        """Rows whose card or PIN-only PIN someone in the store has already."""
        credentials = [c for h in holders.values() for c in h.get("credentials", [])]
        cards = {c["card"]: c["line"] for c in credentials if c["card"]}
        pins = {c["pin_hash"]: c["line"] for c in credentials if not c["card"] and c["pin_hash"]}
        errors = []
        for values, sql, what in (
            (cards, "SELECT card FROM credentials WHERE card IN ({})", "card"),
            (
                pins,
                "SELECT pin_hash FROM credentials WHERE card IS NULL AND pin_hash IN ({})",
                "pin",
            ),
        ):
            keys = list(values)
            for start in range(0, len(keys), BATCH):
                chunk = keys[start : start + BATCH]
                for (found,) in conn.execute(sql.format(",".join("?" * len(chunk))), chunk):
                    message = f"This {what} belongs to a cardholder on the device already."
                    errors.append({"line": values[found], "errors": {what: message}})
        return sorted(errors, key=lambda e: e["line"])

    def _write(self, conn: sqlite3.Connection, holders: dict) -> ImportResult:
        """All cardholders and credentials in one transaction."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM cardholders").fetchone()[0]
            rows, creds = [], []
            for number, holder in enumerate(holders.values(), start=first):
                rows.append(
                    (
                        number,
                        holder["name"],
                        holder["enabled"],
                        holder["valid_from"],
                        holder["valid_until"],
                        holder["long_access"],
                        holder["notes"],
                    )
                )
                creds += [
                    (number, c["enabled"], c["card"], c["pin_hash"])
                    for c in holder.get("credentials", [])
                ]
            conn.executemany("INSERT INTO cardholders VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany(
                "INSERT INTO credentials (cardholder_id, enabled, card, pin_hash) "
                "VALUES (?, ?, ?, ?)",
                creds,
            )
        except sqlite3.IntegrityError as error:
            conn.execute("ROLLBACK")
            message = f"Another change conflicted while importing ({error}); nothing was imported."
            return ImportResult(errors=[{"line": 0, "errors": {"import": message}}])
        conn.execute("COMMIT")
        return ImportResult(len(rows), len(creds))


def export_rows(conn: sqlite3.Connection):
    """The CSV lines of every cardholder with its credentials (PINs are never exported)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    yield _take(out)
    rows = conn.execute(
        "SELECT h.*, c.card, c.pin_hash IS NOT NULL AS has_pin, c.enabled AS credential_enabled "
        "FROM cardholders h LEFT JOIN credentials c ON c.cardholder_id = h.id ORDER BY h.id, c.id"
    )
    for row in rows:
        writer.writerow(_export_row(row))
        if out.tell() > 64_000:
            yield _take(out)
    yield _take(out)


def _export_row(row: sqlite3.Row) -> list:
    card = card_of(row["card"]) or {}
    flag = {1: "true", 0: "false", None: ""}
    return [
        row["id"],
        row["name"],
        flag[row["enabled"]],
        row["valid_from"] or "",
        row["valid_until"] or "",
        flag[row["long_access"]],
        row["notes"],
        card.get("format", ""),
        _blank(card.get("facility")),
        _blank(card.get("number")),
        _blank(card.get("bits")),
        "",
        flag[row["credential_enabled"]],
    ]


def _blank(value) -> str:
    return "" if value is None else str(value)


def _take(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def run_in_child(data_dir: Path, text: str) -> ImportResult:
    """Import in a child process (gevent's subprocess: the hub keeps running meanwhile)."""
    from gevent import subprocess

    root = str(Path(__file__).resolve().parents[3])  # the child imports this same doorctl
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen(
        [sys.executable, "-m", "doorctl.core.access_control.cardholder_csv", str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )
    out, err = child.communicate(text.encode())
    if child.returncode != 0:
        message = f"The import process failed: {err.decode(errors='replace')[-500:]}"
        return ImportResult(errors=[{"line": 0, "errors": {"import": message}}])
    return ImportResult(**json.loads(out))


def main(argv: list[str]) -> int:
    """The child: import the CSV on stdin into the data directory; the result as JSON."""
    data_dir = Path(argv[0])
    importer = Importer(data_dir / DB_NAME, PinHasher(secret_key(data_dir)))
    result = importer.run(sys.stdin.buffer.read().decode("utf-8-sig", errors="replace"))
    json.dump(result.__dict__, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
