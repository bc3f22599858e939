"""`doorctl install-service` and `doorctl uninstall-service`: doorctl as a systemd
service of its own user, from the unit template in the package (doorctl/service/)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from doorctl.service import install, unit


def add_parser(sub) -> None:
    """The two commands and their options."""
    put = sub.add_parser(
        "install-service",
        help="run doorctl at boot as a systemd service of its own user (run with sudo "
        "from doorctl's virtual environment)",
    )
    _common(put)
    put.add_argument("--port", type=int, default=80, help="HTTP port at first start (80)")
    put.add_argument("--https-port", type=int, default=443, help="HTTPS port at first start")
    put.add_argument(
        "--watchdog-seconds",
        type=int,
        default=30,
        help="systemd restarts doorctl when its event loop stalls this long (30)",
    )
    put.add_argument("--print", action="store_true", help="print the unit only, change nothing")
    remove = sub.add_parser(
        "uninstall-service",
        help="stop and disable the service and remove what install-service wrote; the "
        "data directory and the user stay unless --purge",
    )
    _common(remove)
    remove.add_argument("--purge", action="store_true", help="remove the data and the user too")


def _common(command) -> None:
    command.add_argument("--data-dir", default="/var/lib/doorctl", help="under /var/lib/")
    command.add_argument("--user", default="doorctl", help="the service's system user")
    command.add_argument(
        "--root",
        default="/",
        help="write the files under this folder and run the commands in it (chroot), "
        "as for an image being built",
    )
    command.add_argument("--dry-run", action="store_true", help="print the steps, do nothing")


def _options(args: argparse.Namespace) -> unit.Options:
    return unit.Options(
        doorctl=unit.own_doorctl(),
        data_dir=install.as_posix(args.data_dir),
        port=getattr(args, "port", 80),
        https_port=getattr(args, "https_port", 443),
        user=args.user,
        watchdog_seconds=getattr(args, "watchdog_seconds", 30),
    )


def run(args: argparse.Namespace) -> int:
    """Install or uninstall; a refusal is one sentence on stderr and exit code 2."""
    root = Path(args.root).resolve()
    try:
        options = _options(args)
        unit.check(options)
        if args.command == "install-service" and args.print:
            sys.stdout.write(unit.render_unit(options))
            return 0
        if args.command == "install-service":
            steps = install.install_steps(options, root)
        else:
            steps = install.uninstall_steps(options, root, args.purge)
        if args.dry_run:
            print("\n".join(step.describe() for step in steps))
            _say_missing(root)
            return 0
        if root == Path("/") and os.geteuid() != 0:
            raise unit.ServiceRefused(f"{args.command} changes the system: run it with sudo")
        install.carry_out(steps, root)
    except unit.ServiceRefused as refused:
        print(f"doorctl {args.command}: {refused}", file=sys.stderr)
        return 2
    if args.command == "install-service":
        _say_missing(root)
    return 0


def _say_missing(root: Path) -> None:
    missing = install.missing_groups(root)
    if missing:
        print(
            f"note: this system has no group {', '.join(missing)}: the devices or the "
            "chrony socket they own stay out of doorctl's reach (on a Pi: raspi-config "
            "enables SPI and I2C; sudo apt install chrony for Date and time)",
            file=sys.stderr,
        )
