"""`doorctl bundle`: build a signed release bundle from a checkout, and make the key
pair that signs bundles (manual: Maintenance > Upgrade firmware, Signed firmware)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from doorctl.core.maintenance.bundle_build import BuildFailed, build_bundle
from doorctl.core.maintenance.bundle_format import host_target, split_target
from doorctl.core.maintenance.keys import fingerprint, key_id, keygen, load_signing_key


def _target(text: str) -> str:
    try:
        split_target(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def add_parser(sub) -> None:
    """`doorctl bundle build ...` and `doorctl bundle keygen DIR`."""
    bundle = sub.add_parser("bundle", help="build a signed release bundle, or a signing key pair")
    commands = bundle.add_subparsers(dest="bundle_command", required=True)
    build = commands.add_parser(
        "build",
        help="doorctl's wheel from a checkout and every dependency's wheel for one target, "
        "signed, in one file a unit without internet upgrades from",
    )
    build.add_argument("--key", type=Path, required=True, help="Ed25519 private key (PEM)")
    build.add_argument("--out", type=Path, default=Path("dist"), help="folder for the bundle")
    build.add_argument("--project", type=Path, help="the checkout (default: this one)")
    build.add_argument(
        "--wheels", type=Path, help="take dependencies only from this folder of wheels"
    )
    build.add_argument(
        "--target",
        type=_target,
        default=host_target(),
        help="platform-python, e.g. linux_aarch64-cp311 for a Pi (default: this machine's, "
        f"{host_target()})",
    )
    keys = commands.add_parser(
        "keygen", help="a new Ed25519 key pair: signing-key.pem (0600) and signing-key.pub.pem"
    )
    keys.add_argument("directory", type=Path, help="folder for the two files")


def run(args: argparse.Namespace) -> int:
    """Run `doorctl bundle build` or `doorctl bundle keygen`."""
    if args.bundle_command == "keygen":
        return _keygen(args.directory)
    try:
        path = build_bundle(
            args.out,
            signing_key=args.key,
            project=args.project,
            wheels=args.wheels,
            target=args.target,
        )
    except (BuildFailed, OSError, ValueError) as error:
        print(f"doorctl bundle build: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _keygen(directory: Path) -> int:
    try:
        private, public = keygen(directory)
    except FileExistsError as error:
        print(f"doorctl bundle keygen: {error.filename} exists; not replaced", file=sys.stderr)
        return 1
    identity = key_id(load_signing_key(private).public_key())
    print(f"private key: {private} (keep it secret)\npublic key: {public}")
    print(f"fingerprint: {fingerprint(identity)}")
    return 0
