"""Every page of the matrix in German and in Swedish, at the desktop size: longer words
are where layouts break.

German comes from the browser (its Accept-Language, as Chromium sends it for a de-DE
locale) for root, who keeps no language; Swedish is kept with a user of its own whose
browser asks for English, so both ways of choosing are driven. Each page must hold its
layout as in tests/test_browser_matrix.py and be in its language: <html lang> and the
main menu's headings in that language's words.
"""

from __future__ import annotations

import pytest
from support import ROOT_PASSWORD, start_served
from test_browser_matrix import ERROR_PAGES, LAYOUT_PROBLEMS, PAGES, SETTLED, SHOTS

pytestmark = pytest.mark.browser

SIZE = {"width": 1280, "height": 800}
SWEDISH_USER = ("svea", "svea password 1")
# The language, the browser's locale, who logs in, and the main menu's headings.
LANGUAGES = {
    "de": ("de-DE", ("root", ROOT_PASSWORD), ["Status", "Zutrittskontrolle", "System"]),
    "sv": ("en-US", SWEDISH_USER, ["Status", "Passerkontroll", "System"]),
}
MENU_HEADINGS = (
    "() => [...document.querySelectorAll('#menu h2')].slice(0, 3).map((h) => h.textContent.trim())"
)
LOGIN_WORDS = {"de": "Anmelden", "sv": "Logga in"}
# The API viewer is a page of its own, without the shell's menu.
WITHOUT_MENU = {"/help/api"}


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    """One served appliance: root (no language of their own) and a Swedish administrator."""
    server = start_served(tmp_path_factory.mktemp("languages") / "data")
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", body, auth=None)
    user, password = SWEDISH_USER
    swede = {"username": user, "password": password, "role": "administrator", "language": "sv"}
    server.call("POST", "/api/v1/users", swede)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pages(browser, appliance):
    """A logged-in page per language, each in a context with its browser locale."""
    opened = {}
    for language, (locale, (user, password), _) in LANGUAGES.items():
        context = browser.new_context(viewport=SIZE, locale=locale)
        context.set_default_timeout(30_000)  # the machine may be busy with other tests
        page = context.new_page()
        log_in(page, appliance.url, user, password)
        opened[language] = page
    yield opened
    for page in opened.values():
        page.context.close()


def log_in(page, url: str, username: str, password: str) -> None:
    """The login page's form; waits as long as a busy machine needs to hash."""
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation(url=url + "/status"):
        page.press("input[name=password]", "Enter")


def faults_of(page, url: str, shot: str, status: int = 200) -> list[str]:
    """Load `url` (answering `status`); the layout's faults, with a screenshot for a
    person to look at."""
    page.bring_to_front()
    response = page.goto(url)
    assert response.status == status, f"{url}: {response.status}"
    page.wait_for_function(SETTLED, polling=50)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{shot}.png", full_page=True)
    return page.evaluate(LAYOUT_PROBLEMS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_page_in_language(appliance, pages, language, path):
    page = pages[language]
    name = path.strip("/").replace("/", "-")
    status = ERROR_PAGES.get(path, 200)
    faults = faults_of(page, appliance.url + path, f"{name}-desktop-{language}", status)
    assert faults == [], f"{path} in {language}: {faults}"
    assert page.locator("html").get_attribute("lang") == language
    if path not in WITHOUT_MENU:
        assert page.evaluate(MENU_HEADINGS) == LANGUAGES[language][2]


@pytest.mark.parametrize("language", LANGUAGES)
def test_login_page_in_the_browsers_language(browser, appliance, language):
    context = browser.new_context(viewport=SIZE, locale={"de": "de-DE", "sv": "sv-SE"}[language])
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        faults = faults_of(page, appliance.url + "/login", f"login-desktop-{language}")
        assert faults == []
        assert page.locator("h1").inner_text() == LOGIN_WORDS[language]
    finally:
        context.close()


def test_the_user_menu_changes_the_language(browser, appliance):
    """Chosen in the user menu, the language is the user's on the next page too."""
    context = browser.new_context(viewport=SIZE, locale="en-US")
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        log_in(page, appliance.url, *SWEDISH_USER)
        page.goto(appliance.url + "/users")
        page.click("#user-menu")
        page.select_option("#language-choice", "de")
        with page.expect_navigation():  # a whole page: <html lang> and <head> change too
            page.click("#language-save")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.locator("h1").inner_text() == "Benutzer"
        page.goto(appliance.url + "/status")
        assert page.evaluate(MENU_HEADINGS) == LANGUAGES["de"][2]
    finally:
        context.close()
        appliance.call("PUT", f"/api/v1/users/{SWEDISH_USER[0]}", {"language": "sv"})


def test_the_password_strength_hint_speaks_the_language(pages, appliance):
    page = pages["sv"]
    page.goto(appliance.url + "/account/password")
    page.fill("input[name=password]", "letmein")
    hint = page.locator(".strength")
    assert hint.inner_text() == "Styrka: svagt, ett vanligt lösenord."
    page.fill("input[name=password]", "Xk#9pL2!vQ7z")
    assert hint.get_attribute("data-strength") == "strong"
    assert hint.inner_text() == "Styrka: starkt, 12 tecken av 4 sorter."
