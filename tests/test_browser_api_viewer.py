"""The REST API viewer of the Help page, in a real Chromium against the served appliance."""

from collections import Counter
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
    operations = served.call("GET", "/api/v1/openapi.json")["paths"]
    tags = Counter(
        tag for item in operations.values() for op in item.values() for tag in op["tags"]
    )
    # With this many operations the sections start closed: each opens to its operations.
    expect(page.locator(".opblock-tag")).to_have_count(len(tags))
    for tag, count in tags.items():
        header = page.locator(f".opblock-tag[data-tag='{tag}']")
        header.scroll_into_view_if_needed()
        header.click()
        section = page.locator(".opblock-tag-section", has=page.locator(f"[data-tag='{tag}']"))
        section.scroll_into_view_if_needed()
        expect(section.locator(".opblock")).to_have_count(count)
        header.click()  # closed again, so that the next section is near the top
    page.locator(".opblock-tag[data-tag='access-rules']").click()
    rules = page.locator(".opblock-summary-path", has_text="/api/v1/access-rules")
    expect(rules).to_have_count(6)  # list, add; read, change (PUT, PATCH), delete
    assert hosts == {urlsplit(url).netloc}
