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
