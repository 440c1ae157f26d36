"""Options shared by several commands."""

from __future__ import annotations

import argparse

from talktracks.config import Settings, get_settings
from talktracks.store import Store, open_store


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db", metavar="URL", help="SQLAlchemy database URL (default: the embedded SQLite file)"
    )


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    """Settings with the command's --db (and any given overrides) applied."""
    return get_settings().with_overrides(db_url=getattr(args, "db", None), **extra)


def store_from(args: argparse.Namespace, *, writable: bool = True) -> Store:
    return open_store(settings_from(args).database_url, writable=writable)
