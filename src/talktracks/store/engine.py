"""Engine, sessions and automatic schema upgrade.

SQLite is the embedded default: WAL so a reader (the review app, a notebook) never blocks the
nightly writer, a busy timeout so short write overlaps wait instead of failing, and foreign
keys on so cascades behave as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
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
        if db and db != ":memory:":
            parent = Path(db).parent
            if not parent.exists():
                try:
                    parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnavailable(
                        f"cannot open database {mask_url(url)}: cannot create {parent}: {exc.strerror}"
                    ) from exc
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
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


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
        if migrate:
            upgrade(engine)
        if writable:
            # A no-op write: fails on a read-only file or a read-only role, before any work starts.
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUnavailable(f"cannot use database {mask_url(url)}: {_first_line(exc)}") from exc
    return Store(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


_open: dict[str, Store] = {}


def shared_store(url: str) -> Store:
    """One migrated Store per URL per process, for code that runs many small steps (tasks)."""
    if url not in _open:
        _open[url] = open_store(url)
    return _open[url]
