"""First login as a new user would do it, in a real Chromium against the served appliance."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def set_root_password(page, url):
    page.goto(url + "/")
    expect(page).to_have_url(url + "/setup")
    expect(page.locator("#plain-http-warning")).to_be_visible()
    page.fill("input[name=password]", "root pass 1")
    page.fill("input[name=password_repeat]", "root pass 2")
    page.click("button:text('Set password')")
    expect(page.locator("#password_repeat-error")).to_have_text("The passwords don't match.")
    page.fill("input[name=password]", "root pass 1")
    page.fill("input[name=password_repeat]", "root pass 1")
    page.click("button:text('Set password')")
    expect(page).to_have_url(url + "/status")
    expect(page.locator("#device-info")).to_contain_text("Simulated board")


def add_user(page, username, password, role):
    page.click("#add-user summary")
    page.fill("#add-user input[name=username]", username)
    page.fill("#add-user input[name=password]", password)
    page.fill("#add-user input[name=password_repeat]", password)
    page.select_option("#add-user select[name=role]", role)
    page.click("#add-user-submit")
    expect(page.locator(f"tr[data-user={username}]")).to_contain_text(role.capitalize())


def test_first_login_users_theme_history_and_logout(served, page):
    url = served.url
    set_root_password(page, url)

    page.click("#menu a:text('Users')")
    expect(page).to_have_url(url + "/users")
    expect(page).to_have_title(re.compile("^Users"))
    expect(page.locator("#menu a[aria-current=page]")).to_have_text("Users")
    add_user(page, "guard", "guard pass", "operator")

    page.click("#add-user summary")
    page.fill("#add-user input[name=username]", "guard")
    page.fill("#add-user input[name=password]", "x")
    page.fill("#add-user input[name=password_repeat]", "x")
    page.click("#add-user-submit")
    expect(page.locator("#add-user .error")).to_contain_text("exists already")

    theme = page.evaluate("document.documentElement.dataset.theme")
    page.click("#theme-toggle")
    flipped = "dark" if theme == "light" else "light"
    expect(page.locator("html")).to_have_attribute("data-theme", flipped)
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", flipped)

    page.click("#menu-toggle")
    expect(page.locator("#menu")).to_be_hidden()
    page.click("#menu-toggle")
    expect(page.locator("#menu")).to_be_visible()

    page.click("#menu a:text('Event log')")
    expect(page).to_have_url(url + "/logs/events")
    page.go_back()
    expect(page).to_have_url(url + "/users")
    expect(page.locator("tr[data-user=guard]")).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(url + "/logs/events")
    expect(page.locator("#event-log")).to_contain_text("tns1:Device/User/Login")

    page.click("#user-menu")
    expect(page.locator(".user-menu-body")).to_contain_text("Administrator")
    page.click("#logout")
    expect(page).to_have_url(url + "/login")
    page.goto(url + "/users")
    expect(page).to_have_url(url + "/login?next=/users")

    page.fill("input[name=username]", "guard")
    page.fill("input[name=password]", "guard pass")
    page.click("button:text('Log in')")
    expect(page).to_have_url(url + "/users")
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("#menu")).not_to_contain_text("Users")


def test_phone_drawer_user_menu_and_confirmation_dialog(served, browser):
    """At 360 px the menu is a drawer, closed until opened; the user menu is in reach;
    a delete asks in the page's own dialog, naming what goes, and Cancel keeps it."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.set_default_timeout(10_000)
    page = context.new_page()
    url = served.url
    served.call(
        "POST", "/api/v1/setup", {"password": "root pass 1", "password_repeat": "root pass 1"}, None
    )
    served.call(
        "POST",
        "/api/v1/users",
        {"username": "guard", "password": "guard pass", "role": "viewer"},
        ("root", "root pass 1"),
    )
    page.goto(url + "/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "root pass 1")
    page.click("button:text('Log in')")
    expect(page).to_have_url(url + "/status")

    expect(page.locator("#menu")).to_be_hidden()
    expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "false")
    page.click("#user-menu")
    expect(page.locator(".user-menu-body")).to_contain_text("Administrator")
    page.keyboard.press("Escape")

    page.click("#menu-toggle")
    expect(page.locator("#menu")).to_be_visible()
    expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "true")
    # A door's tile is pushed again when the door changes; that is no reason to close
    # the drawer.
    served.call("POST", "/api/v1/doors/1/unlock", auth=("root", "root pass 1"))
    expect(page.locator("#door-summary [data-mode=unlocked]")).to_be_visible()
    expect(page.locator("#menu")).to_be_visible()
    page.click("#menu a:text('Users')")
    expect(page).to_have_url(url + "/users")
    expect(page.locator("#menu")).to_be_hidden()

    row = page.locator("tr[data-user=guard]")
    row.locator("summary").click()
    row.locator("button:text('Delete user')").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete the user guard?")
    expect(page.locator("#confirm-ok")).to_have_text("Delete user")
    page.click("#confirm-cancel")
    expect(dialog).to_be_hidden()
    expect(row).to_be_visible()

    row.locator("button:text('Delete user')").click()
    page.click("#confirm-ok")
    expect(page.locator("tr[data-user=guard]")).to_have_count(0)
    context.close()
