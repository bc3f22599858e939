"""The real NetworkManager in a network namespace of its own, on a private D-Bus.

The namespace holds a veth pair: NetworkManager manages the device end (`vdoor`) and
leaves everything else alone; the peer end (`vpeer`, 10.9.0.1/24) is the LAN. Its
own mount namespace gives NetworkManager a fresh /run (with the udev record that
says the device is ready: no udev runs for a namespace) and a state directory in the
test's folder; `dns=none`, `rc-manager=unmanaged` and `hostname-mode=none` keep it
off the host's resolv.conf and hostname. The host's network is never touched, and
the namespace goes at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from support import missing, require

DEVICE = "vdoor"
PEER = "vpeer"
PEER_ADDRESS = "10.9.0.1"
FIRST_ADDRESS = "10.9.0.2"
CONNECTION = "door"
BUS_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_type="method_call"/>
    <allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""
NM_CONFIG = """[main]
plugins=keyfile
dns=none
rc-manager=unmanaged
hostname-mode=none
auth-polkit=false
no-auto-default=*
[keyfile]
path={connections}
unmanaged-devices=except:interface-name:{device}
"""
# A fresh /run with udev's record of the device (NetworkManager waits for it), the
# state directory in the test's folder, then NetworkManager itself (exec keeps the pid).
START = (
    "mount -t tmpfs tmpfs /run && mkdir -p /run/udev/data && touch /run/udev/control && "
    "printf 'I:1\\n' > /run/udev/data/n$(cat /sys/class/net/{device}/ifindex) && "
    "mount --bind {state} /var/lib/NetworkManager && "
    "exec NetworkManager --no-daemon --config {config}"
)


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


class NamespacedNetworkManager:
    """NetworkManager in namespace `name`, on the bus at `bus_address`."""

    def __init__(self, folder: Path):
        for program, what in (("NetworkManager", "NetworkManager"), ("dbus-daemon", "D-Bus")):
            require(program, what)
        require("nmcli", "nmcli (network-manager)")
        require("gdbus", "gdbus (libglib2.0-bin)")
        if os.geteuid() != 0:
            missing("NetworkManager in a network namespace needs root (ip netns, mounts)")
        self.folder = folder
        self.name = f"doorctl-nm-{os.getpid()}"
        self.socket = folder / "bus"
        self.bus_address = f"unix:path={self.socket}"
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> NamespacedNetworkManager:
        try:
            self._namespace()
            self._bus()
            self._network_manager()
            self._first_connection()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _namespace(self) -> None:
        ip("netns", "add", self.name)
        ip("-n", self.name, "link", "set", "lo", "up")
        ip("-n", self.name, "link", "add", DEVICE, "type", "veth", "peer", "name", PEER)
        ip("-n", self.name, "addr", "add", f"{PEER_ADDRESS}/24", "dev", PEER)
        ip("-n", self.name, "link", "set", PEER, "up")

    def _bus(self) -> None:
        config = self.folder / "bus.conf"
        config.write_text(BUS_POLICY.format(socket=self.socket))
        command = ["dbus-daemon", "--nofork", f"--config-file={config}", "--print-address=1"]
        bus = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.processes.append(bus)
        assert bus.stdout.readline().strip(), "the private bus did not start"

    def _network_manager(self) -> None:
        state, connections = self.folder / "state", self.folder / "connections"
        state.mkdir()
        connections.mkdir()
        config = self.folder / "nm.conf"
        config.write_text(NM_CONFIG.format(connections=connections, device=DEVICE))
        script = START.format(device=DEVICE, state=state, config=config)
        command = ["ip", "netns", "exec", self.name, "unshare", "-m", "sh", "-c", script]
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.bus_address}
        with (self.folder / "nm.log").open("w") as log:
            self.processes.append(subprocess.Popen(command, stdout=log, stderr=log, env=env))
        self.wait(lambda: self.nmcli("-t", "-f", "RUNNING", "general").strip() == "running")

    def _first_connection(self) -> None:
        """The connection doorctl changes: a static address, as an installer left it."""
        self.nmcli(
            "connection",
            "add",
            "type",
            "ethernet",
            "con-name",
            CONNECTION,
            "ifname",
            DEVICE,
            "ipv4.method",
            "manual",
            "ipv4.addresses",
            f"{FIRST_ADDRESS}/24",
            "ipv6.method",
            "disabled",
        )
        self.wait(lambda: FIRST_ADDRESS in self.addresses())

    def nmcli(self, *args: str) -> str:
        """nmcli's answer on this NetworkManager's bus (empty when it fails)."""
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.bus_address}
        done = subprocess.run(["nmcli", *args], capture_output=True, text=True, env=env)
        return done.stdout if done.returncode == 0 else ""

    def addresses(self) -> list[str]:
        """The IPv4 addresses on the device, as the kernel has them."""
        text = ip("-n", self.name, "-4", "-o", "addr", "show", "dev", DEVICE)
        return [line.split()[3].split("/")[0] for line in text.splitlines()]

    def wait(self, condition, timeout: float = 20) -> None:
        """Wait for `condition()`; fail naming NetworkManager's last words."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                log = (self.folder / "nm.log").read_text()[-2000:]
                raise AssertionError(f"NetworkManager did not get there; its log:\n{log}")
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.folder / "state", ignore_errors=True)
