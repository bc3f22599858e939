"""The engine process itself (`doorctl engine`, started by `doorctl serve`).

It opens the board and the store (its own SQLite connection; WAL lets the web
process write meanwhile), runs the readers, the door engine and the access
decisions, sends every event up the link (sender.py: never waiting for the web),
and answers the web's calls. When the link closes (the web process stopped or died)
it stops its services, which puts every output back to its normal state, and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

import gevent
import gevent.event
from gevent import socket

from doorctl.core.engine.link import Link
from doorctl.core.engine.parts import Engine
from doorctl.core.engine.sender import EventSender
from doorctl.core.logs import actor
from doorctl.core.logs.system_log import Collector

log = logging.getLogger(__name__)
# Ahead of the web process (and anything else on the Pi) for the CPU: a card must
# not wait for a page render in another process either. Needs root or CAP_SYS_NICE.
ENGINE_NICE = -10


def main(argv: list[str]) -> int:
    """`doorctl engine`: parse its options and run. Reached from doorctl's entry point
    without the web's modules (Flask, the pages), so that the engine starts quickly."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return run(Path(args.data_dir), args.hardware, args.link_fd, args.reader_test_ports)


def parser() -> argparse.ArgumentParser:
    """The options `doorctl serve` starts the engine with."""
    p = argparse.ArgumentParser(prog="doorctl engine", description="The door engine process.")
    p.add_argument("--data-dir", required=True, help="settings, database and keys")
    p.add_argument("--hardware", required=True, choices=("rpi", "sim"), help="board backend")
    p.add_argument("--link-fd", type=int, required=True, help="the web process's socket")
    p.add_argument("--reader-test-ports", action="store_true", help="as for serve")
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING")
    return p


def run(data_dir: Path, hardware: str, link_fd: int, reader_test_ports: bool) -> int:
    """Run the engine's services until the web process closes the link."""
    take_priority()
    engine = Engine(data_dir, hardware, reader_test_ports)
    targets = engine.engine_targets()
    link = Link(socket.socket(fileno=link_fd), lambda message: _serve(link, targets, message))
    sender = EventSender(link)
    targets["engine"] = sender
    engine.bus.subscribe(sender.put)
    sender.start()
    collector = Collector(sender.put_log, "engine")  # the web stores them (System log)
    collector.install()
    engine.start()
    sender.send_in_order({"ready": True})  # after the events of the start
    until_stopped(link)
    engine.stop()
    collector.uninstall()
    sender.stop()
    engine.store.close()
    return 0


def until_stopped(link: Link) -> None:
    """Wait for the web process to close the link, or for SIGTERM or SIGINT (systemd
    and Ctrl-C signal every process of the service at once)."""
    stopping = gevent.event.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stopping.set)
    link.closed.rawlink(lambda _: stopping.set())
    stopping.wait()
    log.info("the door engine stops: outputs to their normal state")


def take_priority() -> None:
    """Run ahead of the web process; without the right to, say so and run as is."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, ENGINE_NICE)
    except OSError as error:
        log.warning("the engine runs at normal priority (%s)", error.strerror)


def _serve(link: Link, targets: dict, message: dict) -> None:
    """Answer one call in its own greenlet: a slow one (a simulated card being
    pulsed) must not hold up the calls behind it."""
    if "call" not in message:
        return
    target = targets.get(message["target"])
    method = getattr(target, message["method"], None) if target is not None else None
    if method is None or message["method"].startswith("_"):
        link.reply(message["call"], lambda: _unknown(message))
        return
    args, kwargs = message["args"], message.get("kwargs", {})
    gevent.spawn(_reply, link, message, lambda: method(*args, **kwargs))


def _reply(link: Link, message: dict, run) -> None:
    """Run a call as the web's user who made it, so its events name them (Audit log)."""
    who = message.get("actor")
    actor.acting(lambda: who)
    link.reply(message["call"], run)


def _unknown(message: dict):
    raise AttributeError(f"the engine has no {message['target']}.{message['method']}")
