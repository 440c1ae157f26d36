"""`talktracks` command line: argument parsing and printing only.

Each command group lives in its own module with a `register(subparsers)` function; handlers
return an exit status. User-caused errors (TalktracksError) are printed as one line on stderr.
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talktracks",
        description="Call recordings -> behaviours -> which talk tracks win deals.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
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
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
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
