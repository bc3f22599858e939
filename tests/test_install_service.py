"""`doorctl install-service` and `uninstall-service`: the unit systemd itself checks
(`systemd-analyze verify`, `security --offline=true`), and the steps carried out into a
root folder laid out as a Raspberry Pi OS system, with stand-ins for the commands.

The stand-ins (chroot, useradd, usermod, userdel, install, systemctl) only record their
arguments: a test never changes this machine's users or services, even as root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support import missing, require

DOORCTL = str(Path(sys.prefix).resolve() / "bin" / "doorctl")
STAND_INS = ("chroot", "useradd", "usermod", "userdel", "install", "systemctl")
PI_GROUPS = ("root", "dialout", "gpio", "spi", "i2c", "_chrony", "netdev", "pi")
STAND_IN = """#!{python}
import json, os, sys
with open(os.environ["STAND_IN_RECORD"], "a") as record:
    record.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
"""


@pytest.fixture
def pi(tmp_path) -> Path:
    """A root folder with Raspberry Pi OS's users and groups (pi's, no doorctl yet)."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\npi:x:1000:1000::/home/pi:\n")
    (root / "etc/group").write_text("".join(f"{g}:x:{n}:\n" for n, g in enumerate(PI_GROUPS)))
    return root


@pytest.fixture
def stand_ins(tmp_path) -> dict:
    """An environment whose PATH finds the recording stand-ins first."""
    folder = tmp_path / "stand-ins"
    folder.mkdir()
    for name in STAND_INS:
        script = folder / name
        script.write_text(STAND_IN.format(python=sys.executable))
        script.chmod(0o755)
    record = tmp_path / "commands.jsonl"
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}", "STAND_IN_RECORD": str(record)}


def doorctl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DOORCTL, *args], capture_output=True, text=True, env=env or os.environ, timeout=60
    )


def recorded(env: dict) -> list[list[str]]:
    path = Path(env["STAND_IN_RECORD"])
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return [json.loads(line) for line in lines]


def test_the_unit_verifies_clean_and_its_exposure_is_at_most_3(tmp_path):
    analyze = require("systemd-analyze", "systemd-analyze (package systemd)")
    printed = doorctl("install-service", "--print")
    assert printed.returncode == 0, printed.stderr
    unit = tmp_path / "doorctl.service"
    unit.write_text(printed.stdout)
    text = printed.stdout
    assert f"ExecStart={DOORCTL} supervise --data-dir /var/lib/doorctl --port 80" in text
    assert f"ExecStopPost={DOORCTL} reset-outputs --data-dir /var/lib/doorctl" in text
    for line in (
        "Type=notify",
        "NotifyAccess=all",
        "WatchdogSec=30",
        "User=doorctl",
        "StateDirectory=doorctl",
        "StateDirectoryMode=0700",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/doorctl -/etc/chrony/doorctl -/run/chrony",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET",
        "SystemCallFilter=@system-service",
    ):
        assert f"\n{line}\n" in text, line
    documentation = re.search(r"^Documentation=file://(\S+)$", text, re.M)
    assert documentation and Path(documentation.group(1)).is_file()

    verify = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert (verify.returncode, verify.stdout, verify.stderr) == (0, "", "")
    security = subprocess.run(
        [analyze, "security", "--offline=true", str(unit)], capture_output=True, text=True
    )
    found = re.search(r"Overall exposure level for doorctl\.service: ([\d.]+)", security.stdout)
    assert found, security.stdout + security.stderr
    assert float(found.group(1)) <= 3.0, security.stdout


