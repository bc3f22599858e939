"""The hardware profile: defaults written on first start, clear errors naming the key."""

import os
import stat

import pytest

import doorctl.hal as hal
from doorctl.hal.profile import (
    DEFAULT_PROFILE,
    PROFILE_NAME,
    ProfileError,
    default_profile,
    load_profile,
    parse_profile,
)


def _edit(old: str, new: str) -> str:
    assert old in DEFAULT_PROFILE
    return DEFAULT_PROFILE.replace(old, new, 1)


def test_defaults_written_on_first_start_with_mode_0644(tmp_path):
    data_dir = tmp_path / "data"
    old_umask = os.umask(0o077)  # a strict umask must not hide the file from the installer
    try:
        profile = load_profile(data_dir)
    finally:
        os.umask(old_umask)
    path = data_dir / PROFILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text() == DEFAULT_PROFILE
    assert profile == default_profile()


def test_existing_file_is_read_not_overwritten(tmp_path):
    (tmp_path / PROFILE_NAME).write_text(
        _edit("pin = 17", "pin = 5\n# moved").replace("door_monitor = 5", "door_monitor = 17", 1)
    )
    assert load_profile(tmp_path).relay_pin == 5
    assert "# moved" in (tmp_path / PROFILE_NAME).read_text()


def test_default_values():
    profile = default_profile()
    assert profile.relay_pin == 17 and profile.lock_wiring == "NO"
    assert profile.input_pins["door_monitor"] == 5 and profile.input_pins["rex"] == 6
    assert profile.reader_protocol == "wiegand"
    assert (profile.wiegand_d0, profile.wiegand_d1) == (23, 24)
    assert profile.aux_directions == {"aux3": "input", "aux4": "input"}
    assert profile.adc is None


@pytest.mark.parametrize(
    "old, new, key",
    [
        ("pin = 17", "pin = 40", "relay.pin"),
        ("rex = 6", "rex = 1", "door.rex"),
        ("rex = 6", 'rex = "six"', "door.rex"),
        ("rex = 6", "rex = true", "door.rex"),
        ('lock_wiring = "NO"', 'lock_wiring = "COM"', "relay.lock_wiring"),
        ('protocol = "wiegand"', 'protocol = "rs232"', "reader.protocol"),
        ('format37 = "H10304"', 'format37 = "H10301"', "reader.format37"),
        ("d1 = 24", "d1 = 23", "reader.d1"),
        ("alarm = 13", "alarm = 17", "external.alarm"),
        ('direction = "input"', 'direction = "both"', "aux3.direction"),
        ("frame_gap = 0.025", "frame_gap = 0", "reader.frame_gap"),
        ("tamper = 16", "", "reader.tamper"),
    ],
)
def test_invalid_profile_names_the_key(old, new, key):
    with pytest.raises(ProfileError, match=rf"hardware.toml: {key}:"):
        parse_profile(_edit(old, new))


def test_spi_pins_are_reserved_when_supervision_is_on():
    text = _edit("enabled = false", "enabled = true").replace("led_green = 12", "led_green = 9")
    with pytest.raises(
        ProfileError, match="reader.led_green: GPIO 9 is already used by supervised"
    ):
        parse_profile(text)


def test_supervised_adc_settings():
    profile = parse_profile(_edit("enabled = false", "enabled = true"))
    assert profile.adc.channels == {"door_monitor": 0, "aux3": 1, "aux4": 2}
    assert (profile.adc.vref, profile.adc.pullup_ohms) == (3.3, 10000.0)
    with pytest.raises(ProfileError, match="supervised.aux4: 9 is not an MCP3008 channel"):
        parse_profile(_edit("enabled = false", "enabled = true").replace("aux4 = 2", "aux4 = 9"))


def test_osdp_frees_the_wiegand_data_pins():
    text = _edit('protocol = "wiegand"', 'protocol = "osdp"').replace(
        "# de_pin = 18", "de_pin = 23"
    )
    profile = parse_profile(text)
    assert profile.reader_protocol == "osdp" and profile.de_pin == 23
    assert profile.serial_device == "/dev/ttyAMA0"


def test_broken_toml_is_a_profile_error():
    with pytest.raises(ProfileError, match="not valid TOML"):
        parse_profile("[relay\npin = 17")


def test_sim_board_takes_the_profile_directions_and_lock_wiring():
    text = _edit('direction = "input"', 'direction = "output"')
    text = text.replace('lock_wiring = "NO"', 'lock_wiring = "NC"')
    board = hal.open_board("sim", parse_profile(text))
    assert "aux3" in board.outputs and board.relay.lock_wiring == "NC"
    board.close()
