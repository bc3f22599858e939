"""The kiosk's login asked from loopback and from another address, for real.

Run by the tests as `unshare -rn python netns_kiosk.py DATA_DIR` (a user and network
namespace: no root needed, the host's interfaces are never touched). It gives the
namespace a second address (10.77.0.1 on a veth link), starts `doorctl serve` on all
addresses, turns the kiosk on, leaves a login token as `doorctl kiosk install` does, and
asks /kiosk/login over TCP from 127.0.0.1 and from 10.77.0.1 (a connection to a local
address comes from it), with and without the token and forwarded headers. It prints one
JSON line: {"name": [status, body], ...}.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ADDRESS = "10.77.0.1"
PASSWORD = "kiosk test root"
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from doorctl.core.system import kiosk_token  # noqa: E402

FORWARDED = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def ask(host: str, port: int, method: str, path: str, body=None, headers=None):
    """(status, body) of one request to host:port."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    data = json.dumps(body) if body is not None else None
    connection.request(method, path, data, headers or {})
    answer = connection.getresponse()
    text = answer.read().decode()
    connection.close()
    return [answer.status, text]


def main(data_dir: str) -> int:
    ip("link", "set", "lo", "up")
    ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    ip("addr", "add", f"{ADDRESS}/24", "dev", "v0")
    ip("link", "set", "v0", "up")
    command = [sys.executable, "-m", "doorctl", "serve", "--data-dir", data_dir]
    command += ["--host", "0.0.0.0", "--port", "0", "--https-port", "0", "--hardware", "sim"]
    doorctl = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        port = int(re.search(r"http://[^:]+:(\d+)/", doorctl.stdout.readline()).group(1))
        setup = {"password": PASSWORD, "password_repeat": PASSWORD}
        json_type = {"Content-Type": "application/json"}
        ask("127.0.0.1", port, "POST", "/api/v1/setup", setup, json_type)
        token = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
        admin = {**json_type, "Authorization": f"Basic {token}"}
        ask("127.0.0.1", port, "PUT", "/api/v1/kiosk", {"enabled": True}, admin)
        login = "/kiosk/login?token=" + quote(kiosk_token.issue(Path(data_dir)))
        seen = {
            "remote": ask(ADDRESS, port, "GET", login),
            "remote_forwarded": ask(ADDRESS, port, "GET", login, headers=FORWARDED),
            "local_no_token": ask("127.0.0.1", port, "GET", "/kiosk/login"),
            "local_wrong_token": ask("127.0.0.1", port, "GET", "/kiosk/login?token=guess"),
            "local": ask("127.0.0.1", port, "GET", login),
            "local_forwarded": ask(
                "127.0.0.1", port, "GET", login, headers={"X-Forwarded-For": "10.0.0.9"}
            ),
        }
        events = ask(
            "127.0.0.1", port, "GET", "/api/v1/events?topic=tns1:Device/User/", None, admin
        )
        seen["events"] = json.loads(events[1])["events"]
        print(json.dumps(seen), flush=True)
    finally:
        doorctl.terminate()
        doorctl.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
