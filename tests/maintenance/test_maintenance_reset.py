"""Restore and factory default on a real data directory (doorctl stopped, as `doorctl
serve` runs them): what goes back to new and what stays."""

from __future__ import annotations

import sqlite3

from doorctl.core.events import EventBus
from doorctl.core.maintenance import firmware as fw
from doorctl.core.maintenance import reset, restart
from doorctl.core.maintenance.kept import NETWORK_SECTIONS
from doorctl.core.maintenance.upgrade import Firmware
from doorctl.core.store import DB_NAME, Store


def sections(data_dir) -> set[str]:
    with sqlite3.connect(data_dir / DB_NAME) as conn:
        return {row[0] for row in conn.execute("SELECT section FROM settings")}


def stored(data_dir, tmp_sections: dict[str, str]) -> None:
    store = Store(data_dir)
    for section, data in tmp_sections.items():
        store.execute("INSERT INTO settings VALUES (?, ?)", (section, data))
    store.execute(
        "INSERT INTO users (username, password_hash, role, created) VALUES (?, ?, ?, 0)",
        ("ann", "x", "viewer"),
    )
    store.close()


def test_restore_keeps_the_network_settings_and_users(tmp_path):
    network = {section: "{}" for section in NETWORK_SECTIONS} | {"https": '{"http_port": 8080}'}
    stored(tmp_path, network | {"security": "{}", "access": "{}"})
    reset.restore(tmp_path)
    assert sections(tmp_path) == set(NETWORK_SECTIONS) >= {"https", "network_ip", "ieee8021x"}
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("SELECT username FROM users WHERE username = 'ann'").fetchone()


def test_factory_default_keeps_only_the_software_and_the_wiring(tmp_path):
    stored(tmp_path, {"https": "{}"})
    for kept in ("firmware/envs/2.0", "certificates", "mqtt"):
        (tmp_path / kept).mkdir(parents=True)
    (tmp_path / "hardware.toml").write_text("[relay]\npin = 17\n")
    (tmp_path / "certificates" / "device.key").write_text("secret")
    root = fw.default_dir(tmp_path)
    fw.copy_database(tmp_path, fw.db_copy(root, "1.0"))  # taken before an upgrade to 2.0
    previous = {"version": "1.0", "env": None, "db": "db/1.0.sqlite3"}
    fw.write_state(root, {"active": {"version": "2.0", "env": "envs/2.0"}, "previous": previous})
    reset.factory_default(tmp_path, reset.requested_by("root", "web"))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["firmware", "hardware.toml", reset.DONE_NAME])
    assert (tmp_path / "firmware" / "envs" / "2.0").is_dir()
    assert not list(root.glob("db/*"))  # the copy held the users and cardholders
    state = fw.state_of(root)
    assert state["active"]["env"] == "envs/2.0" and state["previous"]["db"] is None
    assert state["restore"] is None
    assert Firmware(root, tmp_path, EventBus(), lambda: None).status()["previous_version"] is None
    note = reset.take_done_note(tmp_path)
    assert (note["user"], note["how"]) == ("root", "web")
    assert reset.take_done_note(tmp_path) is None  # read once


def test_a_restart_serves_again_on_the_ports_it_had_only_where_any_was_asked(tmp_path):
    restart.remember_ports(tmp_path, {"http": 8123, "https": 8443})
    assert restart.ports_after_restart(tmp_path, 0, 9443) == (8123, 9443)
    assert restart.ports_after_restart(tmp_path, 0, 0) == (0, 0)  # the note is read once
