"""The REST API viewer of the Help page, in a real Chromium against the served appliance."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from support import ROOT_PASSWORD

pytestmark = pytest.mark.browser


def test_the_help_page_shows_every_operation_from_the_device_alone(served, page):
    url = served.url
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", body, auth=None)
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(url + "/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", ROOT_PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(url + "/status")
    page.goto(url + "/help")
    page.click("#api-viewer-link")
    expect(page).to_have_url(url + "/help/api")
    rules = page.locator(".opblock-summary-path", has_text="/api/v1/access-rules")
    expect(rules).to_have_count(6)  # list, add; read, change (PUT, PATCH), delete
    operations = served.call("GET", "/api/v1/openapi.json")["paths"]
    total = sum(len(item) for item in operations.values())
    expect(page.locator(".opblock")).to_have_count(total)
    assert hosts == {urlsplit(url).netloc}
