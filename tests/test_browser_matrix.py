"""Every covered page at phone, tablet, desktop and wide sizes, in light and dark.

One served appliance and one Chromium for the whole matrix, one browser context per
size. Each page is checked the way a person would notice a broken layout: it scrolls
sideways, two texts sit on top of each other, or a text is cut off by its box; axe-core
checks it for serious and critical accessibility faults. Every screenshot is written to
$DOORCTL_SCREENSHOTS (else test-artifacts/screenshots) for a person to look at.
"""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from support import REPO, ROOT_PASSWORD, start_served

pytestmark = pytest.mark.browser

SIZES = {"phone": (360, 740), "tablet": (768, 1024), "desktop": (1280, 800), "wide": (1920, 1080)}
THEMES = ("light", "dark")
# The pages that hold up at every size; the section pages join as they adopt the macros.
PAGES = ("/status", "/doors", "/users", "/help")
SHOTS = Path(os.environ.get("DOORCTL_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")
# axe once per page and theme, at the size where most content shows.
AXE_SIZE = "desktop"

LAYOUT_PROBLEMS = (Path(__file__).parent / "browser_layout.js").read_text()


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    """The served appliance, its root password not yet set (the setup page comes first)."""
    server = start_served(tmp_path_factory.mktemp("matrix") / "data")
    server.root_set = False
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin_contexts(browser, appliance):
    """One logged-in browser context per size, shared by all pages and themes."""
    if not appliance.root_set:
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        appliance.call("POST", "/api/v1/setup", body, auth=None)
        appliance.root_set = True
    contexts = {}
    for name, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(appliance.url + "/login")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", ROOT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/status")
        contexts[name] = page
    yield contexts
    for page in contexts.values():
        page.context.close()


@pytest.fixture(scope="module")
def visitor_contexts(browser):
    """One browser context per size without a session (setup and login)."""
    pages = {}
    for name, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        pages[name] = context.new_page()
    yield pages
    for page in pages.values():
        page.context.close()


def check(page, url: str, name: str, size: str, theme: str):
    """Load `url` in `theme`; assert the layout holds and axe finds nothing serious."""
    page.emulate_media(color_scheme=theme)
    page.goto(url)
    page.evaluate("localStorage.removeItem('doorctl.theme')")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{size}-{theme}.png", full_page=True)
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert problems == [], f"{name} at {SIZES[size]} in {theme}: {problems}"
    if size == AXE_SIZE:
        violations = Axe().run(page).response["violations"]
        serious = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], f"{name} in {theme}: {serious}"


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_setup_page(appliance, visitor_contexts, size, theme):
    assert not appliance.root_set, "the setup page is only shown before the root password is set"
    check(visitor_contexts[size], appliance.url + "/setup", "setup", size, theme)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_login_page(appliance, admin_contexts, visitor_contexts, size, theme):
    check(visitor_contexts[size], appliance.url + "/login", "login", size, theme)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", PAGES)
def test_page(appliance, admin_contexts, path, size, theme):
    name = path.strip("/").replace("/", "-")
    check(admin_contexts[size], appliance.url + path, name, size, theme)
