"""The MQTT status line in words: "Not configured" before a broker host is set."""

from __future__ import annotations


def test_status_line_before_and_after_a_host_is_set(logged_in, admin_api):
    line = logged_in.get("/mqtt/status").get_data(as_text=True)
    assert "Not configured" in line and "tcp://:" not in line
    assert 'data-state="not_configured"' in line
    admin_api.patch("/api/v1/mqtt/client", json={"host": "127.0.0.1", "port": 9})
    line = logged_in.get("/mqtt/status").get_data(as_text=True)
    assert "Not configured" not in line and "tcp://127.0.0.1:9" in line
