"""The `doorctl` command line: `doorctl serve` runs the appliance (the web process and
its engine process); `doorctl bundle` builds release bundles (cli_bundle)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

import gevent
import gevent.event

from doorctl import __version__, cli_bundle, cli_kiosk, cli_service
from doorctl.app import create_app, default_data_dir
from doorctl.blueprints.maintenance import firmware as firmware_page
from doorctl.core.appliance import CHRONY_SOCKET, CHRONY_SOURCES
from doorctl.core.errors import Invalid
from doorctl.core.logs import network_trace
from doorctl.core.maintenance import button, firmware, reset, restart
from doorctl.core.notify import Notifier
from doorctl.core.system.network.http_https import CONFIRM_SECONDS
from doorctl.core.system.network.https import NAMES_CHECK_SECONDS
from doorctl.listeners import Listeners
from doorctl.server import Limits, freeze_startup_objects

log = logging.getLogger("doorctl")
HARDWARE = ("auto", "rpi", "sim")


def _env(name: str, default):
    return os.environ.get(f"DOORCTL_{name}", default)


def _option(command, flag: str, default, text: str, **kwargs) -> None:
    """Add `--flag`, whose default the environment variable DOORCTL_FLAG may change;
    the value has the default's type, and a flag that is off by default is a switch."""
    name = flag.lstrip("-").upper().replace("-", "_")
    if default is False:
        on = _env(name, "") == "1"
        command.add_argument(
            flag, action="store_true", default=on, help=f"{text} (env DOORCTL_{name}=1)"
        )
        return
    kind = type(default)
    command.add_argument(
        flag,
        type=kind,
        default=kind(_env(name, default)),
        help=f"{text} (env DOORCTL_{name})",
        **kwargs,
    )


