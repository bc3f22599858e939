"""System log page and /api/v1/logs/system: level and text filters, bad filters named
per field, the download, and who may read it."""

from __future__ import annotations

import logging
import re

from test_log_pages import field_error

log = logging.getLogger("doorctl.tests.pages")


def seed(doorctl) -> None:
    """Three records of three levels (the root logger lets INFO through for them)."""
    log.setLevel(logging.INFO)
    log.info("reader poll slow on bus 1")
    log.warning("reader 2 went offline")
    log.error("relay driver failed: <b>short</b>")
    doorctl.system_log.flush()


def messages(answer) -> list[str]:
    return [r["message"] for r in answer.json["records"] if r["logger"] == log.name]


def test_the_api_filters_by_level_and_text(doorctl, operator_api):
    seed(doorctl)
    everything = operator_api.get("/api/v1/logs/system")
    assert messages(everything)[:3] == [
        "relay driver failed: <b>short</b>",
        "reader 2 went offline",
        "reader poll slow on bus 1",
    ]
    assert messages(operator_api.get("/api/v1/logs/system?level=warning")) == [
        "relay driver failed: <b>short</b>",
        "reader 2 went offline",
    ]
    found = operator_api.get("/api/v1/logs/system?search=OFFLINE").json["records"]
    assert [(r["level"], r["process"]) for r in found] == [("WARNING", "hub")]
    assert found[0]["time"].endswith("+00:00")


def test_pages_of_records_follow_each_other(doorctl, operator_api):
    seed(doorctl)
    first = operator_api.get("/api/v1/logs/system?limit=2&search=doorctl.tests.pages").json
    second = operator_api.get(
        f"/api/v1/logs/system?limit=2&search=doorctl.tests.pages&before={first['next']}"
    ).json
    assert [r["message"] for r in second["records"]] == ["reader poll slow on bus 1"]
    assert second["next"] is None


def test_the_page_filters_and_escapes(doorctl, logged_in):
    seed(doorctl)
    page = logged_in.get("/logs/system?level=ERROR").get_data(as_text=True)
    assert "relay driver failed: &lt;b&gt;short&lt;/b&gt;" in page
    assert "reader 2 went offline" not in page
    assert re.search(r'<option value="ERROR" selected>', page)
    assert re.search(r'sse-connect="/logs/system/stream\?level=ERROR&amp;after=\d+"', page)
    searched = logged_in.get("/logs/system?search=went+offline").get_data(as_text=True)
    assert "reader 2 went offline" in searched and "relay driver" not in searched


def test_bad_filters_are_a_400_in_the_api_and_marked_on_the_page(doorctl, operator_api, logged_in):
    seed(doorctl)
    answer = operator_api.get("/api/v1/logs/system?level=LOUD&since=2026-13-01")
    assert answer.status_code == 400
    assert answer.json["fields"] == {
        "level": "Level: choose one from the list (DEBUG, INFO, WARNING, ERROR, CRITICAL).",
        "since": "From: “2026-13-01” is not a date and time. Use 2026-11-25 08:00, a date "
        "(2026-11-25) or seconds since 1970.",
    }
    page = logged_in.get("/logs/system?level=LOUD")
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert field_error(text, "level").startswith("Level: choose one from the list")
    assert "reader 2 went offline" in text  # the log, without the bad filter
    assert "sse-connect" not in text


def test_the_download_is_text_oldest_first(doorctl, logged_in):
    seed(doorctl)
    answer = logged_in.get("/logs/system/download?search=doorctl.tests.pages")
    assert answer.mimetype == "text/plain"
    lines = answer.get_data(as_text=True).splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "INFO hub doorctl.tests.pages: reader poll slow on bus 1",
        "WARNING hub doorctl.tests.pages: reader 2 went offline",
        "ERROR hub doorctl.tests.pages: relay driver failed: <b>short</b>",
    ]


def test_operators_read_the_system_log_and_viewers_do_not(operator_api, viewer_api):
    assert operator_api.get("/api/v1/logs/system").status_code == 200
    assert viewer_api.get("/api/v1/logs/system").status_code == 403