def test_install_writes_the_unit_polkit_and_chrony_files_and_runs_the_pi_commands(pi, stand_ins):
    done = doorctl("install-service", "--root", str(pi), env=stand_ins)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # every device group is there: nothing to say
    unit = pi / "etc/systemd/system/doorctl.service"
    assert unit.read_text() == doorctl("install-service", "--print").stdout
    rules = (pi / "etc/polkit-1/rules.d/50-doorctl.rules").read_text()
    assert 'subject.user === "doorctl"' in rules
    for action in ("NetworkManager.checkpoint-rollback", "timedate1.set-timezone", "login1.reboot"):
        assert f'"org.freedesktop.{action}"' in rules
    chrony = (pi / "etc/chrony/conf.d/doorctl.conf").read_text()
    assert "\nsourcedir /etc/chrony/doorctl\n" in chrony and "\nmanual\n" in chrony
    for path in (unit, pi / "etc/polkit-1/rules.d/50-doorctl.rules"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    root = str(pi)
    assert recorded(stand_ins) == [
        ["chroot", root, "useradd", "--system", "--user-group", "--no-create-home"]
        + ["--home-dir", "/var/lib/doorctl", "--shell", "/usr/sbin/nologin"]
        + ["--groups", "gpio,dialout,spi,i2c,_chrony", "doorctl"],
        ["chroot", root, "install", "-d", "-o", "doorctl", "-g", "_chrony", "-m", "2750"]
        + ["/etc/chrony/doorctl"],
        ["chroot", root, "systemctl", "try-restart", "chrony.service"],
        ["chroot", root, "systemctl", "daemon-reload"],
        ["chroot", root, "systemctl", "enable", "doorctl.service"],
        ["chroot", root, "systemctl", "restart", "doorctl.service"],
    ]


def test_dry_run_prints_the_commands_a_pi_runs_and_changes_nothing(pi, stand_ins):
    (pi / "etc/passwd").write_text((pi / "etc/passwd").read_text() + "doorctl:x:999:999::/:\n")
    done = doorctl(
        "install-service", "--dry-run", "--root", str(pi), "--port", "8080", env=stand_ins
    )
    assert done.returncode == 0, done.stderr
    commands = [
        line for line in done.stdout.splitlines() if line and not line.startswith(("#", " "))
    ]
    assert "usermod --append --groups gpio,dialout,spi,i2c,_chrony doorctl" in commands
    assert "systemctl enable doorctl.service" in commands
    assert "# write /etc/systemd/system/doorctl.service (mode 0644)" in done.stdout
    assert "--port 8080 --https-port 443" in done.stdout
    assert recorded(stand_ins) == []
    assert sorted(p.name for p in pi.iterdir()) == ["etc"]
    assert sorted(p.name for p in (pi / "etc").iterdir()) == ["group", "passwd"]


def test_a_system_without_the_pi_groups_is_told_which_are_missing(pi, stand_ins):
    (pi / "etc/group").write_text("root:x:0:\ndialout:x:20:\n")
    done = doorctl("install-service", "--dry-run", "--root", str(pi), env=stand_ins)
    assert done.returncode == 0
    assert "--groups dialout doorctl" in done.stdout
    assert "/etc/chrony/conf.d/doorctl.conf" not in done.stdout  # no chrony: no snippet
    assert "install -d" not in done.stdout
    assert "no group gpio, spi, i2c, _chrony" in done.stderr


def test_uninstall_removes_what_install_wrote_and_keeps_the_data_unless_purged(pi, stand_ins):
    assert doorctl("install-service", "--root", str(pi), env=stand_ins).returncode == 0
    recorded(stand_ins)
    # what the recorded useradd and install would have made on a Pi
    add_user(pi, "doorctl:x:999:999::/var/lib/doorctl:/usr/sbin/nologin")
    (pi / "etc/chrony/doorctl").mkdir(parents=True)
    (pi / "etc/chrony/doorctl/doorctl.sources").write_text("server ntp.example\n")
    data = pi / "var/lib/doorctl"
    data.mkdir(parents=True)
    (data / "doorctl.sqlite3").write_text("")

    done = doorctl("uninstall-service", "--root", str(pi), env=stand_ins)
    assert done.returncode == 0, done.stderr
    for gone in (
        "etc/systemd/system/doorctl.service",
        "etc/polkit-1/rules.d/50-doorctl.rules",
        "etc/chrony/conf.d/doorctl.conf",
        "etc/chrony/doorctl",
    ):
        assert not (pi / gone).exists(), gone
    assert (data / "doorctl.sqlite3").exists()
    root = str(pi)
    assert recorded(stand_ins) == [
        ["chroot", root, "systemctl", "disable", "--now", "doorctl.service"],
        ["chroot", root, "systemctl", "try-restart", "chrony.service"],
        ["chroot", root, "systemctl", "daemon-reload"],
    ]
    done = doorctl("uninstall-service", "--purge", "--root", str(pi), env=stand_ins)
    assert done.returncode == 0, done.stderr
    assert not data.exists()
    assert recorded(stand_ins) == [
        ["chroot", root, "systemctl", "daemon-reload"],
        ["chroot", root, "userdel", "doorctl"],
    ]


def add_user(root: Path, line: str) -> None:
    (root / "etc/passwd").write_text((root / "etc/passwd").read_text() + line + "\n")


@pytest.mark.parametrize(
    "line",
    [
        "pi:x:1000:1000::/home/pi:/bin/bash",
        "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
        "messagebus:x:100:107::/nonexistent:/usr/sbin/nologin",
        "doorctl:x:998:998::/home/doorctl:/bin/bash",  # a person who took the name
    ],
)
def test_purge_deletes_only_the_account_install_made(pi, stand_ins, line):
    """A system uid is not enough: www-data or messagebus are other programs' users."""
    add_user(pi, line)
    user = line.split(":", 1)[0]
    args = ("uninstall-service", "--purge", "--user", user, "--root", str(pi))
    done = doorctl(*args, env=stand_ins)
    assert done.returncode == 0, done.stderr
    assert ["chroot", str(pi), "userdel", user] not in recorded(stand_ins)


@pytest.mark.parametrize(
    ("folder", "files", "says"),
    [
        ("dpkg", {"status": "Package: dpkg\n"}, "holds no doorctl database (doorctl.sqlite3)"),
        ("empty", {}, "holds no doorctl database"),
        ("postgresql", {"doorctl.sqlite3": ""}, "belongs to the package postgresql-common"),
    ],
)
def test_purge_removes_only_a_data_directory_that_is_doorctls(pi, stand_ins, folder, files, says):
    """--data-dir /var/lib/dpkg --purge must not wipe dpkg's state (or any package's)."""
    data = pi / "var/lib" / folder
    data.mkdir(parents=True)
    for name, text in files.items():
        (data / name).write_text(text)
    info = pi / "var/lib/dpkg/info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "postgresql-common.list").write_text("/.\n/var\n/var/lib\n/var/lib/postgresql\n")
    (pi / "etc/systemd/system").mkdir(parents=True)
    (pi / "etc/systemd/system/doorctl.service").write_text("# doorctl install-service\n")
    done = doorctl(
        "uninstall-service",
        "--purge",
        "--data-dir",
        f"/var/lib/{folder}",
        "--root",
        str(pi),
        env=stand_ins,
    )
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert all((data / name).read_text() == text for name, text in files.items())
    assert recorded(stand_ins) == [] and (pi / "etc/systemd/system/doorctl.service").exists()


def test_uninstall_keeps_a_chrony_snippet_it_did_not_write(pi, stand_ins):
    mine = pi / "etc/chrony/conf.d/doorctl.conf"
    mine.parent.mkdir(parents=True)
    mine.write_text("manual\n")  # as the README once said to write by hand
    assert doorctl("uninstall-service", "--root", str(pi), env=stand_ins).returncode == 0
    assert mine.read_text() == "manual\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--data-dir", "/srv/doorctl"],
            "--data-dir /srv/doorctl: choose a folder under /var/lib/",
        ),
        (["--port", "0"], "--port 0: enter a port from 1 to 65535"),
        (["--user", "root"], "--user root: the service runs as its own system user"),
        (["--user=-oroot"], "--user '-oroot': enter a system user name"),
        (["--user", 'x" || true || "'], "enter a system user name of up to 32"),
        (["--user", "Door Ctl"], "enter a system user name"),
        (["--user", "a" * 33], "enter a system user name"),
    ],
)
def test_refusals_say_why_and_change_nothing(pi, stand_ins, args, says):
    done = doorctl("install-service", "--root", str(pi), *args, env=stand_ins)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
    assert recorded(stand_ins) == [] and not (pi / "etc/systemd").exists()


