"""The appliance in a network namespace of its own, given a new address while it runs.

Run by the tests as `unshare -rn python netns_device.py DATA_DIR` (a user and network
namespace: no root needed, the host's interfaces are never touched). It starts
`doorctl serve` there, reads the HTTPS certificate's addresses, adds a veth pair with
10.77.0.1, waits for the certificate served to name it, and prints one JSON line:
{"before": [...], "after": [...]}.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509

NEW_ADDRESS = "10.77.0.1"
REPO = Path(__file__).resolve().parents[2]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def served_addresses(port: int) -> list[str]:
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=5)
    cert = x509.load_pem_x509_certificate(pem.encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(str(a) for a in names.get_values_for_type(x509.IPAddress))


def main(data_dir: str) -> int:
    ip("link", "set", "lo", "up")
    command = [sys.executable, "-m", "doorctl", "serve", "--data-dir", data_dir]
    command += ["--host", "127.0.0.1", "--port", "0", "--https-port", "0", "--hardware", "sim"]
    command += ["--names-check-seconds", "0.3"]
    doorctl = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        port = int(re.search(r"https://127.0.0.1:(\d+)/", doorctl.stdout.readline()).group(1))
        before = served_addresses(port)
        ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ip("addr", "add", f"{NEW_ADDRESS}/24", "dev", "v0")
        ip("link", "set", "v0", "up")
        deadline = time.monotonic() + 10
        after = served_addresses(port)
        while NEW_ADDRESS not in after and time.monotonic() < deadline:
            time.sleep(0.2)
            after = served_addresses(port)
        print(json.dumps({"before": before, "after": after}), flush=True)
    finally:
        doorctl.terminate()
        doorctl.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
