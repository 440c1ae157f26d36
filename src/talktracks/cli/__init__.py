"""`talktracks` command line: argument parsing and printing only.

Each command group lives in its own module with a `register(subparsers)` function; handlers
return an exit status. User-caused errors (TalktracksError) are printed as one line on stderr.
Heavy libraries (pandas, scikit-learn, spaCy, faster-whisper, statsmodels, Prefect) are imported
inside the handlers that need them, so `--help`, `status` or `users list` start in a blink
(tests/test_cli_startup.py checks it; bench/bench_cli_startup.py measures it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from talktracks.errors import TalktracksError

# Command-group modules under talktracks.cli; each owns its subcommands.
COMMAND_MODULES = ("pipeline", "behaviours", "analysis", "review", "search")


class _VersionAction(argparse.Action):
    """--version, looked up only when asked: reading package metadata costs a quarter of a
    second, which every other command would pay if the parser built the string up front."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)  # type: ignore[arg-type]

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[no-untyped-def]
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("talktracks")
        except PackageNotFoundError:  # pragma: no cover - a checkout without install
            text = "unknown"
        print(f"talktracks {text}")  # on stdout, like argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talktracks",
        description="Call recordings -> behaviours -> which talk tracks win deals.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"talktracks.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"talktracks.cli.{name}":
                continue  # command group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING
    # The level sits on the handler too: libraries that set their own loggers to INFO (Prefect
    # does, so its run logs reach the API) must not print those records on the terminal.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    logging.basicConfig(
        level=level, handlers=[handler], format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.handler(args) or 0)
    except TalktracksError as exc:
        print(f"talktracks: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("talktracks: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