def test_without_sudo_install_changes_nothing_and_says_so(tmp_path, stand_ins):
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        missing("needs root and setpriv to run the command as another user")
    command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", DOORCTL]
    done = subprocess.run(
        [*command, "install-service"], capture_output=True, text=True, env=stand_ins, timeout=60
    )
    assert done.returncode == 2
    assert "install-service changes the system: run it with sudo" in done.stderr
    assert recorded(stand_ins) == []


POLKIT_STAND_IN = """
const polkit = {Result: {YES: "yes", NOT_HANDLED: "not handled"}, rules: [],
                addRule(rule) { this.rules.push(rule); }};
%s
const asks = JSON.parse(process.argv[2]);
console.log(JSON.stringify(asks.map(([user, id]) => polkit.rules[0]({id}, {user}))));
"""


def test_the_polkit_rule_grants_the_engines_declared_actions_to_the_service_user_only(tmp_path):
    """The rule's actions are ones NetworkManager, timedated and logind declare (their
    .policy files here); node evaluates the rule as polkit's JavaScript engine would."""
    from doorctl.service.unit import POLKIT_ACTIONS, Options, render_polkit

    node = require("node", "node (package nodejs)")
    declared = "".join(p.read_text() for p in Path("/usr/share/polkit-1/actions").glob("*.policy"))
    for action in POLKIT_ACTIONS:
        assert f'<action id="{action}">' in declared, action
    script = tmp_path / "rule.js"
    script.write_text(POLKIT_STAND_IN % render_polkit(Options(doorctl=Path(DOORCTL))))
    asks = [["doorctl", a] for a in POLKIT_ACTIONS]
    asks += [["pi", POLKIT_ACTIONS[0]], ["doorctl", "org.freedesktop.login1.power-off"]]
    answers = subprocess.run(
        [node, str(script), json.dumps(asks)], capture_output=True, text=True, check=True
    )
    assert json.loads(answers.stdout) == ["yes"] * len(POLKIT_ACTIONS) + ["not handled"] * 2


