"""`doorctl serve`: the appliance's web process and its engine process, with the
options each setting of the command line (or its DOORCTL_* variable) gives."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path

import gevent
import gevent.event

from doorctl import __version__
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


def option(command, flag: str, default, text: str, **kwargs) -> None:
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


def add_parser(sub) -> argparse.ArgumentParser:
    """The `serve` command and its options."""
    root = os.geteuid() == 0
    serve = sub.add_parser("serve", help="run the appliance (web interface, API, services)")
    option(serve, "--data-dir", str(default_data_dir()), "settings, database and keys")
    option(
        serve,
        "--firmware-dir",
        "",
        "installed firmware versions and upgrade state (default: DATA_DIR/firmware, which "
        "factory default keeps)",
    )
    option(serve, "--host", "0.0.0.0", "address to listen on")
    stored = "once HTTP and HTTPS are saved (System > Network) the stored ports apply"
    option(
        serve,
        "--port",
        80 if root else 8080,
        f"HTTP port at first start, 0 for any free one; {stored}",
    )
    option(
        serve,
        "--https-port",
        443 if root else 8443,
        f"HTTPS port at first start, 0 for any free one; {stored}",
    )
    option(serve, "--hardware", "auto", "board backend: rpi, sim, or auto", choices=HARDWARE)
    option(serve, "--log-level", "INFO", "DEBUG, INFO, WARNING")
    option(
        serve,
        "--request-timeout",
        Limits.request_timeout,
        "seconds a client may take to send a request's head, and each 64 KiB of its body",
    )
    option(
        serve,
        "--connections-per-client",
        Limits.connections_per_client,
        "open connections one client address may hold",
    )
    option(
        serve,
        "--confirm-seconds",
        float(CONFIRM_SECONDS),
        "seconds to confirm a change of HTTP and HTTPS or of the IP settings from the new "
        "address before the old settings come back",
    )
    option(
        serve,
        "--network-interface",
        "eth0",
        "the interface whose NetworkManager connection System > Network changes",
    )
    option(
        serve,
        "--network-connection",
        "",
        "the NetworkManager connection System > Network changes (empty: the one active on "
        "the interface)",
    )
    option(
        serve,
        "--names-check-seconds",
        float(NAMES_CHECK_SECONDS),
        "how often the device's names and addresses are compared with its HTTPS certificate's",
    )
    option(
        serve,
        "--reader-test-ports",
        False,
        "also accept pseudo-terminals (/dev/pts/N) as reader ports, for tests and demos",
    )
    option(
        serve,
        "--engine-in-process",
        False,
        "run the readers, the door engine and access decisions in the web's process, for "
        "debugging; by default they run in a process of their own, so that a busy web "
        "interface never delays a card",
    )
    option(serve, "--chrony-socket", CHRONY_SOCKET, "chronyd's command socket (Date and time)")
    option(
        serve,
        "--chrony-sources",
        CHRONY_SOURCES,
        "the sources file doorctl writes for chronyd (in a sourcedir of chrony's configuration)",
    )
    option(
        serve,
        "--snmp-address",
        "",
        "the address snmpd listens on when SNMP is on (empty: the same as --host); binding "
        "UDP port 161 needs root or CAP_NET_BIND_SERVICE",
    )
    option(serve, "--snmpd", "snmpd", "net-snmp's agent, run as doorctl's child (System > SNMP)")
    option(
        serve,
        "--timedatectl",
        "auto",
        "command that sets the system's time zone: auto is timedatectl on a Pi, none elsewhere; "
        "'' for none",
    )
    _maintenance_options(serve)
    return serve


def _maintenance_options(serve) -> None:
    """The restart of the device and the control button held at start (Maintenance)."""
    option(
        serve,
        "--reboot-command",
        restart.REBOOT_COMMAND,
        "how Maintenance restarts the whole device; offered where systemd runs, or when set",
    )
    option(
        serve,
        "--factory-default-hold",
        button.HOLD_SECONDS,
        "seconds the control button must be held while doorctl starts to reset it to "
        "factory default",
    )
    option(
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
    app = create_app(app_config(args, hardware))
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


def app_config(args: argparse.Namespace, hardware: str) -> dict:
    """The app's configuration from the command line (each has its DOORCTL_* variable)."""
    return {
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


def report_health(app) -> None:
    """Once serving, migrated, the board started and the readers polled (the engine
    is running), report healthy to the supervisor."""
    firmware_service = app.extensions["doorctl.firmware"]
    doorctl = app.extensions["doorctl"]
    while not doorctl.door_engine()["running"]:
        gevent.sleep(0.1)
    if firmware_service.supervised:
        firmware_service.healthy()


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