def parser() -> argparse.ArgumentParser:
    """The options of `doorctl`, each with its DOORCTL_* environment variable."""
    root = os.geteuid() == 0
    p = argparse.ArgumentParser(prog="doorctl", description="Open network door controller.")
    p.add_argument("--version", action="version", version=f"doorctl {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the appliance (web interface, API, services)")
    _option(serve, "--data-dir", str(default_data_dir()), "settings, database and keys")
    _option(
        serve,
        "--firmware-dir",
        "",
        "installed firmware versions and upgrade state (default: DATA_DIR/firmware, which "
        "factory default keeps)",
    )
    _option(serve, "--host", "0.0.0.0", "address to listen on")
    stored = "once HTTP and HTTPS are saved (System > Network) the stored ports apply"
    _option(
        serve,
        "--port",
        80 if root else 8080,
        f"HTTP port at first start, 0 for any free one; {stored}",
    )
    _option(
        serve,
        "--https-port",
        443 if root else 8443,
        f"HTTPS port at first start, 0 for any free one; {stored}",
    )
    _option(serve, "--hardware", "auto", "board backend: rpi, sim, or auto", choices=HARDWARE)
    _option(serve, "--log-level", "INFO", "DEBUG, INFO, WARNING")
    _option(
        serve,
        "--request-timeout",
        Limits.request_timeout,
        "seconds a client may take to send a request's head, and each 64 KiB of its body",
    )
    _option(
        serve,
        "--connections-per-client",
        Limits.connections_per_client,
        "open connections one client address may hold",
    )
    _option(
        serve,
        "--confirm-seconds",
        float(CONFIRM_SECONDS),
        "seconds to confirm a change of HTTP and HTTPS or of the IP settings from the new "
        "address before the old settings come back",
    )
    _option(
        serve,
        "--network-interface",
        "eth0",
        "the interface whose NetworkManager connection System > Network changes",
    )
    _option(
        serve,
        "--network-connection",
        "",
        "the NetworkManager connection System > Network changes (empty: the one active on "
        "the interface)",
    )
    _option(
        serve,
        "--names-check-seconds",
        float(NAMES_CHECK_SECONDS),
        "how often the device's names and addresses are compared with its HTTPS certificate's",
    )
    _option(
        serve,
        "--reader-test-ports",
        False,
        "also accept pseudo-terminals (/dev/pts/N) as reader ports, for tests and demos",
    )
    _option(
        serve,
        "--engine-in-process",
        False,
        "run the readers, the door engine and access decisions in the web's process, for "
        "debugging; by default they run in a process of their own, so that a busy web "
        "interface never delays a card",
    )
    _option(serve, "--chrony-socket", CHRONY_SOCKET, "chronyd's command socket (Date and time)")
    _option(
        serve,
        "--chrony-sources",
        CHRONY_SOURCES,
        "the sources file doorctl writes for chronyd (in a sourcedir of chrony's configuration)",
    )
    _option(
        serve,
        "--snmp-address",
        "",
        "the address snmpd listens on when SNMP is on (empty: the same as --host); binding "
        "UDP port 161 needs root or CAP_NET_BIND_SERVICE",
    )
    _option(serve, "--snmpd", "snmpd", "net-snmp's agent, run as doorctl's child (System > SNMP)")
    _option(
        serve,
        "--timedatectl",
        "auto",
        "command that sets the system's time zone: auto is timedatectl on a Pi, none elsewhere; "
        "'' for none",
    )
    _maintenance_options(serve)
    supervise = sub.add_parser(
        "supervise",
        help="run `doorctl serve` (the options after these go to it), start it again when "
        "it asks for a restart (exit 75), fall back when an upgraded version does not "
        "become healthy",
    )
    for option in ("--data-dir", "--firmware-dir", "--log-level"):
        action = next(a for a in serve._actions if option in a.option_strings)
        supervise.add_argument(option, default=action.default, help=action.help)
    _option(
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


def _maintenance_options(serve) -> None:
    """The restart of the device and the control button held at start (Maintenance)."""
    _option(
        serve,
        "--reboot-command",
        restart.REBOOT_COMMAND,
        "how Maintenance restarts the whole device; offered where systemd runs, or when set",
    )
    _option(
        serve,
        "--factory-default-hold",
        button.HOLD_SECONDS,
        "seconds the control button must be held while doorctl starts to reset it to "
        "factory default",
    )
    _option(
        serve,
        "--sim-button-held",
        0.0,
        "simulated board: the control button is held for this many seconds from the start",
    )


def pick_hardware(choice: str) -> str:
    """auto means rpi only on a Raspberry Pi; say which was picked and why."""
    if choice != "auto":
        return choice
    from doorctl.hal import detect

    picked = detect()
    log.info("hardware auto: picked %s", picked)
    return picked


def serve(args: argparse.Namespace) -> int:
    """Start the services and the web server; stop cleanly on SIGTERM or SIGINT."""
    network_trace.keep_net_raw_for_tcpdump()  # before any child starts
    notifier = Notifier.from_environment(take=True)
    notifier.watch_hub()
    notifier.status("starting")
    hardware = pick_hardware(args.hardware)
    data_dir = Path(args.data_dir)
    if args.firmware_dir:  # for the engine process (its LEDs) and factory default
        os.environ[firmware.FIRMWARE_DIR_ENV] = args.firmware_dir
    if button.watch_at_start(data_dir, hardware, args.factory_default_hold, args.sim_button_held):
        log.warning("control button held through the start: factory default")
        reset.factory_default(data_dir, reset.requested_by(None, "button"))
    app = create_app(
        {
            "DATA_DIR": args.data_dir,
            "FIRMWARE_DIR": args.firmware_dir or str(firmware.default_dir(args.data_dir)),
            "HARDWARE": hardware,
            "READER_TEST_PORTS": args.reader_test_ports,
            "CONFIRM_SECONDS": args.confirm_seconds,
            "NAMES_CHECK_SECONDS": args.names_check_seconds,
            "NETWORK_INTERFACE": args.network_interface,
            "NETWORK_CONNECTION": args.network_connection,
            "ENGINE_PROCESS": not args.engine_in_process,
            "CHRONY_SOCKET": args.chrony_socket,
            "CHRONY_SOURCES": args.chrony_sources,
            "TIMEDATECTL": None if args.timedatectl == "auto" else args.timedatectl,
            "SNMP_ADDRESS": args.snmp_address or args.host,
            "SNMPD": args.snmpd,
        }
    )
    doorctl = app.extensions["doorctl"]
    doorctl.system_log.start()  # from the first record on (the listeners', the certificate's)
    limits = Limits(
        request_timeout=args.request_timeout,
        connections_per_client=args.connections_per_client,
        max_body=app.config["MAX_CONTENT_LENGTH"],
        spooled=(firmware_page.upload_route(app),),
    )
    maintenance = doorctl.maintenance
    maintenance.reboot_command = args.reboot_command
    maintenance.reboot_available |= args.reboot_command != restart.REBOOT_COMMAND
    stopping = gevent.event.Event()
    maintenance.serve_with(stopping.set)  # before the first request can ask for a restart
    listeners = serve_listeners(app, args, limits)
    doorctl.discovery.serving_on(args.host)
    doorctl.start()
    freeze_startup_objects()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stopping.set)
    app.extensions["doorctl.firmware"].announce()
    print(f"doorctl {__version__} serving on {listeners.urls()}", flush=True)
    notifier.ready(f"doorctl {__version__} serving on {listeners.urls()}")
    gevent.spawn(report_health, app)
    stopping.wait()
    log.info("restarting" if maintenance.pending else "stopping")
    if maintenance.pending is None:  # a restart keeps the unit running: the supervisor stays
        notifier.stopping()
    else:
        notifier.status("restarting")
    ports = listeners.ports()
    listeners.stop(timeout=3)
    doorctl.stop()
    if maintenance.pending is None:
        return 0
    doorctl.store.close()
    return maintenance.carry_out(ports)