@pytest.mark.parametrize("system_site", [True, False])
def test_an_upgrade_sees_the_os_packages_where_the_base_install_does(tmp_path, system_site):
    """The README's venv sees Raspberry Pi OS's spidev (no bundle carries it):
    a firmware upgrade's new environment must see them too, or it fails on the board."""
    from doorctl.core.maintenance.upgrade import system_site_packages

    base = tmp_path / "base"
    option = ["--system-site-packages"] if system_site else []
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", *option, str(base)], check=True)
    python = str(base / "bin" / "python")
    new = tmp_path / "new"
    made = [python, "-m", "venv", "--without-pip", *system_site_packages(python), str(new)]
    subprocess.run(made, check=True)
    # the OS's folder is the one past the environment's own site-packages
    count = (
        "import sys; print(sum(p.endswith(('site-packages', 'dist-packages')) for p in sys.path))"
    )
    sees = subprocess.run(
        [new / "bin" / "python", "-c", count], capture_output=True, text=True, check=True
    )
    assert int(sees.stdout) > 1 if system_site else int(sees.stdout) == 1


def test_an_environment_under_home_is_refused_with_the_way_out():
    """ProtectHome= hides /home from the service: a checkout's .venv there could not run."""
    from doorctl.service.unit import Options, ServiceRefused, check

    with pytest.raises(ServiceRefused) as refused:
        check(Options(doorctl=Path("/home/pi/doorctl/.venv/bin/doorctl")))
    assert "sudo python3 -m venv /opt/doorctl/venv" in str(refused.value)


CAPABILITIES_CHILD = """
import json, subprocess, sys
from doorctl.core.logs import network_trace

network_trace.keep_net_raw_for_tcpdump()  # what doorctl serve does first


def caps(**options):
    status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True, **options)
    sets = dict(line.split(":\\t") for line in status.stdout.splitlines() if ":\\t" in line)
    return {name: [bit for bit in (10, 13) if int(sets[name], 16) >> bit & 1]
            for name in ("CapEff", "CapAmb")}


dump = subprocess.Popen(
    [sys.argv[1], "-i", "lo", "-p", "-n", "-w", "/dev/null"],
    stderr=subprocess.PIPE, text=True, preexec_fn=network_trace._die_with_doorctl,
)
heard = dump.stderr.readline()
dump.kill()
print(json.dumps([caps(), caps(preexec_fn=network_trace._die_with_doorctl), heard]))
"""


def test_only_tcpdump_gets_the_units_cap_net_raw():
    """The unit's ambient CAP_NET_RAW is for the network trace's tcpdump: the other
    programs doorctl runs (snmpd and its pass_persist, chronyc, nmcli) start without
    it, and keep CAP_NET_BIND_SERVICE (snmpd's port 161)."""
    tcpdump = require("tcpdump", "tcpdump (package tcpdump)")
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        missing("needs root and setpriv to give a user the unit's ambient capabilities")
    caps = "+net_bind_service,+net_raw"  # AmbientCapabilities= of the unit
    user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    user += [f"--inh-caps={caps}", f"--ambient-caps={caps}"]
    done = subprocess.run(
        [*user, sys.executable, "-c", CAPABILITIES_CHILD, tcpdump],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    other, dump, heard = json.loads(done.stdout)
    assert other == {"CapEff": [10], "CapAmb": [10]}  # bind, no raw
    assert dump == {"CapEff": [10, 13], "CapAmb": [10, 13]}
    assert heard.startswith("tcpdump: listening on lo"), heard
