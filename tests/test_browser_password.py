"""In Chromium: wherever a password is chosen (first access, Users, Change password)
the page says how strong it is as it is typed, and the manual's rules stay the rules:
a weak password of 1 to 64 printable characters is still accepted."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support import ROOT_PASSWORD, log_in

pytestmark = pytest.mark.browser
STRONG = "correct-Horse-battery-9"


def watch_policy(page) -> list[str]:
    """What the browser reports as blocked by the Content-Security-Policy."""
    blocked: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    return blocked


def expect_hints(field, hint, cases) -> None:
    """Type each password into `field`; the hint says the level and the reason."""
    for password, text in cases:
        field.fill(password)
        expect(hint).to_be_visible()
        expect(hint).to_contain_text(text)


def test_the_first_access_page_rates_the_root_password_and_takes_a_weak_one(served, page):
    blocked = watch_policy(page)
    page.goto(served.url + "/setup")
    field = page.locator("input[name=password]")
    hint = page.locator("input[name=password] ~ .strength")
    expect(hint).to_be_hidden()
    expect_hints(
        field,
        hint,
        [
            ("123456", "Strength: weak, a common password"),
            ("Password1!", "Strength: weak, a common password"),
            ("x7#", "Strength: weak, short (3 characters"),
            ("myrootpass99", "Strength: weak, it contains the username"),
            ("aaaaaaaaaa", "Strength: weak, a repeated character or a sequence"),
            ("k3Tz9pQw", "Strength: fair"),
            (STRONG, "Strength: strong"),
        ],
    )
    field.fill("")
    expect(hint).to_be_hidden()
    field.fill("x")  # one character: weak, and the manual allows it
    page.fill("input[name=password_repeat]", "x")
    page.press("input[name=password_repeat]", "Enter")
    expect(page).not_to_have_url(served.url + "/setup")
    assert served.call("GET", "/api/v1/users", auth=("root", "x"))
    assert blocked == []


def test_the_users_page_rates_new_and_changed_passwords(served, page):
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", body, auth=None)
    blocked = watch_policy(page)
    log_in(page, served.url, "root", ROOT_PASSWORD)
    page.goto(served.url + "/users")
    page.click("#add-user summary")
    add = page.locator("#add-user form")
    add.locator("input[name=username]").fill("frontdesk")
    hint = add.locator(".strength")
    expect_hints(
        add.locator("input[name=password]"),
        hint,
        [("letmein", "a common password"), ("frontdesk2024", "contains the username")],
    )
    expect(hint).to_have_attribute("data-strength", "weak")
    add.locator("input[name=password]").fill(STRONG)
    expect(hint).to_have_attribute("data-strength", "strong")
    add.locator("input[name=password]").fill("ab")  # weak but allowed: added all the same
    add.locator("input[name=password_repeat]").fill("ab")
    add.locator("button[type=submit]").click()
    expect(page.locator("tr[data-user=frontdesk]")).to_be_visible()
    row = page.locator("tr[data-user=root]")
    row.locator("summary").click()
    expect_hints(
        row.locator("input[name=password]"), row.locator(".strength"), [("qwerty", "common")]
    )
    assert blocked == []


def test_changing_your_own_password_shows_its_strength(served, page):
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", body, auth=None)
    viewer = {"username": "guard", "password": "guard password", "role": "viewer"}
    served.call("POST", "/api/v1/users", viewer)
    blocked = watch_policy(page)
    log_in(page, served.url, "guard", "guard password")
    page.goto(served.url + "/account/password")
    hints = page.locator(".strength")
    expect(hints).to_have_count(1)  # the new password only, not the current one
    expect_hints(
        page.locator("input[name=password]"),
        hints,
        [("guard123", "contains the username"), ("abcdefgh", "a sequence"), (STRONG, "strong")],
    )
    assert blocked == []
