"""Maintenance > Backup in a browser, on a served appliance (engine apart, the
product's key derivation): download, upload, preview, confirm in the page's dialog;
each step's layout at 390 and 1280 px, light and dark."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from support import REPO, ROOT_PASSWORD, SWITCH_THEME, log_in, start_set_up

pytestmark = pytest.mark.browser
PASSWORD = "backup password 1"
SHOTS = Path(os.environ.get("DOORCTL_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")
LAYOUT_PROBLEMS = (Path(__file__).parents[1] / "browser_layout.js").read_text()
WIDTHS = (390, 1280)


# The theme's colour transitions run to their end (a toast's own animation may not end).
@pytest.fixture
def server(tmp_path):
    served = start_set_up(tmp_path / "data")
    yield served
    served.stop()


def look(page, name: str) -> list[str]:
    """Layout faults and serious axe findings in light and dark; screenshots of each."""
    faults = []
    for theme in ("light", "dark"):
        page.evaluate(SWITCH_THEME, theme)
        faults += [f"{name} {theme}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS)]
        SHOTS.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"]
        page.screenshot(path=SHOTS / f"backup-{name}-{width}-{theme}.png", full_page=True)
        violations = Axe().run(page).response["violations"]
        faults += [
            f"{name} {theme}: {v['id']}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
    return faults


@pytest.mark.parametrize("width", WIDTHS)
def test_download_preview_and_restore_in_the_browser(server, browser, tmp_path, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    log_in(page, server.url, "root", ROOT_PASSWORD)
    page.goto(server.url + "/maintenance/backup")
    faults = look(page, "page")

    page.fill("#backup-password", "short")
    page.fill("#backup-password-repeat", "short")
    page.click("#backup-download-submit")
    expect(page.locator("#backup-password-error")).to_contain_text("5 characters long")
    faults += look(page, "error")

    page.fill("#backup-password", PASSWORD)
    page.fill("#backup-password-repeat", PASSWORD)
    with page.expect_download() as download:
        page.click("#backup-download-submit")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("doorctl-") and saved.suffix == ".backup"

    server.call("POST", "/api/v1/cardholders", {"name": "Added after"}, ("root", ROOT_PASSWORD))
    page.goto(server.url + "/maintenance/backup")
    page.set_input_files("#restore-file", saved)
    page.fill("#restore-password", PASSWORD)
    page.click("#backup-preview-submit")
    expect(page.locator("#backup-preview")).to_contain_text("Restore this backup?")
    expect(page.locator("#backup-count-users")).to_have_text("1")
    expect(page.locator("#keep_network")).to_be_checked()
    faults += look(page, "preview")

    page.click("#restore-submit")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-ok")).to_have_text("Restore")
    page.click("#confirm-ok")
    expect(page.locator("#backup-restored")).to_be_visible()
    faults += look(page, "restored")
    holders = server.call("GET", "/api/v1/cardholders", None, ("root", ROOT_PASSWORD))
    assert holders["cardholders"] == []
    assert faults == []
    context.close()
