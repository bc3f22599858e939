"""`doorctl kiosk install|uninstall`: Chromium in kiosk mode at boot on the Pi's screen
(core/system/kiosk_install.py says how, for each image of Raspberry Pi OS)."""

from __future__ import annotations

import sys
from pathlib import Path

from doorctl.app import default_data_dir
from doorctl.core.system.kiosk_install import (
    DEFAULT_URL,
    IMAGES,
    InstallError,
    install,
    target,
    uninstall,
)


def add_parser(sub) -> None:
    """`doorctl kiosk install [...]` and `doorctl kiosk uninstall [...]`."""
    kiosk = sub.add_parser("kiosk", help="start the kiosk display at boot, or stop doing so")
    commands = kiosk.add_subparsers(dest="kiosk_command", required=True)
    for name, what in (
        ("install", "start Chromium in kiosk mode on the kiosk's login at boot"),
        ("uninstall", "remove exactly what install wrote"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument(
            "--image",
            choices=IMAGES,
            help="labwc (Bookworm desktop), wayfire (older desktop) or lite (cage on tty1); "
            "default: detected",
        )
        command.add_argument("--user", help="the desktop or kiosk user (default: sudo's user)")
        command.add_argument("--url", default=DEFAULT_URL, help="the kiosk's loopback login")
        command.add_argument(
            "--root", type=Path, default=Path("/"), help="write under this directory (tests)"
        )
        command.add_argument(
            "--data-dir",
            type=Path,
            help="doorctl's data directory, where the kiosk's login token is kept "
            "(default: doorctl's, under --root if given)",
        )
        command.add_argument("--dry-run", action="store_true", help="say what would be done")
    commands.choices["install"].add_argument(
        "--keep-blanking",
        action="store_true",
        help="leave screen blanking as it is (default: off; the kiosk page dims itself)",
    )


def run(args) -> int:
    """Install or uninstall; each line printed says one thing done."""
    try:
        t = target(args.root, args.image, args.user, args.url)
        data_dir = args.data_dir or args.root / str(default_data_dir()).lstrip("/")
        if args.kiosk_command == "install":
            blanking = not args.keep_blanking
            said = install(t, blanking, dry_run=args.dry_run, data_dir=data_dir)
        else:
            said = uninstall(t, dry_run=args.dry_run, data_dir=data_dir)
    except (InstallError, OSError) as error:
        print(f"doorctl kiosk {args.kiosk_command}: {error}", file=sys.stderr)
        return 1
    print("\n".join(said))
    return 0
