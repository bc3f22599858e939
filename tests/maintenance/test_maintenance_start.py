"""What happens around a start: the control button held through it (factory default),
a short press (nothing), a restart under a supervisor (exit 75) and the device's
restart through the reboot command."""

from __future__ import annotations

import sys

from firmware_support import Supervised
from support import ROOT_PASSWORD, start_served, start_set_up
from test_maintenance import call, maintenance_events, wait_restarted

from doorctl.core.maintenance.supervisor import without_sim_button

HOLD = ("--factory-default-hold", "1.5")


def test_the_button_held_through_a_start_resets_and_a_short_press_does_not(tmp_path):
    data_dir = tmp_path / "data"
    with start_set_up(data_dir) as server:
        server.call("POST", "/api/v1/cardholders", {"name": "Ann Berg"})
        server.stop()

    with start_served(data_dir, "--sim-button-held", "0.2", *HOLD) as server:
        assert [h["name"] for h in server.call("GET", "/api/v1/cardholders")["cardholders"]] == [
            "Ann Berg"
        ]
        server.stop()
    assert "released before" in server.stderr

    with start_served(data_dir, "--sim-button-held", "2.5", *HOLD) as server:
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        assert call(server, "POST", "/api/v1/setup", body, auth=None)[0] == 201
        assert server.call("GET", "/api/v1/cardholders")["cardholders"] == []
        assert server.call("GET", "/api/v1/sim/board")["leds"]["status"] == "green"
        (event,) = maintenance_events(server)
        assert event["topic"] == "tns1:Device/Maintenance/FactoryDefault"
        assert (event["source"], event["data"]["how"]) == ({}, "button")
        server.stop()
    lines = server.stderr.splitlines()
    held = [line.rsplit("status LED ", 1)[1] for line in lines if "status LED" in line]
    assert held == ["off", "amber", "off", "amber"]  # amber twice, then the reset


def test_under_a_supervisor_a_restart_exits_75(tmp_path):
    with start_served(tmp_path / "data", env={"DOORCTL_SUPERVISED": "1"}) as server:
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        server.call("POST", "/api/v1/setup", body, auth=None)
        assert call(server, "POST", "/api/v1/maintenance/restart", {})[0] == 202
        assert server.process.wait(30) == 75
        server.stop()
    assert "restarting" in server.stderr


def test_the_device_restarts_through_the_reboot_command(tmp_path):
    record = tmp_path / "rebooted"
    script = tmp_path / "reboot"
    script.write_text(
        f"#!{sys.executable}\nimport pathlib, sys\n"
        f"pathlib.Path({str(record)!r}).write_text(' '.join(sys.argv[1:]))\n"
    )
    script.chmod(0o755)
    with start_set_up(tmp_path / "data", "--reboot-command", f"{script} now") as server:
        assert call(server, "GET", "/api/v1/maintenance")[1]["device_restart"] is True
        assert call(server, "POST", "/api/v1/maintenance/restart", {"device": True})[0] == 202
        wait_restarted(server)
        assert record.read_text() == "now"
        (event,) = maintenance_events(server)
        assert event["data"]["device"] is True and event["data"]["actor"]["user"] == "root"
        server.stop()


def test_under_the_supervisor_a_simulated_hold_applies_to_the_first_start_only(tmp_path, test_key):
    """A restart is no new press of the button: the data stays."""
    held = {"DOORCTL_SIM_BUTTON_HELD": "2.5", "DOORCTL_FACTORY_DEFAULT_HOLD": "1.5"}
    server = Supervised(tmp_path / "data", env=held)
    try:
        server.set_up(test_key)
        assert server.call("POST", "/api/v1/cardholders", {"name": "Ann Berg"})[0] == 201
        assert server.call("POST", "/api/v1/maintenance/restart", {})[0] == 202
        server.next_start()
        assert server.cardholders() == ["Ann Berg"]
    finally:
        server.stop()
    assert "control button held through the start" in server.log.read_text()
    args = ["--port", "0", "--sim-button-held", "2", "--hardware", "sim", "--sim-button-held=3"]
    assert without_sim_button(args) == ["--port", "0", "--hardware", "sim"]
