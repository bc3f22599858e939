"""`doorctl selftest --hardware rpi` as an installer runs it, on the stand-in chip
wired like the README's loopback harness."""

import os
import subprocess
import sys

import gpio_standin

from doorctl.hal.profile import DEFAULT_PROFILE

# The README's harness on the default pins: output GPIO -> input GPIO.
HARNESS = {17: 5, 25: 6, 12: 16, 20: 19, 22: 13, 18: 4, 21: 26}
FITTED = DEFAULT_PROFILE.replace("enabled = false\nspi_bus", "enabled = true\nspi_bus").replace(
    "enabled = false\nchip", "enabled = true\nchip"
)


def selftest(tmp_path, harness=HARNESS, ohms=(4700, 4700, 4700), **env):
    (tmp_path / "hardware.toml").write_text(FITTED, encoding="utf-8")
    environment = gpio_standin.environment(
        LGPIO_STANDIN_LOOPBACK=",".join(f"{out}:{into}" for out, into in harness.items()),
        SPIDEV_STANDIN_OHMS=",".join(f"{channel}:{o}" for channel, o in enumerate(ohms)),
        **env,
    )
    command = [sys.executable, "-m", "doorctl", "selftest", "--hardware", "rpi"]
    return subprocess.run(
        [*command, "--data-dir", str(tmp_path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def results(output: str) -> dict[str, set[str]]:
    """Terminal -> the results of its rows."""
    rows = {}
    for line in output.splitlines()[1:-1]:
        terminal = line.split()[0]
        rows.setdefault(terminal, set()).add(
            next(w for w in line.split() if w in ("PASS", "FAIL", "SKIP"))
        )
    return rows


def test_every_terminal_passes_on_a_complete_harness(tmp_path):
    run = selftest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = results(run.stdout)
    assert set(rows) >= {"relay", "door_monitor", "aux3", "aux4", "button", "wiegand_d0", "motion"}
    assert set(rows) >= {"status_led.green", "status_led.red", "aux3"}
    assert all(result == {"PASS"} for result in rows.values()), run.stdout
    assert run.stdout.splitlines()[-1] == f"{len(run.stdout.splitlines()) - 2} passed, 0 failed"


def test_a_broken_wire_a_held_pin_and_missing_parts_fail_only_their_terminals(tmp_path):
    broken = {out: into for out, into in HARNESS.items() if out != 25}
    run = selftest(
        tmp_path,
        harness=broken,
        ohms=(4700, 10000, 4700),
        LGPIO_STANDIN_GROUNDED="27",
        SMBUS2_STANDIN_ABSENT="1",
    )
    assert run.returncode == 1
    rows = results(run.stdout)
    failed = {name for name, result in rows.items() if "FAIL" in result}
    assert failed == {"reader_led_red", "rex", "button", "aux3", "motion"}, run.stdout
    assert (
        "expected 4700 ohm" in run.stdout
        and "no device answers" in run.stdout
        and "check the wire" in run.stdout
    )


def test_off_a_pi_it_says_what_it_needs(tmp_path):
    command = [sys.executable, "-m", "doorctl", "selftest", "--data-dir", str(tmp_path)]
    environment = {k: v for k, v in os.environ.items() if k != "RPI_LGPIO_REVISION"}
    run = subprocess.run(
        command, env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )  # in tmp_path: the real lgpio leaves its notification pipe in the working directory
    assert run.returncode == 2 and "needs a Raspberry Pi and doorctl[pi]" in run.stdout
    assert "Traceback" not in run.stderr


def test_the_real_lgpio_without_a_gpiochip_fails_one_line(tmp_path):
    """The installed lgpio itself (no stand-in): this machine has no /dev/gpiochip."""
    command = [sys.executable, "-m", "doorctl", "selftest", "--data-dir", str(tmp_path / "d")]
    environment = {**os.environ, "RPI_LGPIO_REVISION": gpio_standin.REVISION}
    run = subprocess.run(
        command, env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "can not open gpiochip (is the user in the group gpio?)" in run.stdout
    assert run.stdout.splitlines()[-1] == "0 passed, 1 failed"
