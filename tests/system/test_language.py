"""Language: pages come in the browser's preferred language among those doorctl has."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("sv-SE,de;q=0.5", "sv"),  # the first choice wins, though only its region differs
        ("fr,de-AT;q=0.8", "de"),  # a language we lack is passed over
        ("fr", "en"),
        ("", "en"),
    ],
)
def test_page_language_follows_the_browser(client, accept, expected):
    page = client.get("/setup", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert re.search(r'<html lang="([a-z]+)"', page).group(1) == expected
