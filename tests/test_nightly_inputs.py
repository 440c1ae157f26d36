"""Smaller nightly input rules: failed deals imports fail the run; Prefect's home is made."""

from __future__ import annotations

import os

import pytest

from talktracks.errors import ConfigError
from talktracks.orchestration import configure_prefect, load_flow_module


def test_bad_deals_file_fails_the_run(prefect_api, data_settings, tmp_path):
    bad = tmp_path / "deals.csv"
    bad.write_text("deal_id,outcome\nd1,maybe\n")
    rec = tmp_path / "rec"
    rec.mkdir()
    state = load_flow_module("nightly").nightly(
        data_settings.with_overrides(recordings_dir=rec, deals_csv=bad), return_state=True
    )
    assert state.is_failed()  # operators' alerts key on the state type
    summary = state.result(raise_on_failure=False)
    assert summary.status == "completed_with_failures"  # the CLI exits 1 on this
    assert summary.extra["deals"].startswith("FAILED")


def test_prefect_home_is_created_wherever_the_data_dir_points(data_settings, tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    deep = tmp_path / "not" / "there" / "yet"
    configure_prefect(data_settings.with_overrides(data_dir=deep))
    assert (deep / "prefect").is_dir() and os.environ["PREFECT_HOME"] == str(deep / "prefect")


def test_prefect_home_that_cannot_be_made_is_one_line(data_settings, tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError) as info:
        configure_prefect(data_settings.with_overrides(data_dir=blocker / "data"))
    message = str(info.value)
    assert "\n" not in message and f"cannot create Prefect's home folder {blocker}" in message
