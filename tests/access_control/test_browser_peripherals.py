"""In Chromium: the Peripherals page shows a libosdp reader going online live, and an
upgrade from the page's file upload with its progress bar reaching done."""

from __future__ import annotations

import os

import pytest
from support import ROOT_PASSWORD, start_served
from support_osdp import ReaderProcess

pytestmark = [pytest.mark.browser, pytest.mark.peer]
LIVE = 8000  # ms: the readers table polls every second


@pytest.fixture
def server(tmp_path, line):
    server = start_served(tmp_path / "served", "--reader-test-ports")
    try:
        password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        server.call("POST", "/api/v1/setup", password, auth=None)
        server.call("POST", "/api/v1/readers", {"id": "front", "port": line.path, "address": 1})
        yield server
    finally:
        server.stop()
        if server.process.poll() is None:
            server.process.kill()
        server.process.communicate()


def test_reader_goes_online_live_and_is_upgraded_from_the_page(page, server, line, tmp_path):
    from playwright.sync_api import expect

    page.goto(f"{server.url}/login?next=/peripherals")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", ROOT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/peripherals")
    state = page.locator("#reader-front-state")
    expect(state).to_have_attribute("data-value", "offline")
    child = ReaderProcess(
        line.master, [{"address": 1, "serial": 0xBEEF, "secure": False}], tmp_path, 0.005
    )
    try:
        expect(state).to_have_attribute("data-value", "online", timeout=LIVE)
        expect(page.locator("#reader-front-serial")).to_have_text("0000beef")
        firmware = os.urandom(20_000)
        page.select_option("select[name=reader]", "front")
        upload = {"name": "reader.bin", "mimeType": "application/octet-stream", "buffer": firmware}
        page.set_input_files("input[name=file]", files=[upload])
        page.click("#upgrade-submit")
        progress = page.locator("#reader-front-upgrade")
        expect(progress).to_have_attribute("data-state", "done", timeout=30_000)
        expect(progress).to_have_attribute("value", str(len(firmware)))
        page.click("#configure-front summary")
        page.fill("#configure-front input[name=poll_interval]", "50")
        page.click("#save-front")
        expect(page.locator("#reader-front")).to_contain_text("every 50 ms")
        expect(state).to_have_attribute("data-value", "online", timeout=LIVE)
    finally:
        child.kill()


def test_a_capture_is_started_stopped_and_downloaded_from_the_page(page, server, line, tmp_path):
    from pcap_osdp import frames
    from playwright.sync_api import expect

    from doorctl.hal.osdp import messages as m

    child = ReaderProcess(line.master, [{"address": 1, "secure": False}], tmp_path, 0.005)
    try:
        page.goto(f"{server.url}/login?next=/peripherals")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", ROOT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/peripherals")
        expect(page.locator("#reader-front-state")).to_have_attribute(
            "data-value", "online", timeout=LIVE
        )
        page.fill("#osdp-capture input[name=duration]", "30")
        page.click("#capture-start")
        state = page.locator("#capture-front-state")
        expect(state).to_contain_text("Recording")
        child.send(cmd="card", bits="1100110011")
        page.wait_for_timeout(500)
        page.click("#capture-stop-front")
        expect(page.locator("#capture-download-front")).to_be_visible()
        with page.expect_download() as download:
            page.click("#capture-download-front")
        saved = tmp_path / "capture.pcap"
        download.value.save_as(saved)
        assert download.value.suggested_filename.endswith(".pcap")
        found = frames(saved.read_bytes())
        assert any(f.reply and f.code == m.RAW for f in found)
    finally:
        child.kill()


def test_a_stored_key_is_cleared_after_a_confirmation_naming_the_reader(page, server):
    from playwright.sync_api import expect

    key = {"secure_channel": "required", "secure_channel_key": "8badf00d" * 4}
    server.call("PATCH", "/api/v1/readers/front", key)
    page.goto(f"{server.url}/login?next=/peripherals")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", ROOT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/peripherals")
    page.click("#configure-front summary")
    page.click("#clear-key-front")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-message")).to_contain_text("reader front")
    page.click("#confirm-cancel")
    assert server.call("GET", "/api/v1/readers/front")["secure_channel_key_set"]
    page.click("#clear-key-front")
    expect(page.locator("#confirm-ok")).to_have_text("Clear key")
    page.click("#confirm-ok")
    expect(page.locator(".toast")).to_contain_text("The secure channel key of reader front")
    assert server.call("GET", "/api/v1/readers/front")["secure_channel_key_set"] is None
    expect(page.locator("#clear-key-front")).to_have_count(0)
