"""The `doorctl` command line: `doorctl serve` runs the appliance in one gevent process."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

import gevent
import gevent.event

from doorctl import __version__
from doorctl.app import create_app, default_data_dir
from doorctl.server import Limits, freeze_startup_objects, make_server

log = logging.getLogger("doorctl")
HARDWARE = ("auto", "rpi", "sim")


def _env(name: str, default):
    return os.environ.get(f"DOORCTL_{name}", default)


def parser() -> argparse.ArgumentParser:
    """The options of `doorctl`, each with its DOORCTL_* environment variable."""
    root = os.geteuid() == 0
    p = argparse.ArgumentParser(prog="doorctl", description="Open network door controller.")
    p.add_argument("--version", action="version", version=f"doorctl {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the appliance (web interface, API, services)")
    serve.add_argument(
        "--data-dir",
        default=_env("DATA_DIR", str(default_data_dir())),
        help="settings, database and keys (env DOORCTL_DATA_DIR)",
    )
    serve.add_argument(
        "--host", default=_env("HOST", "0.0.0.0"), help="address to listen on (env DOORCTL_HOST)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=int(_env("PORT", 80 if root else 8080)),
        help="HTTP port, 0 for any free one (env DOORCTL_PORT)",
    )
    serve.add_argument(
        "--https-port",
        type=int,
        default=int(_env("HTTPS_PORT", 443 if root else 8443)),
        help="HTTPS port, 0 for any free one (env DOORCTL_HTTPS_PORT)",
    )
    serve.add_argument(
        "--hardware",
        choices=HARDWARE,
        default=_env("HARDWARE", "auto"),
        help="board backend: rpi, sim, or auto (env DOORCTL_HARDWARE)",
    )
    serve.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING (env DOORCTL_LOG_LEVEL)",
    )
    serve.add_argument(
        "--request-timeout",
        type=float,
        default=float(_env("REQUEST_TIMEOUT", Limits.request_timeout)),
        help="seconds a client may take to send a request's head, and each 64 KiB of "
        "its body (env DOORCTL_REQUEST_TIMEOUT)",
    )
    serve.add_argument(
        "--connections-per-client",
        type=int,
        default=int(_env("CONNECTIONS_PER_CLIENT", Limits.connections_per_client)),
        help="open connections one client address may hold (env DOORCTL_CONNECTIONS_PER_CLIENT)",
    )
    serve.add_argument(
        "--reader-test-ports",
        action="store_true",
        default=_env("READER_TEST_PORTS", "") == "1",
        help="also accept pseudo-terminals (/dev/pts/N) as reader ports, for tests and "
        "demos (env DOORCTL_READER_TEST_PORTS=1)",
    )
    reset = sub.add_parser(
        "reset-outputs",
        help="put every output (relay, reader LED and buzzer, aux) inactive and exit; "
        "the systemd unit runs it after doorctl stops or crashes",
    )
    for option in ("--data-dir", "--hardware", "--log-level"):
        action = next(a for a in serve._actions if option in a.option_strings)
        reset.add_argument(option, default=action.default, choices=action.choices, help=action.help)
    return p


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
    hardware = pick_hardware(args.hardware)
    app = create_app(
        {
            "DATA_DIR": args.data_dir,
            "HARDWARE": hardware,
            "READER_TEST_PORTS": args.reader_test_ports,
        }
    )
    doorctl = app.extensions["doorctl"]
    limits = Limits(
        request_timeout=args.request_timeout,
        connections_per_client=args.connections_per_client,
        max_body=app.config["MAX_CONTENT_LENGTH"],
    )
    servers = [make_server(app, args.host, args.port, limits)]
    doorctl.https.ensure_device_certificate()
    https = make_server(app, args.host, args.https_port, limits, doorctl.https.context())
    doorctl.https.on_context(lambda context: setattr(https, "wrap_socket", context.wrap_socket))
    servers.append(https)
    for server in servers:
        server.start()
    doorctl.start()
    freeze_startup_objects()
    stopping = gevent.event.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stopping.set)
    print(f"doorctl {__version__} serving on {urls(args.host, servers)}", flush=True)
    stopping.wait()
    log.info("stopping")
    for server in servers:
        server.stop(timeout=3)
    doorctl.stop()
    return 0


def urls(host: str, servers: list) -> str:
    """The URLs to open: http:// and https:// with the ports the servers listen on."""
    host = "localhost" if host in ("0.0.0.0", "::") else host
    host = f"[{host}]" if ":" in host else host
    return " and ".join(
        f"{'https' if s.ssl_enabled else 'http'}://{host}:{s.server_port}/" for s in servers
    )


def reset_outputs(args: argparse.Namespace) -> int:
    """Outputs back to normal after the service stopped, even if it crashed."""
    from doorctl.core.board import reset_outputs as reset

    hardware = pick_hardware(args.hardware)
    reset(Path(args.data_dir), hardware)
    log.info("outputs reset on the %s board", hardware)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "reset-outputs":
        return reset_outputs(args)
    return serve(args)
