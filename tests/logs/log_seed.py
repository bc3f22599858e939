"""A served appliance with a history: named cardholders with cards, a rule, a named door,
and a few hundred events from card swipes, door actions and the simulated door.

Driven through the REST API with a logged-in browser's session (its cookie and CSRF
token), so no call pays for a password hash.
"""

from __future__ import annotations

import json

FIRST = ("Ann", "Bo", "Cecilia", "David", "Eva", "Filip", "Greta", "Hugo", "Ida", "Johan")
LAST = ("Berg", "Lind", "Nyström", "Åkesson", "Holm", "Sjöberg")
FACILITY = 12
FIRST_CARD = 100


def names(count: int = 60) -> list[str]:
    """Cardholder names, first names with family names, none twice."""
    return [f"{FIRST[n % len(FIRST)]} {LAST[n // len(FIRST) % len(LAST)]}" for n in range(count)]


class Seeder:
    """REST calls in the session of a logged-in browser page."""

    def __init__(self, page, url: str):
        self.page, self.url = page, url
        self.headers = json.loads(page.get_attribute("body", "hx-headers"))

    def call(self, method: str, path: str, body=None):
        answer = self.page.request.fetch(
            self.url + path, method=method, data=body, headers=self.headers
        )
        assert answer.ok, f"{method} {path}: {answer.status} {answer.text()}"
        return answer.json() if answer.text() else None


def seed(page, url: str, cardholders: int = 60, swipes: int = 120) -> list[str]:
    """Fill the appliance behind `page` (logged in as root); the cardholders' names."""
    api = Seeder(page, url)
    api.call("PATCH", "/api/v1/doors/1/settings", {"name": "Front door", "access_time": 1})
    people = names(cardholders)
    ids = []
    for number, name in enumerate(people):
        holder = api.call("POST", "/api/v1/cardholders", {"name": name})
        card = {"format": "H10301", "facility": FACILITY, "number": FIRST_CARD + number}
        api.call("POST", "/api/v1/credentials", {"cardholder_id": holder["id"], "card": card})
        ids.append(holder["id"])
    api.call("POST", "/api/v1/access-rules", {"name": "Staff", "cardholder_ids": ids[:-5]})
    for swipe in range(swipes):
        card = FIRST_CARD + (swipe * 7) % (cardholders + 8)  # some unknown, some without a rule
        api.call(
            "POST", "/api/v1/sim/wiegand", {"format": "H10301", "facility": FACILITY, "card": card}
        )
        if swipe % 20 == 0:
            api.call("POST", "/api/v1/sim/door", {"position": "open"})
            api.call("POST", "/api/v1/sim/door", {"position": "closed"})
        if swipe % 40 == 0:
            api.call("POST", "/api/v1/doors/1/unlock")
            api.call("POST", "/api/v1/doors/1/release")
    return people
