"""Entry point: gevent patches the standard library before anything else is imported."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the doorctl command line (the console script `doorctl`)."""
    from doorctl.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
