"""Status (manual: "Status > Device info") and the page shell."""

from doorctl.core.device import serial_number


def test_device_api(viewer_api):
    device = viewer_api.get("/api/v1/device").json
    assert device["product"] == "doorctl"
    assert device["version"]
    assert device["hardware"] == "sim"
    assert device["uptime_seconds"] >= 0
    assert len(device["serial_number"]) == 16


def test_serial_number_prefers_the_pi_then_machine_id(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("Hardware\t: BCM2835\nSerial\t\t: 10000000abcdef01\nModel : Pi 4\n")
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("0123456789abcdef0123456789abcdef\n")
    missing = tmp_path / "missing"
    assert serial_number(cpuinfo, missing, machine_id) == "10000000ABCDEF01"
    cpuinfo.write_text("Serial\t\t: 0000000000000000\n")
    assert serial_number(cpuinfo, missing, machine_id) == "0123456789ABCDEF"


def test_status_page_shows_device_info(logged_in, doorctl):
    page = logged_in.get("/status").get_data(as_text=True)
    assert "Device info" in page
    assert doorctl.device.serial in page
    assert "Simulated board" in page


def test_htmx_request_gets_the_fragment_and_a_deep_link_the_whole_page(logged_in):
    fragment = logged_in.get("/status", headers={"HX-Request": "true", "HX-Target": "main"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    whole = logged_in.get("/status").get_data(as_text=True)
    assert whole.startswith("<!doctype html>")
    restore = logged_in.get(
        "/status",
        headers={"HX-Request": "true", "HX-Target": "main", "HX-History-Restore-Request": "true"},
    )
    boosted = logged_in.get("/status", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert boosted.get_data(as_text=True).startswith("<!doctype html>")
    assert restore.get_data(as_text=True).startswith("<!doctype html>")


def test_shell_has_menu_help_theme_and_user_menu(logged_in):
    page = logged_in.get("/status").get_data(as_text=True)
    for needle in (
        'id="menu-toggle"',
        'id="theme-toggle"',
        'href="/help"',
        'id="user-menu"',
        "Access control",
        'id="user-role">Administrator',
    ):
        assert needle in page
    # Maintenance is an administrator's (a viewer's menu leaves the heading out).
    assert "<h2>Maintenance</h2>" in page and 'href="/maintenance"' in page
    assert "<h2>Maintenance</h2>" in page and 'href="/maintenance/firmware"' in page


def test_unknown_page_and_api_path_answer_404_without_traceback(logged_in, admin_api):
    assert logged_in.get("/nowhere").status_code == 404
    missing = admin_api.get("/api/v1/nowhere")
    assert missing.status_code == 404
    assert set(missing.json) == {"error", "fields"}


def test_static_assets_are_served_locally(client):
    for path in (
        "/static/vendor/htmx.min.js",
        "/static/vendor/pico.classless.min.css",
        "/static/vendor/htmx.LICENSE",
        "/static/vendor/lucide-sprite.svg",
        "/static/vendor/lucide.LICENSE",
    ):
        with client.get(path) as response:
            assert response.status_code == 200


def test_doors_card_shows_each_state_once_as_a_chip(logged_in):
    page = logged_in.get("/status").get_data(as_text=True)
    card = page[page.index('id="door-summary"') : page.index('id="alarm-summary-card"')]
    for state, word in (("locked", "Locked"), ("closed", "Closed")):
        assert f'data-state="{state}"' in card
        assert f"<span>{word}</span>" in card
    # The mode says Locked; the lock's own state is not repeated beside it.
    assert card.count('data-state="locked"') == 1
    assert "lucide-sprite.svg#lock" in card
