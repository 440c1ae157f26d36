"""Mistakes refused with one line naming them, before anything is written: a recordings folder
that is not there, a SQLite URL whose folder does not exist, and analysis output that would
land in another database's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthetic import generate
from talktracks.cli import main
from talktracks.errors import ConfigError
from talktracks.store import open_store


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_nightly_refuses_a_missing_recordings_folder(data_settings, tmp_path, capsys):
    missing = tmp_path / "unmounted-share"
    assert main(["nightly", "--recordings", str(missing), "--no-progress"]) == 2
    assert one_line_error(capsys) == (
        f"talktracks: error: recordings folder {missing} does not exist"
    )
    assert not (data_settings.data_dir / "prefect").exists()  # refused before Prefect started


def test_nightly_refuses_a_file_given_as_the_recordings_folder(data_settings, tmp_path, capsys):
    a_file = tmp_path / "calls.wav"
    a_file.write_bytes(b"")
    assert main(["nightly", "--recordings", str(a_file), "--no-progress"]) == 2
    assert f"recordings folder {a_file} is not a folder" in one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_nightly_refuses_an_unreadable_recordings_folder(data_settings, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        assert main(["nightly", "--recordings", str(locked), "--no-progress"]) == 2
        assert f"recordings folder {locked} cannot be read" in one_line_error(capsys)
    finally:
        locked.chmod(0o700)


def test_the_flow_itself_refuses_a_missing_folder(prefect_api, data_settings, tmp_path):
    """A scheduled run (no CLI pre-check) ends Failed with the same one-line reason."""
    from talktracks.orchestration import load_flow_module

    state = load_flow_module("nightly").nightly(
        data_settings, recordings=str(tmp_path / "gone"), return_state=True
    )
    assert state.is_failed()
    exc = state.result(raise_on_failure=False)
    assert isinstance(exc, ConfigError) and "gone does not exist" in str(exc)


def test_sqlite_url_in_a_missing_folder_is_refused_not_created(tmp_path, capsys):
    folder = tmp_path / "nonexistent" / "dir"
    url = f"sqlite:///{folder / 'x.db'}"
    assert main(["status", "--db", url]) == 2
    err = one_line_error(capsys)
    assert url in err and f"folder {folder} does not exist" in err
    assert not folder.parent.exists()  # nothing was created on the way


def test_sqlite_file_in_an_existing_folder_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    open_store(url).dispose()
    assert (tmp_path / "new.db").is_file()


def test_the_default_data_directory_is_still_created(data_settings):
    assert not data_settings.data_dir.exists()
    assert main(["status"]) == 0
    assert (data_settings.data_dir / "talktracks.db").is_file()


@pytest.fixture()
def other_db(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "other.db"
    path.parent.mkdir()
    store = open_store(f"sqlite:///{path}")
    generate(3, n_deals=40, n_reps=4, utterances_per_call=4).write(store)
    store.dispose()
    return path


def test_analyze_writes_beside_the_database_it_reads(data_settings, other_db, capsys):
    assert main(["analyze", "--db", f"sqlite:///{other_db}"]) == 0
    out = other_db.parent / "other-analysis"
    captured = capsys.readouterr()
    assert str(out) in captured.out
    assert captured.err == ""  # no progress drawn when stderr is not a terminal
    assert (out / "report.html").is_file() and (out / "effects.csv").is_file()
    # The configured database's folder is left alone (not even created).
    assert not data_settings.data_dir.exists()


def test_analyze_of_the_default_database_writes_to_the_data_directory(data_settings, capsys):
    assert main(["analyze"]) == 0
    assert (data_settings.data_dir / "analysis" / "report.html").is_file()


def test_analyze_honours_the_analysis_dir_setting_for_the_configured_database(
    data_settings, other_db, tmp_path, monkeypatch
):
    from talktracks import config

    monkeypatch.setenv("TALKTRACKS_DB_URL", f"sqlite:///{other_db}")
    monkeypatch.setenv("TALKTRACKS_ANALYSIS_DIR", str(tmp_path / "reports"))
    config.get_settings.cache_clear()
    assert main(["analyze"]) == 0
    assert (tmp_path / "reports" / "report.html").is_file()
    # ...and only for it: another database still writes beside itself.
    third = tmp_path / "third.db"
    third.write_bytes(other_db.read_bytes())
    assert main(["analyze", "--db", f"sqlite:///{third}"]) == 0
    assert (tmp_path / "third-analysis" / "report.html").is_file()


def test_analyze_of_another_server_database_needs_out(data_settings, capsys):
    url = "postgresql+psycopg://ops:s3cret@127.0.0.1:1/tt"
    assert main(["analyze", "--db", url]) == 2
    err = one_line_error(capsys)
    assert "give --out DIR" in err and "ops:***@127.0.0.1:1/tt" in err and "s3cret" not in err
