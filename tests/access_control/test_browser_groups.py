"""Groups and editing in place in a real Chromium: a group with members, a rule for the
group edited in its row, a schedule's interval refused by its label then saved, and the
group deleted after the dialog says what its rule loses."""

import pytest
from playwright.sync_api import expect
from support import ROOT_PASSWORD, log_in

pytestmark = pytest.mark.browser
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def seed(served) -> int:
    """Root's password, two cardholders and a schedule; the schedule's id."""
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", body, auth=None)
    for name in ("Ann Berg", "Bo Ek"):
        served.call("POST", "/api/v1/cardholders", {"name": name})
    week = [{"days": WEEKDAYS, "start": "08:00", "end": "17:00"}]
    return served.call("POST", "/api/v1/schedules", {"name": "Office hours", "intervals": week})[
        "id"
    ]


def test_group_rule_and_schedule_edited_in_place(served, page):
    url = served.url
    schedule_id = seed(served)
    log_in(page, url)

    page.click("#menu a:text('Groups')")
    expect(page).to_have_url(url + "/access/groups")
    page.fill("#add-group input[name=name]", "Night shift")
    page.click("#add-group-submit")
    expect(page.locator("#groups")).to_contain_text("Night shift")
    expect(page.locator("#groups")).to_contain_text("0 members")

    page.click("#groups a:text('Night shift')")
    page.select_option("#add-members select[name=cardholder_ids]", label=["Ann Berg", "Bo Ek"])
    page.click("#add-members-submit")
    expect(page.locator("#members")).to_contain_text("Ann Berg")
    expect(page.locator("#members")).to_contain_text("Bo Ek")
    expect(page.locator(".toast")).to_contain_text("2 members added.")

    page.click("#menu a:text('Access rules')")
    page.click("#add-rule summary")
    page.fill("#add-rule input[name=name]", "Nights")
    page.select_option("#add-rule select[name=group_ids]", label="Night shift")
    page.select_option("#add-rule select[name=schedule_id]", label="Office hours")
    page.click("#add-rule-submit")
    row = page.locator("#access-rules tr", has_text="Nights")
    expect(row).to_contain_text("Night shift")
    expect(row).to_contain_text("Card")

    row.get_by_role("button", name="Edit Nights").click()
    editor = page.locator("#access-rules tr.editing")
    editor.get_by_label("Authentication").select_option(label="Card and PIN")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#access-rules tr.editing")).to_have_count(0)
    expect(row).to_contain_text("Card and PIN")
    expect(page.locator(".toast", has_text="Access rule saved.")).to_be_visible()
    expect(page).to_have_url(url + "/access/rules")

    page.click("#menu a:text('Schedules')")
    card = page.locator(f"#schedule-{schedule_id}")
    card.get_by_role("button", name="Edit Office hours").click()
    start = card.get_by_label("Interval 1: start")
    start.fill("25:00")
    card.get_by_role("button", name="Save").click()
    error = card.locator(f"#schedule-{schedule_id}-interval-0-start-error")
    expect(error).to_have_text("Enter a time as HH:MM, from 00:00 to 24:00.")
    expect(card.get_by_label("Interval 1: start")).to_have_attribute("aria-invalid", "true")
    card.get_by_label("Interval 1: start").fill("07:30")
    card.get_by_role("button", name="Save").click()
    expect(card).to_contain_text("Mon–Fri 07:30–17:00")
    expect(card.locator("form[hx-post]")).to_have_count(0)
    assert served.call("GET", f"/api/v1/schedules/{schedule_id}")["intervals"][0]["start"] == (
        "07:30"
    )

    page.click("#menu a:text('Groups')")
    page.locator("#groups tr", has_text="Night shift").get_by_role("button", name="Delete").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Delete the group Night shift?")
    expect(dialog).to_contain_text("The access rule Nights names it")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#groups")).to_have_text("No groups yet.")
    rules = served.call("GET", "/api/v1/access-rules")
    assert rules[0]["group_ids"] == []
