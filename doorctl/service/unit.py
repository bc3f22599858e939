"""The systemd unit, the polkit rule and chrony's snippet, rendered from this package's
templates with the path of the virtual environment doorctl runs from."""

from __future__ import annotations

import importlib.metadata
import re
import string
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from doorctl import __version__

UNIT_PATH = "/etc/systemd/system/doorctl.service"
POLKIT_PATH = "/etc/polkit-1/rules.d/50-doorctl.rules"
CHRONY_CONF_PATH = "/etc/chrony/conf.d/doorctl.conf"
STATE_ROOT = PurePosixPath("/var/lib")
# Who owns the devices on Raspberry Pi OS: /dev/gpiomem and /sys/class/gpio, serial
# ports, /dev/spidev*, /dev/i2c-*; and chronyd's command socket /run/chrony/chronyd.sock.
GROUPS = ("gpio", "dialout", "spi", "i2c", "_chrony")
# A user name useradd takes and the unit, polkit's rule (a JavaScript string) and
# useradd's arguments carry as they are: no quote, no space, no leading '-'.
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# polkit actions doorctl's user may take: NetworkManager's connection, checkpoint and
# hostname (nmcli, gdbus), timedated's time zone (timedatectl), logind's reboot.
POLKIT_ACTIONS = (
    "org.freedesktop.NetworkManager.network-control",
    "org.freedesktop.NetworkManager.settings.modify.system",
    "org.freedesktop.NetworkManager.settings.modify.hostname",
    "org.freedesktop.NetworkManager.checkpoint-rollback",
    "org.freedesktop.timedate1.set-timezone",
    "org.freedesktop.login1.reboot",
    "org.freedesktop.login1.reboot-multiple-sessions",
)


class ServiceRefused(Exception):
    """The service can't be installed as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Options:
    """What `doorctl install-service` was asked for."""

    doorctl: PurePosixPath
    data_dir: PurePosixPath = STATE_ROOT / "doorctl"
    port: int = 80
    https_port: int = 443
    user: str = "doorctl"
    watchdog_seconds: int = 30
    chrony_dir: PurePosixPath = PurePosixPath("/etc/chrony/doorctl")

    @property
    def chrony_sources(self) -> PurePosixPath:
        return self.chrony_dir / "doorctl.sources"


def own_doorctl() -> PurePosixPath:
    """The `doorctl` of the environment running now, by its real folder: the unit runs
    what was installed, wherever that is."""
    script = Path(sys.prefix).resolve() / "bin" / "doorctl"
    if not script.is_file():
        raise ServiceRefused(
            f"{script} does not exist: run install-service with the doorctl of the "
            "virtual environment it was installed into (sudo /opt/doorctl/venv/bin/doorctl)"
        )
    return PurePosixPath(script)


def check_user(user: str) -> None:
    """Refuse a user name that would inject into the polkit rule or useradd's options,
    and root, which would undo every restriction the unit sets."""
    if user == "root":
        raise ServiceRefused(
            "--user root: the service runs as its own system user, never root "
            "(leave --user out for doorctl)"
        )
    if not USER_NAME.fullmatch(user):
        raise ServiceRefused(
            f"--user {user!r}: enter a system user name of up to 32 lowercase letters, "
            "digits, '_' and '-', starting with a letter or '_' (for example doorctl)"
        )


def check(options: Options) -> None:
    """Refuse what the unit could not run: a user name unsafe to write into it, a data
    directory systemd does not manage, or an environment under /home, which
    ProtectHome= hides from the service."""
    check_user(options.user)
    if STATE_ROOT not in options.data_dir.parents:
        raise ServiceRefused(
            f"--data-dir {options.data_dir}: choose a folder under /var/lib/ "
            "(systemd's StateDirectory= makes it 0700 for the service's user at every start)"
        )
    home = PurePosixPath("/home"), PurePosixPath("/root")
    if any(h in options.doorctl.parents for h in home):
        raise ServiceRefused(
            f"{options.doorctl} is under /home or /root, which the service can't read "
            "(ProtectHome=): install doorctl into a virtual environment such as "
            "/opt/doorctl/venv (sudo python3 -m venv /opt/doorctl/venv, then its pip "
            "install of the checkout or the wheel)"
        )
    if options.watchdog_seconds < 1:
        raise ServiceRefused(f"--watchdog-seconds {options.watchdog_seconds}: enter 1 or more")
    for name, port in (("--port", options.port), ("--https-port", options.https_port)):
        if not 1 <= port <= 65535:
            raise ServiceRefused(f"{name} {port}: enter a port from 1 to 65535")


def _template(name: str) -> string.Template:
    return string.Template(resources.files("doorctl.service").joinpath(name).read_text())


def documentation() -> str:
    """`Documentation=` naming the README as installed (the wheel's METADATA holds it)."""
    try:
        found = [
            f
            for f in importlib.metadata.distribution("doorctl").files or ()
            if f.name == "METADATA"
        ]
    except importlib.metadata.PackageNotFoundError:
        found = []
    if not found:
        return ""
    return f"Documentation=file://{Path(found[0].locate()).resolve()}"


def render_unit(options: Options) -> str:
    """doorctl.service for these options."""
    return _template("doorctl.service.in").substitute(
        version=__version__,
        documentation=documentation(),
        doorctl=options.doorctl,
        data_dir=options.data_dir,
        state_directory=options.data_dir.relative_to(STATE_ROOT),
        port=options.port,
        https_port=options.https_port,
        user=options.user,
        watchdog_seconds=options.watchdog_seconds,
        chrony_dir=options.chrony_dir,
        chrony_sources=options.chrony_sources,
    )


def render_polkit(options: Options) -> str:
    """The polkit rule that lets the service's user take POLKIT_ACTIONS."""
    actions = ",\n".join(f'        "{action}"' for action in POLKIT_ACTIONS)
    return _template("50-doorctl.rules.in").substitute(
        version=__version__, user=options.user, actions=actions
    )


def render_chrony(options: Options) -> str:
    """chrony's snippet: doorctl's sources folder, and the manual date and time."""
    return (
        f"# Written by `doorctl install-service` ({__version__}); uninstall-service removes it.\n"
        f"# doorctl writes its NTP servers to {options.chrony_sources}.\n"
        f"sourcedir {options.chrony_dir}\n"
        "# a manual date and time (chronyc settime) from System > Date and time\n"
        "manual\n"
    )
