"""`doorctl serve`: one gevent process that prints its URL and stops cleanly."""

import json
import signal
import subprocess
import sys
import urllib.request

from support import REPO, start_served


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


def test_serve_prints_its_url_serves_and_stops_on_sigterm(tmp_path):
    server = start_served(tmp_path / "data")
    assert server.url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(
        server.url + "/api/v1/setup",
        data=json.dumps({"password": "pw", "password_repeat": "pw"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request, timeout=5).status == 201  # noqa: S310
    assert (tmp_path / "data" / "doorctl.sqlite3").exists()
    assert server.stop(signal.SIGTERM) == 0
    assert "stopping" in server.stderr


def test_serve_stops_on_sigint(tmp_path):
    server = start_served(tmp_path / "data")
    assert server.stop(signal.SIGINT) == 0


def test_auto_hardware_says_which_it_picked(tmp_path):
    server = start_served(tmp_path / "data", "--hardware", "auto")
    server.stop()
    assert "hardware auto: picked sim" in server.stderr


def test_options_come_from_the_environment(tmp_path):
    env_dir = tmp_path / "from-env"
    process = subprocess.Popen(
        [sys.executable, "-m", "doorctl", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={
            "DOORCTL_DATA_DIR": str(env_dir),
            "DOORCTL_HOST": "127.0.0.1",
            "DOORCTL_PORT": "0",
            "DOORCTL_HARDWARE": "sim",
            "PATH": "/usr/bin:/bin",
        },
    )
    line = process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    assert "serving on http://127.0.0.1:" in line
    assert (env_dir / "doorctl.sqlite3").exists()


def test_bad_option_is_a_clear_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "doorctl", "serve", "--hardware", "arduino"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=20,
    )
    assert result.returncode == 2
    assert "invalid choice: 'arduino'" in result.stderr
    assert "Traceback" not in result.stderr
