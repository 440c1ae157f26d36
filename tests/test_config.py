"""One settings object: defaults, talktracks.toml, then TALKTRACKS_* environment variables."""

from __future__ import annotations

from pathlib import Path

from talktracks.config import Settings


def test_toml_then_environment(tmp_path, monkeypatch):
    toml = tmp_path / "talktracks.toml"
    toml.write_text('data_dir = "/srv/tt"\nmax_attempts = 5\nschedule_cron = "30 1 * * *"\n')
    monkeypatch.setenv("TALKTRACKS_CONFIG", str(toml))
    monkeypatch.delenv("TALKTRACKS_DATA_DIR", raising=False)
    monkeypatch.setenv("TALKTRACKS_MAX_ATTEMPTS", "7")
    s = Settings()
    assert s.data_dir == Path("/srv/tt")
    assert s.max_attempts == 7  # the environment wins over the file
    assert s.schedule_cron == "30 1 * * *"
    assert s.database_url == "sqlite:////srv/tt/talktracks.db"


def test_cli_overrides_ignore_unset_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("TALKTRACKS_CONFIG", str(tmp_path / "absent.toml"))
    s = Settings().with_overrides(db_url="sqlite:///x.db", recordings_dir=None)
    assert s.database_url == "sqlite:///x.db"
    assert s.recordings_dir == Settings().recordings_dir
