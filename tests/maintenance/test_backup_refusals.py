"""Maintenance > Backup: a wrong password, a damaged or cut file, a file that is no
backup or of a newer version are refused with their reason and change nothing; the
backup password's rule; administrators only."""

from __future__ import annotations

import io
import json

import pytest
from support_backup import (
    LOW,
    PASSWORD,
    RULE,
    dump,
    make_backup,
    restore,
    seed,
)

from doorctl.core.maintenance import backup_file
from doorctl.core.maintenance.backup_file import Cost


def test_a_backup_of_a_newer_schema_is_refused(low_cost, admin_api, doorctl):
    content = backup_file.open_file(make_backup(admin_api), PASSWORD)
    content["schema"] = doorctl.store.version + 1
    before = dump(doorctl.data_dir)
    answer = restore(admin_api, backup_file.seal(content, PASSWORD, Cost(**LOW)))
    assert answer.status_code == 400
    assert answer.json["fields"] == {"file": "This backup was made by a newer version of doorctl."}
    assert dump(doorctl.data_dir) == before


def with_header(data: bytes, **changes) -> bytes:
    """The file with header fields changed (and its length with them)."""
    start = len(backup_file.MAGIC) + backup_file.PREFIX.size
    version, size = backup_file.PREFIX.unpack_from(data, len(backup_file.MAGIC))
    header = json.loads(data[start : start + size]) | changes
    head = json.dumps(header).encode()
    prefix = backup_file.MAGIC + backup_file.PREFIX.pack(version, len(head))
    return prefix + head + data[start + size :]


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


REFUSALS = {
    "wrong password": (
        lambda d: d,
        "wrong password 1",
        "password",
        "The password does not open this backup.",
    ),
    "a flipped byte": (
        lambda d: flipped(d, len(d) - 40),
        PASSWORD,
        "file",
        "The file was changed or damaged after it was made; nothing was restored.",
    ),
    "a flipped header": (
        lambda d: d.replace(b'"r":8', b'"r":9'),
        PASSWORD,
        "password",
        "The password does not open this backup.",
    ),
    "a truncated file": (
        lambda d: d[: len(d) // 2],
        PASSWORD,
        "file",
        "The file is cut short: download the backup again.",
    ),
    "a cut header": (
        lambda d: d[:30],
        PASSWORD,
        "file",
        "The file is cut short: download the backup again.",
    ),
    "not a backup": (
        lambda d: b"name,card\nAnn,345\n",
        PASSWORD,
        "file",
        "This file is not a doorctl backup.",
    ),
    "an empty password": (
        lambda d: d,
        "",
        "password",
        "Enter the password the backup was made with.",
    ),
    "an empty file": (lambda d: b"", PASSWORD, "file", "Choose a backup file."),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_restore_is_refused_with_its_reason_and_changes_nothing(
    low_cost, admin_api, doorctl, reader_line, tmp_path, case
):
    seed(admin_api, reader_line, tmp_path / "pki")
    data = make_backup(admin_api)
    admin_api.post("/api/v1/cardholders", {"name": "Added after the backup"})
    change, password, field, message = REFUSALS[case]
    before = dump(doorctl.data_dir)
    answer = restore(admin_api, change(data), password)
    assert answer.status_code == 400
    assert answer.json["fields"] == {field: message}
    assert dump(doorctl.data_dir) == before
    preview = admin_api.client.post(
        "/api/v1/maintenance/backup/preview",
        data={"file": (io.BytesIO(change(data)), "x.backup"), "password": password},
        headers=admin_api.headers,
    )
    assert preview.status_code == 400 and preview.json["fields"] == {field: message}
    if field == "file" and message != "Choose a backup file.":
        events = admin_api.get("/api/v1/events?limit=5").json["events"]
        assert events[0]["topic"] == "tns1:Device/Maintenance/Backup/RestoreFailed"
        assert events[0]["data"]["reason"] == message


def test_a_file_asking_for_too_costly_a_key_derivation_is_refused_before_deriving(
    low_cost, admin_api
):
    data = with_header(make_backup(admin_api), n=2**20, r=32)
    answer = restore(admin_api, data)
    assert answer.json["fields"] == {"file": "This backup was made by a newer version of doorctl."}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {},
            "password",
            f"Enter a password: {RULE}.",
        ),
        (
            {"password": "short"},
            "password",
            f"The password is 5 characters long: {RULE}.",
        ),
        (
            {"password": "pässwörd long"},
            "password",
            f"The password has a character that is not allowed: {RULE}.",
        ),
        (
            {"password": 12345678},
            "password",
            f"Enter a password: {RULE}.",
        ),
        (
            {"password": PASSWORD, "password_repeat": "other"},
            "password_repeat",
            "The passwords don't match.",
        ),
    ],
)
def test_a_backup_password_must_follow_the_rule(low_cost, admin_api, body, field, message):
    answer = admin_api.post("/api/v1/maintenance/backup", body)
    assert answer.status_code == 400
    assert answer.json["fields"] == {field: message}


def test_only_administrators_back_up_or_restore(low_cost, operator_api, logged_in):
    assert (
        operator_api.post("/api/v1/maintenance/backup", {"password": PASSWORD}).status_code == 403
    )
    form = {"file": (io.BytesIO(b"x"), "x.backup"), "password": PASSWORD}
    restored = operator_api.client.post(
        "/api/v1/maintenance/backup/restore", data=form, headers=operator_api.headers
    )
    assert restored.status_code == 403
