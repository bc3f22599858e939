"""Entry point: gevent patches the standard library before anything else is imported."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the doorctl command line (the console script `doorctl`); the engine process
    (`doorctl engine`, started by `doorctl serve`) without the web's modules."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["engine"]:
        from doorctl.core.engine.main import main as engine_main

        return engine_main(args[1:])
    from doorctl.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
