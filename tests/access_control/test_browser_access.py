"""Access control in a real Chromium: cardholder, card and rule through the pages, a card
on the Simulator panel, the grant live in the Access log."""

import json

import pytest
from playwright.sync_api import expect
from test_browser_shell import set_root_password

pytestmark = pytest.mark.browser


def test_add_cardholder_rule_present_card_see_grant_live(served, page):
    url = served.url
    set_root_password(page, url)

    page.click("#menu a:text('Cardholders')")
    expect(page).to_have_url(url + "/access/cardholders")
    page.click("#add-cardholder summary")
    page.fill("#add-cardholder input[name=name]", "Ann Berg")
    page.select_option("#add-cardholder select[name=card_format]", "H10301")
    page.fill("#add-cardholder input[name=card_facility]", "12")
    page.fill("#add-cardholder input[name=card_number]", "345")
    page.click("#add-cardholder-submit")
    expect(page.locator("#cardholders")).to_contain_text("Ann Berg")
    expect(page.locator("#cardholders")).to_contain_text("12:345")

    page.click("#menu a:text('Access rules')")
    page.click("#add-rule summary")
    page.select_option("#add-rule select[name=cardholder_ids]", label="Ann Berg")
    page.click("#add-rule-submit")
    expect(page.locator("#access-rules")).to_contain_text("Ann Berg")

    log = page.context.new_page()
    log.goto(url + "/logs/access")
    expect(log.locator("h1")).to_have_text("Access log")
    log.wait_for_timeout(300)  # the SSE stream connects

    page.click("#menu a:text('Simulator')")
    page.select_option("#sim-card select[name=format]", "H10301")
    page.fill("#sim-card input[name=facility]", "12")
    page.fill("#sim-card input[name=card]", "345")
    page.click("#sim-card button[type=submit]")

    row = log.locator("#access-rows tr.granted")
    expect(row).to_contain_text("Ann Berg")
    expect(row).to_contain_text("Granted")
    token = json.loads(page.get_attribute("body", "hx-headers"))  # the session's CSRF token
    denied = page.request.post(
        url + "/api/v1/sim/wiegand",
        data={"format": "H10301", "facility": 12, "card": 346},
        headers=token,
    )
    assert denied.ok
    expect(log.locator("#access-rows tr.denied")).to_contain_text("not known")
