"""The `doorctl` command line: `doorctl serve` runs the appliance (cli_serve: the web
process and its engine process); `doorctl bundle` builds release bundles (cli_bundle),
`install-service` installs the systemd unit (cli_service), `kiosk` the Pi's screen
(cli_kiosk)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from doorctl import __version__, cli_bundle, cli_kiosk, cli_serve, cli_service
from doorctl.core.maintenance import firmware

log = logging.getLogger("doorctl")


def parser() -> argparse.ArgumentParser:
    """The options of `doorctl`, each with its DOORCTL_* environment variable."""
    p = argparse.ArgumentParser(prog="doorctl", description="Open network door controller.")
    p.add_argument("--version", action="version", version=f"doorctl {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = cli_serve.add_parser(sub)
    supervise = sub.add_parser(
        "supervise",
        help="run `doorctl serve` (the options after these go to it), start it again when "
        "it asks for a restart (exit 75), fall back when an upgraded version does not "
        "become healthy",
    )
    for option in ("--data-dir", "--firmware-dir", "--log-level"):
        action = next(a for a in serve._actions if option in a.option_strings)
        supervise.add_argument(option, default=action.default, help=action.help)
    cli_serve.option(
        supervise,
        "--health-seconds",
        firmware.HEALTH_SECONDS,
        "seconds an upgraded version has to report healthy before the previous one comes back",
    )
    reset = sub.add_parser(
        "reset-outputs",
        help="put every output (relay, reader LED and buzzer, aux) inactive and exit; "
        "the systemd unit runs it after doorctl stops or crashes",
    )
    for option in ("--data-dir", "--hardware", "--log-level"):
        action = next(a for a in serve._actions if option in a.option_strings)
        reset.add_argument(option, default=action.default, choices=action.choices, help=action.help)
    selftest = sub.add_parser(
        "selftest",
        help="check every terminal of a Pi wired to the loopback harness (README: Wiring) "
        "and print PASS or FAIL for each; run it with doorctl stopped",
    )
    selftest.add_argument("--hardware", default="rpi", choices=("rpi",), help="board backend")
    data_dir = next(a for a in serve._actions if "--data-dir" in a.option_strings)
    selftest.add_argument("--data-dir", default=data_dir.default, help=data_dir.help)
    selftest.add_argument(
        "--adc-ohms", type=float, default=4700.0, help="the harness resistor on each ADC channel"
    )
    cli_bundle.add_parser(sub)
    cli_service.add_parser(sub)
    cli_kiosk.add_parser(sub)
    return p


def supervise(args: argparse.Namespace, serve_args: list[str]) -> int:
    """Run `doorctl serve` under the supervisor (core/maintenance/supervisor.py)."""
    from doorctl.core.maintenance.supervisor import Supervisor

    root = Path(args.firmware_dir or firmware.default_dir(args.data_dir))
    serve_args = ["--data-dir", args.data_dir, "--firmware-dir", str(root), *serve_args]
    serve_args += ["--log-level", args.log_level]
    return Supervisor(Path(args.data_dir), root, serve_args, args.health_seconds).run()


def reset_outputs(args: argparse.Namespace) -> int:
    """Outputs back to normal after the service stopped, even if it crashed."""
    from doorctl.core.board import reset_outputs as reset

    hardware = cli_serve.pick_hardware(args.hardware)
    reset(Path(args.data_dir), hardware)
    log.info("outputs reset on the %s board", hardware)
    return 0


def selftest(args: argparse.Namespace) -> int:
    """The loopback harness check of a Pi: a table, and 1 if any terminal failed."""
    from doorctl.hal.profile import ProfileError, load_profile
    from doorctl.hal.selftest import SelfTest, report

    try:
        from doorctl.hal.rpigpio import GPIO
    except (ImportError, RuntimeError) as error:
        print(f"doorctl selftest needs a Raspberry Pi and doorctl[pi] installed: {error}")
        return 2
    try:
        profile = load_profile(Path(args.data_dir))
    except ProfileError as error:
        print(error)
        return 2
    checks = SelfTest(profile, GPIO, args.adc_ohms).run()
    print(report(checks))
    return 1 if any(check.ok is False for check in checks) else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command."""
    args, rest = parser().parse_known_args(argv)
    if rest and args.command != "supervise":
        parser().parse_args(argv)  # says which argument is not known, and exits
    logging.basicConfig(
        level=getattr(args, "log_level", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "reset-outputs":
        return reset_outputs(args)
    if args.command == "selftest":
        return selftest(args)
    if args.command == "supervise":
        return supervise(args, rest)
    if args.command == "bundle":
        return cli_bundle.run(args)
    if args.command in ("install-service", "uninstall-service"):
        return cli_service.run(args)
    if args.command == "kiosk":
        return cli_kiosk.run(args)
    return cli_serve.serve(args)
