"""Engine, sessions and automatic schema upgrade.

SQLite is the embedded default: WAL so a reader (the review app, a notebook) never blocks the
nightly writer, a busy timeout so short write overlaps wait instead of failing, and foreign
keys on so cascades behave as on PostgreSQL.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from talktracks.errors import StoreUnavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Python's sqlite3 only opens a transaction at the first INSERT/UPDATE/DELETE, so the reads
    # before it ran outside the transaction: two writers of one call could each read the row,
    # and the later one's UPDATE (changed columns only) then mixed its transcript with the
    # other's call row. We issue BEGIN ourselves (_sqlite_begin) so a session's reads and
    # writes are one transaction; a writer whose snapshot went stale gets "database is locked",
    # which is_transient retries.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_read_only_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _read_only_sqlite_url(url: str) -> str | None:
    """The same SQLite file opened read-only and immutable, or None if `url` is not one.

    Immutable means SQLite neither locks nor creates -wal/-shm files, which is what lets
    status and export read a database on a read-only mount or a read-only copy. It is only
    used for reading, and only when the normal open failed.
    """
    parsed = make_url(url)
    db = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not db
        or db == ":memory:"
        or db.startswith("file:")
    ):
        return None
    if not Path(db).is_file():
        return None
    from urllib.parse import quote

    return f"sqlite:///file:{quote(str(Path(db).resolve()))}?mode=ro&immutable=1&uri=true"


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailable(f"database URL {url!r} is not a valid SQLAlchemy URL") from exc
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and parsed.query.get("uri") in ("true", "1") and db.startswith("file:"):
            db = db[len("file:") :].split("?", 1)[0]  # an SQLite URI names its file after file:
        if db and db != ":memory:":
            if db.startswith("file:"):  # an SQLite URI filename (?uri=true): file:/path
                db = db[len("file:") :].split("?", 1)[0]
            parent = Path(db).parent
            # A typo in a URL must not quietly start a new, empty database somewhere else:
            # the file may be created, its folder must exist (the default data directory is
            # created by Settings.database_url, since that folder is ours).
            if not parent.is_dir():
                raise StoreUnavailable(
                    f"cannot open database {mask_url(url)}: folder {parent} does not exist "
                    "(create it first if this URL is right)"
                )
        # The pool hands a connection to one thread at a time; Prefect may run tasks in workers.
        kwargs["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
        }
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise StoreUnavailable(f"cannot open database {mask_url(url)}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        read_only = "mode=ro" in url
        event.listen(engine, "connect", _sqlite_read_only_pragmas if read_only else _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


@cache
def script_heads() -> frozenset[str] | None:
    """Head revisions of the migration scripts, read from their source without importing
    Alembic (about half a second of CPU, which `talktracks status` should not pay when the
    schema is current). None when a script cannot be read that way: then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                        try:
                            found[target.id] = ast.literal_eval(node.value)  # type: ignore[arg-type]
                        except ValueError:
                            return None
        if not isinstance(found.get("revision"), str):
            return None
        revisions.add(found["revision"])
        down = found.get("down_revision")
        parents.update([down] if isinstance(down, str) else list(down or ()))
    return frozenset(revisions - parents) or None


def _at_head(engine: Engine) -> bool:
    heads = script_heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            current = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:  # no version table yet: a new database
        return False
    return current == heads


@dataclass
class Store:
    """An opened, migrated database: the engine plus a session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commits on success, rolls back on any error."""
        with self.sessions.begin() as s:
            yield s

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def open_store(url: str, *, writable: bool = True, migrate: bool = True) -> Store:
    """Open `url`, upgrade its schema to head, and check it accepts writes.

    Raises StoreUnavailable with one line naming the (password-masked) URL when the database
    cannot be reached, migrated or written.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if migrate and not _at_head(engine):
            upgrade(engine)
        if writable:
            # A no-op write: fails on a read-only file or a read-only role, before any work starts.
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
    except SQLAlchemyError as exc:
        engine.dispose()
        fallback = None if writable else _read_only_sqlite_url(url)
        if fallback is not None:
            # A read-only mount or file: WAL mode cannot even be read there without -shm.
            return _open_immutable(url, fallback, exc)
        raise StoreUnavailable(
            f"cannot use database {mask_url(url)}: {_first_line(exc)}{_sqlite_hint(url)}"
        ) from exc
    return Store(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def _sqlite_hint(url: str) -> str:
    """Why a SQLite file cannot be written, in words SQLite's own message lacks."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return ""
    path = Path(parsed.database)
    folder = path.parent if path.parent.exists() else None
    if folder is None:
        return ""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return ""
    if fs.f_flag & os.ST_RDONLY:
        return f" ({folder} is on a read-only file system; status and export can still read it)"
    if fs.f_bavail == 0:
        return f" (no space left on the disk holding {folder})"
    if path.exists() and not os.access(path, os.W_OK):
        return " (the file is not writable)"
    return ""


def _open_immutable(url: str, ro_url: str, first: SQLAlchemyError) -> Store:
    engine = make_engine(ro_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUnavailable(
            f"cannot use database {mask_url(url)}: {_first_line(first)} "
            f"(read-only: {_first_line(exc)})"
        ) from exc
    return Store(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


_open: dict[str, Store] = {}


def shared_store(url: str) -> Store:
    """One migrated Store per URL per process, for code that runs many small steps (tasks)."""
    if url not in _open:
        _open[url] = open_store(url)
    return _open[url]