def report_health(app) -> None:
    """Once serving, migrated, the board started and the readers polled (the engine
    is running), report healthy to the supervisor."""
    firmware_service = app.extensions["doorctl.firmware"]
    doorctl = app.extensions["doorctl"]
    while not doorctl.door_engine()["running"]:
        gevent.sleep(0.1)
    if firmware_service.supervised:
        firmware_service.healthy()


def supervise(args: argparse.Namespace, serve_args: list[str]) -> int:
    """Run `doorctl serve` under the supervisor (core/maintenance/supervisor.py)."""
    from doorctl.core.maintenance.supervisor import Supervisor

    root = Path(args.firmware_dir or firmware.default_dir(args.data_dir))
    serve_args = ["--data-dir", args.data_dir, "--firmware-dir", str(root), *serve_args]
    serve_args += ["--log-level", args.log_level]
    return Supervisor(Path(args.data_dir), root, serve_args, args.health_seconds).run()


def serve_listeners(app, args: argparse.Namespace, limits: Limits) -> Listeners:
    """Open HTTP and HTTPS as the stored settings say (the command line's ports until
    they are saved), and change them when the settings change."""
    doorctl = app.extensions["doorctl"]
    doorctl.https.ensure_device_certificate()
    listeners = Listeners(app, args.host, limits, doorctl.https.context)
    http_https = doorctl.http_https
    ports = restart.ports_after_restart(Path(args.data_dir), args.port, args.https_port)
    record = http_https.first_start(*ports)
    try:
        listeners.serve(record)
    except Invalid as error:
        log.error(
            "stored HTTP and HTTPS settings can't be served (%s): using the command line's ports",
            error.message,
        )
        listeners.serve(record | {"http_port": args.port, "https_port": args.https_port})
    bound = {f"{scheme}_port": port for scheme, port in listeners.ports().items()}
    http_https.serving(record | bound, first_start=bound)
    http_https.on_change(listeners.serve)
    doorctl.https.on_context(listeners.use_context)
    return listeners


def reset_outputs(args: argparse.Namespace) -> int:
    """Outputs back to normal after the service stopped, even if it crashed."""
    from doorctl.core.board import reset_outputs as reset

    hardware = pick_hardware(args.hardware)
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
    return serve(args)
