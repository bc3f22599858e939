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

# Loaded, and every panel that loads itself (hx-trigger="load") has come in.
SETTLED = "window.htmx && !document.querySelector('.htmx-request, [hx-trigger=load]')"
LAYOUT_PROBLEMS = (Path(__file__).parent / "browser_layout.js").read_text()


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    """The served appliance, its root password not yet set (the setup page comes first)."""
    # Eight browser contexts (a person has one) keep up to six connections each from
    # 127.0.0.1; the cap per client address would refuse the stylesheets of the last.
    limit = {"DOORCTL_CONNECTIONS_PER_CLIENT": "256"}
    server = start_served(tmp_path_factory.mktemp("matrix") / "data", env=limit)
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
    first = browser.new_context()
    page = first.new_page()
    page.goto(appliance.url + "/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", ROOT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/status")
    # One login (a slow password hash) for all sizes: the contexts share its session.
    session = first.storage_state()
    first.close()
    contexts = {name: new_page(browser, size, session) for name, size in SIZES.items()}
    yield contexts
    for page in contexts.values():
        page.context.close()


@pytest.fixture(scope="module")
def visitor_contexts(browser):
    """One browser context per size without a session (setup and login)."""
    pages = {name: new_page(browser, size) for name, size in SIZES.items()}
    yield pages
    for page in pages.values():
        page.context.close()


def new_page(browser, size: tuple[int, int], session=None):
    """A page in a browser context of its own at `size`, with `session`'s cookies."""
    width, height = size
    viewport = {"width": width, "height": height}
    context = browser.new_context(viewport=viewport, storage_state=session)
    # Generous: the machine may be busy with other tests; a slow answer is not a layout fault.
    context.set_default_timeout(30_000)
    return context.new_page()


def check(page, url: str, name: str, size: str, theme: str):
    """Load `url` in `theme`; assert the layout holds and axe finds nothing serious."""
    # The shared browser keeps a page per size; only the front one renders for real.
    page.bring_to_front()
    page.emulate_media(color_scheme=theme)
    page.goto(url)
    page.wait_for_function(SETTLED, polling=50)
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    problems = page.evaluate(LAYOUT_PROBLEMS)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{size}-{theme}.png", full_page=True)
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
