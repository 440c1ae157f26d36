"""Shared fixtures. Keep each fixture self-contained: several areas of the project add theirs here."""

from __future__ import annotations

from pathlib import Path

import pytest

# /work/main/tests/conftest.py -> /work/shared/data/real_audio (the shared folder sits beside the repo).
REAL_AUDIO_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_audio"


@pytest.fixture(scope="session")
def real_audio_dir() -> Path:
    """Real speech recordings with reference transcripts (see its README.md)."""
    if not REAL_AUDIO_DIR.is_dir():
        pytest.skip(f"shared real recordings not found at {REAL_AUDIO_DIR}")
    return REAL_AUDIO_DIR


@pytest.fixture(scope="session")
def whisper_model():
    """The embedded tiny.en, loaded once for the whole test session (real faster-whisper)."""
    from talktracks.speech import load_model

    return load_model("embedded", device="auto", compute_type="default", cpu_threads=0)


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """One temporary Prefect API server for the whole session (real flow runs, no 20 s start each).

    Yields its URL so subprocess tests can point PREFECT_API_URL at it too.
    """
    import os

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


@pytest.fixture()
def data_settings(tmp_path, monkeypatch):
    """Settings pointing at a fresh data dir (and SQLite DB) under tmp_path."""
    from talktracks import config

    monkeypatch.setenv("TALKTRACKS_DATA_DIR", str(tmp_path / "data"))
    config.get_settings.cache_clear()
    yield config.get_settings()
    config.get_settings.cache_clear()


# --- PostgreSQL: a real server per test session, a fresh database per test ------------------

_PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin(name: str) -> str | None:
    import shutil

    for folder in _PG_BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return shutil.which(name)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server (Debian's `postgresql`), initdb'd into a temp dir and started
    for this session on a free localhost port; yields the URL of its `postgres` database.

    The server refuses to run as root, so as root it runs as the `postgres` system user.
    Skips only where no server binary is installed.
    """
    import os
    import pwd
    import shutil
    import socket
    import subprocess
    import tempfile

    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); apt-get install postgresql")
    # Not under pytest's tmp dir: that is mode 0700 for root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="talktracks-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no `postgres` user to run the server as")
        for path in (root, sock):
            os.chown(path, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {(done.stderr or done.stdout).strip()}")

    run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    options = (
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def pg_url(pg_server):
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    from talktracks.store import engine as store_engine

    for url in [u for u in store_engine._open if u.endswith(f"/{name}")]:
        store_engine._open.pop(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def db_url(request, tmp_path):
    """A fresh store URL: a SQLite file by default; tests marked `@both_stores`
    (tests/stores.py) run once on SQLite and once on a real PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        # open_store refuses a SQLite file in a missing folder (a mistyped URL), so make it.
        (tmp_path / "db").mkdir(exist_ok=True)
        return f"sqlite:///{tmp_path / 'db' / 'tt.db'}"
    return request.getfixturevalue("pg_url")
