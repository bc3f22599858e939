"""Help describes the pages that exist, section by section, each linked; the menu has
no empty heading."""

from __future__ import annotations

import re

from support import csrf_token, make_user


def links(html: str) -> set[str]:
    return set(re.findall(r'<dt><a href="([^"]+)">', html))


def menu_links(html: str) -> set[str]:
    menu = html[html.index('<nav id="menu"') : html.index("</nav>", html.index('<nav id="menu"'))]
    return set(re.findall(r'href="([^"]+)"', menu))


def test_help_links_every_page_of_the_menu_and_nothing_else(logged_in):
    html = logged_in.get("/help").get_data(as_text=True)
    assert links(html) == menu_links(html)
    for page in (
        "/status",
        "/doors",
        "/peripherals",
        "/io",
        "/logs/events",
        "/mqtt",
        "/maintenance",
    ):
        assert any(link.startswith(page) for link in links(html)), page
    for missing in ("planned",):
        assert missing not in html
    assert "Locked down refuses every action but Return" in html  # described, not listed
    for url in links(html):
        assert logged_in.get(url, follow_redirects=True).status_code == 200, url


def test_a_viewer_sees_help_for_the_pages_a_viewer_may_open(app, doorctl, root):
    username, password = make_user(doorctl, "viewer")
    client = app.test_client()
    form = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    client.post("/login", data=form)
    html = client.get("/help").get_data(as_text=True)
    assert "/doors" in links(html) and "/users" not in links(html)
    # No heading over an empty list: a viewer has no System or Accessories page.
    menu = html[html.index('<nav id="menu"') : html.index("</nav>")]
    assert "<h2>System</h2>" not in menu and "<h2>Accessories</h2>" not in menu
    assert "<h2>Maintenance</h2>" not in menu
