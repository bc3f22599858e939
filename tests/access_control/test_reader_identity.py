"""What the Peripherals page and the API say of a reader: its vendor's OUI, its capabilities."""

from __future__ import annotations

import pytest
from support_osdp import wait_until

pytestmark = pytest.mark.peer


def test_vendor_oui_and_capabilities_by_their_names(admin_api, logged_in, line, spawn):
    spawn({"address": 1, "secure": False, "vendor": 0x00CAFE})
    admin_api.post("/api/v1/readers", {"id": "front", "port": line.path, "address": 1})
    found = wait_until(
        lambda: (r := admin_api.get("/api/v1/readers/front").json)["online"] and r,
        what="reader online",
    )
    assert found["vendor"] == "00cafe"
    version = found["capabilities"]["osdp_version"]
    assert (version["function"], version["name"]) == (16, "OSDP version")
    html = logged_in.get("/peripherals/readers").get_data(as_text=True)
    assert '<abbr title="IEEE OUI">00-CA-FE</abbr>' in html
    assert "OSDP version: " in html and "function 16" not in html
    assert "Reader LED control: on and off only, 1 LED per reader" in html
    assert "Check character support: CRC-16" in html
