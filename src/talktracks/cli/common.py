"""Options shared by several commands.

Imports of settings and the store happen inside the functions: `talktracks --help` must not
pay for pydantic, SQLAlchemy or Alembic.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from talktracks.config import Settings
    from talktracks.store import Store


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db", metavar="URL", help="SQLAlchemy database URL (default: the embedded SQLite file)"
    )


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    """Settings with the command's --db (and any given overrides) applied."""
    from talktracks.config import get_settings

    return get_settings().with_overrides(db_url=getattr(args, "db", None), **extra)


def store_from(args: argparse.Namespace, *, writable: bool = True) -> Store:
    from talktracks.store import open_store

    return open_store(settings_from(args).database_url, writable=writable)
