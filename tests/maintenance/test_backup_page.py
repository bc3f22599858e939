"""Maintenance > Backup's page: download, upload and preview, confirm or cancel; the
upload waits encrypted; a restore that changes your password logs you out."""

from __future__ import annotations

import io
import re

from support import ROOT_PASSWORD, csrf_token
from support_backup import (
    PASSWORD,
    make_backup,
)


def csrf(client) -> str:
    return csrf_token(client, "/maintenance/backup")


def test_the_page_downloads_previews_and_restores(low_cost, logged_in, admin_api, doorctl):
    page = logged_in.get("/maintenance/backup").get_data(as_text=True)
    assert (
        "Download backup" in page and "The event log and the access log are not in a backup" in page
    )
    token = csrf(logged_in)
    short = logged_in.post(
        "/maintenance/backup",
        data={"csrf_token": token, "password": "short", "password_repeat": "short"},
    )
    assert short.status_code == 422
    assert "The password is 5 characters long" in short.get_data(as_text=True)
    form = {"csrf_token": token, "password": PASSWORD, "password_repeat": PASSWORD}
    download = logged_in.post("/maintenance/backup", data=form)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="doorctl-')
    data = download.data
    admin_api.post("/api/v1/cardholders", {"name": "Added after the backup"})

    wrong = logged_in.post(
        "/maintenance/backup/preview",
        data={"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": "nope nope"},
    )
    assert wrong.status_code == 422
    assert "The password does not open this backup." in wrong.get_data(as_text=True)
    shown = logged_in.post(
        "/maintenance/backup/preview",
        data={"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": PASSWORD},
    )
    text = shown.get_data(as_text=True)
    assert (
        shown.status_code == 200 and "Restore this backup?" in text and 'id="keep_network"' in text
    )
    held = list((doorctl.data_dir / "tmp").iterdir())
    assert [p.read_bytes() for p in held] == [data]  # kept as uploaded: still encrypted
    assert oct(held[0].stat().st_mode & 0o777) == "0o600"
    upload = re.search(r'name="token" value="([^"]+)"', text).group(1)
    done = logged_in.post(
        "/maintenance/backup/restore",
        data={"csrf_token": token, "token": upload, "keep_network": "on"},
    )
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "The backup was restored and is in use." in page
    assert "log in again" not in page  # root's password is the same: its session stays
    assert not list((doorctl.data_dir / "tmp").iterdir())
    names = [h["name"] for h in admin_api.get("/api/v1/cardholders").json["cardholders"]]
    assert "Added after the backup" not in names
    assert logged_in.get("/maintenance/backup").status_code == 200
    again = logged_in.post(
        "/maintenance/backup/restore", data={"csrf_token": token, "token": upload}
    )
    assert again.status_code == 422
    assert "The uploaded backup is no longer kept: upload it again." in again.get_data(as_text=True)


def test_a_restore_that_changes_your_password_logs_you_out(low_cost, logged_in, admin_api, doorctl):
    data = make_backup(admin_api)
    doorctl.users.update("root", password="a newer root password")
    login = {"username": "root", "password": "a newer root password"}
    logged_in.post("/login", data={**login, "csrf_token": csrf_token(logged_in)})
    token = csrf(logged_in)
    form = {"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": PASSWORD}
    text = logged_in.post("/maintenance/backup/preview", data=form).get_data(as_text=True)
    upload = re.search(r'name="token" value="([^"]+)"', text).group(1)
    done = logged_in.post(
        "/maintenance/backup/restore", data={"csrf_token": token, "token": upload}
    )
    assert "log in again with the backup" in done.get_data(as_text=True)
    assert logged_in.get("/maintenance/backup").status_code in (302, 303)
    assert doorctl.users.authenticate("root", ROOT_PASSWORD)


def test_cancel_deletes_the_upload(low_cost, logged_in, admin_api, doorctl):
    data = make_backup(admin_api)
    token = csrf(logged_in)
    form = {"csrf_token": token, "file": (io.BytesIO(data), "b.backup"), "password": PASSWORD}
    text = logged_in.post("/maintenance/backup/preview", data=form).get_data(as_text=True)
    upload = re.search(r'name="token" value="([^"]+)"', text).group(1)
    cancelled = logged_in.post(
        "/maintenance/backup/cancel", data={"csrf_token": token, "token": upload}
    )
    assert cancelled.status_code == 303
    assert not list((doorctl.data_dir / "tmp").iterdir())


def test_the_page_names_every_missing_field_at_once(low_cost, logged_in):
    token = csrf(logged_in)
    answer = logged_in.post(
        "/maintenance/backup/preview", data={"csrf_token": token, "password": ""}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert (
        "Choose a backup file." in text and "Enter the password the backup was made with." in text
    )
