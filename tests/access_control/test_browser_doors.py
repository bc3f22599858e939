"""In Chromium: an operator watches the Doors page change live while an administrator
works the door on the Simulator panel of the real appliance (`doorctl serve`)."""

from __future__ import annotations

import pytest
from support import ROOT_PASSWORD, start_served

pytestmark = pytest.mark.browser
OPERATOR = ("doris", "operator password")
# Long enough to act in the browser, short enough to wait for the alarms.
TIMES = {"access_time": 4, "long_access_time": 8, "open_too_long_time": 3, "pre_alarm_time": 1.5}
LIVE = 6000  # ms: the server pushes the door card when it changes


@pytest.fixture
def server(tmp_path):
    server = start_served(tmp_path / "served")
    try:
        password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        server.call("POST", "/api/v1/setup", password, auth=None)
        user = {"username": OPERATOR[0], "password": OPERATOR[1], "role": "operator"}
        server.call("POST", "/api/v1/users", user)
        server.call("PUT", "/api/v1/doors/1/settings", TIMES)
        yield server
    finally:
        server.stop()
        if server.process.poll() is None:
            server.process.kill()
        server.process.communicate()  # closes the child's pipes
    assert server.process.returncode == 0  # SIGTERM is a clean stop


def logged_in_page(browser, server, username: str, password: str, path: str):
    """A page in its own browser context (its own session), logged in, at `path`."""
    page = browser.new_context().new_page()
    page.goto(f"{server.url}/login?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}{path}")
    return page


def test_operator_sees_the_door_change_live(browser, server):
    from playwright.sync_api import expect

    doors = logged_in_page(browser, server, *OPERATOR, "/doors")
    sim = logged_in_page(browser, server, "root", ROOT_PASSWORD, "/simulator")
    mode, position = doors.locator("#door-1-mode"), doors.locator("#door-1-position")
    alarms, lock = doors.locator("#door-1-alarms"), doors.locator("#door-1-lock")
    expect(mode).to_have_attribute("data-value", "locked")
    expect(doors.locator("#menu")).not_to_contain_text("Simulator")  # administrators only

    # Access, then walk through: open and close on the Simulator panel.
    doors.click("#door-1-action-access")
    expect(mode).to_have_attribute("data-value", "accessed", timeout=LIVE)
    expect(lock).to_have_attribute("data-value", "unlocked")
    sim.click("#sim-door-open")
    expect(sim.locator("#sim-message")).to_have_text("Door opened.")
    expect(sim.locator("#sim-door-position")).to_have_attribute("data-value", "open", timeout=LIVE)
    expect(position).to_have_attribute("data-value", "open", timeout=LIVE)
    sim.click("#sim-door-closed")
    expect(position).to_have_attribute("data-value", "closed", timeout=LIVE)
    expect(mode).to_have_attribute("data-value", "locked", timeout=LIVE)  # relocked on close
    expect(alarms).to_have_attribute("data-value", "")

    # Held open past the open-too-long time: pre-alarm, alarm, cleared by closing.
    doors.click("#door-1-action-access")
    expect(mode).to_have_attribute("data-value", "accessed", timeout=LIVE)
    sim.click("#sim-door-open")
    expect(alarms).to_have_attribute("data-value", "open_too_long_pre_alarm", timeout=LIVE)
    expect(alarms).to_have_attribute("data-value", "open_too_long", timeout=LIVE)
    expect(doors.locator("mark[data-alarm=open_too_long]")).to_be_visible()
    server.call("POST", "/api/v1/sim/door", {"position": "closed"})
    expect(alarms).to_have_attribute("data-value", "", timeout=LIVE)
    expect(mode).to_have_attribute("data-value", "locked", timeout=LIVE)

    # Opened while locked, without access: forced open.
    sim.click("#sim-door-open")
    expect(alarms).to_have_attribute("data-value", "forced_open", timeout=LIVE)
    expect(doors.locator("mark[data-alarm=forced_open]")).to_contain_text("forced open")
    sim.click("#sim-door-closed")
    expect(alarms).to_have_attribute("data-value", "", timeout=LIVE)

    events = server.call("GET", "/api/v1/doors/1")
    assert events["mode"] == "locked" and events["door_position"] == "closed"

    # Locked down (by another user, over the API): the card greys out what it would
    # refuse and says why; Return to normal stays.
    server.call("POST", "/api/v1/doors/1/lockdown")
    expect(mode).to_have_attribute("data-value", "locked_down", timeout=LIVE)
    expect(doors.locator("#door-1-action-access")).to_be_disabled()
    expect(doors.locator("#door-1-refusal")).to_contain_text("Return to normal")
    doors.click("#door-1-action-release")
    expect(doors.locator(".toast-message").last).to_contain_text("back to normal")
    expect(mode).to_have_attribute("data-value", "locked", timeout=LIVE)
