"""Every covered page at phone, tablet, desktop and wide sizes, in light and dark.

One served appliance, seeded as an installer leaves it (support_seed.py: a named door,
60 cardholders, schedules, rules, an OSDP reader online, a few hundred events), and one
Chromium for the whole matrix, one browser context per size. Each page is checked the
way a person would notice a broken layout: it scrolls sideways, two texts sit on top of
each other, or a text is cut off by its box; axe-core
checks it for serious and critical accessibility faults. Every screenshot is written to
$DOORCTL_SCREENSHOTS (else test-artifacts/screenshots) for a person to look at.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from support import REPO, ROOT_PASSWORD, SWITCH_THEME
from support_seed import seeded_appliance

pytestmark = pytest.mark.browser

SIZES = {"phone": (360, 740), "tablet": (768, 1024), "desktop": (1280, 800), "wide": (1920, 1080)}
THEMES = ("light", "dark")
# Every page of the menu, the user menu and Help.
PAGES = (
    "/status",
    "/doors",
    "/access/cardholders",
    "/access/schedules",
    "/access/rules",
    "/access/groups",
    "/access/settings",
    "/alarms",
    "/peripherals",
    "/users",
    "/date-time",
    "/network",
    "/proxy",
    "/snmp",
    "/kiosk-display",
    "/network-discovery",
    "/security",
    "/maintenance/firmware",
    "/certificates",
    "/mqtt/client",
    "/mqtt/publication",
    "/mqtt/subscriptions",
    "/io",
    "/simulator",
    "/logs/events",
    "/logs/access",
    "/logs/remote-syslog",
    "/logs/system",
    "/logs/audit",
    "/logs/reports",
    "/logs/network-trace",
    "/maintenance",
    "/maintenance/backup",
    "/account/password",
    "/help",
    "/doors/1/settings",
    "/help/api",
    "/no/such/page",
)
# Pages again with their folded parts opened: (name, path, selectors to click).
OPENED = (
    ("doors-actions", "/doors", ("#door-1-more summary",)),
    ("peripherals-capabilities", "/peripherals", ("#readers details.capabilities summary",)),
    ("users-row", "/users", ("#add-user summary", "tr[data-user] details summary")),
    ("reports-view", "/logs/reports?view=1", ()),
)
# Pages that answer with an error on purpose (and must still hold their layout).
ERROR_PAGES = {"/no/such/page": 404}
SHOTS = Path(os.environ.get("DOORCTL_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")
# axe once per page and theme, at the size where most content shows.
AXE_SIZE = "desktop"

# Loaded, and every panel that loads itself (hx-trigger="load") has come in.
SETTLED = """() => document.readyState === "complete"
  && (window.htmx || !document.querySelector("script[src*=htmx]"))
  && !document.querySelector(".htmx-request, [hx-trigger=load]")"""
# Pages that draw themselves after loading, and what shows that they are done.
DRAWN = {"/help/api": ".opblock-tag"}
# Left out of axe's check: Swagger UI's own markup (vendored; its method badges are white
# on light colours and each operation's copy button sits inside its summary button). The
# page around it is checked, and the whole page's layout is.
AXE_EXCLUDE = {"/help/api": "#api-viewer"}
LAYOUT_PROBLEMS = (Path(__file__).parent / "browser_layout.js").read_text()


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    """The served appliance, its root password not yet set (the setup page comes first);
    its seed() runs once root's password is set."""
    # Eight browser contexts (a person has one) keep up to six connections each from
    # 127.0.0.1; the cap per client address would refuse the stylesheets of the last.
    limit = {"DOORCTL_CONNECTIONS_PER_CLIENT": "256"}
    data = tmp_path_factory.mktemp("matrix") / "data"
    with seeded_appliance(data, ROOT_PASSWORD, env=limit) as (server, seed):
        server.root_set, server.seed = False, seed
        yield server


@pytest.fixture(scope="module")
def admin_contexts(browser, appliance):
    """One logged-in browser context per size, shared by all pages and themes."""
    if not appliance.root_set:
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        appliance.call("POST", "/api/v1/setup", body, auth=None)
        appliance.root_set = True
        appliance.seed()
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


def check(page, url: str, name: str, size: str, status: int = 200, opened=()):
    """Load `url` (answering `status`), open the `opened` parts; in each theme assert
    the layout holds and axe finds nothing serious.

    The page loads once, in the light theme; dark is switched on in place as the theme
    button does, which halves the page loads of the matrix.
    """
    page.bring_to_front()  # the shared browser keeps a page per size; the front one renders
    response = page.goto(url)
    assert response.status == status, f"{url}: {response.status}"
    page.wait_for_function(SETTLED, polling=50)
    drawn = DRAWN.get(urlsplit(url).path)
    if drawn:
        page.locator(drawn).first.wait_for()
    for selector in opened:
        page.locator(selector).first.click()
    if opened:  # back to the top: the sticky bar over a scrolled page is no overlap
        page.evaluate("window.scrollTo(0, 0)")
    faults = []
    for theme in THEMES:
        page.evaluate(SWITCH_THEME, theme)
        faults += [f"{theme}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS)]
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{name}-{size}-{theme}.png"
        page.screenshot(path=shot, full_page=True)
        if size == AXE_SIZE:
            excluded = AXE_EXCLUDE.get(urlsplit(url).path)
            faults += [f"{theme}: {v}" for v in serious_violations(page, excluded)]
    assert faults == [], f"{name} at {SIZES[size]}: {faults}"


def serious_violations(page, excluded: str | None = None) -> list[str]:
    """axe-core's violations of impact serious or critical, with their first nodes."""
    context = {"exclude": [[excluded]]} if excluded else None
    violations = Axe().run(page, context=context).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("size", SIZES)
def test_setup_page(appliance, visitor_contexts, size):
    assert not appliance.root_set, "the setup page is only shown before the root password is set"
    check(visitor_contexts[size], appliance.url + "/setup", "setup", size)


@pytest.mark.parametrize("size", SIZES)
def test_login_page(appliance, admin_contexts, visitor_contexts, size):
    check(visitor_contexts[size], appliance.url + "/login", "login", size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", PAGES)
def test_page(appliance, admin_contexts, path, size):
    name = path.strip("/").replace("/", "-")
    status = ERROR_PAGES.get(path, 200)
    check(admin_contexts[size], appliance.url + path, name, size, status)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("name", "path", "opened"), OPENED, ids=[o[0] for o in OPENED])
def test_page_opened(appliance, admin_contexts, name, path, opened, size):
    check(admin_contexts[size], appliance.url + path, name, size, opened=opened)
