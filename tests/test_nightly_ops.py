"""What operators see of a nightly run, read back from a real Prefect API: the flow run's
state, the per-call task runs (named after their call ids), the run logger's records, the
Markdown summary artifact, and `talktracks nightly`'s exit status.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from talktracks.cli import main
from talktracks.store import Call, Run, open_store


def flow_run_of_last_run(settings) -> uuid.UUID:
    store = open_store(settings.database_url)
    with store.session() as s:
        run = s.scalars(select(Run).order_by(Run.id.desc())).first()
        assert run is not None and run.flow_run_id
        return uuid.UUID(run.flow_run_id)


def read_back(flow_run_id: uuid.UUID):
    """The flow run, its task runs, its log records and its artifacts, from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # log records are sent in batches; the test reads them right away
    runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        task_runs = client.read_task_runs(flow_run_filter=runs)
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
        artifacts = client.read_artifacts(flow_run_filter=runs)
    return flow_run, task_runs, logs, artifacts


@pytest.fixture()
def broken_batch(tmp_path, real_audio_dir) -> Path:
    """One real call, a corrupt WAV and a zero-byte MP3 (the issue's example)."""
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(real_audio_dir / "jfk.flac", rec / "good-1.flac")
    (rec / "corrupt-2.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)))
    (rec / "empty-3.mp3").write_bytes(b"")
    return rec


def test_failed_calls_fail_the_flow_run_and_exit_1(
    prefect_api, data_settings, broken_batch, capsys
):
    code = main(["nightly", "--recordings", str(broken_batch), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "2 of 3 calls failed (corrupt-2, empty-3)" in captured.err

    flow_run, task_runs, logs, artifacts = read_back(flow_run_of_last_run(data_settings))
    # The documented state: Failed (type and name), with the failing calls in its message.
    assert flow_run.state.type.value == "FAILED" and flow_run.state.name == "Failed"
    assert "corrupt-2" in flow_run.state.message and "empty-3" in flow_run.state.message

    by_name = {t.name: t for t in task_runs}
    for call_id, expected in (
        ("good-1", "COMPLETED"),
        ("corrupt-2", "FAILED"),
        ("empty-3", "FAILED"),
    ):
        assert by_name[f"transcribe-{call_id}"].state.type.value == expected, call_id
    assert "corrupt-2.wav" in by_name["transcribe-corrupt-2"].state.message

    messages = [(log.level, log.message) for log in logs]
    good = [m for level, m in messages if m.startswith("call good-1: done in ") and level == 20]
    assert good and "s of audio" in good[0], messages
    bad = [m for level, m in messages if m.startswith("call empty-3: failed in ") and level == 40]
    assert bad and "empty-3.mp3" in bad[0], messages  # the reason names the file

    (artifact,) = [a for a in artifacts if a.key == "nightly-run-summary"]
    assert artifact.type == "markdown"
    assert "| failed this run | 2 |" in artifact.data
    assert "## Failures" in artifact.data and "| corrupt-2 | " in artifact.data

    # The same batch again with --allow-failures: the failures are retried, still fail, exit 0.
    assert main(["nightly", "--recordings", str(broken_batch), "--allow-failures"]) == 0


def test_allow_failures_setting_exits_0(prefect_api, data_settings, broken_batch, monkeypatch):
    from talktracks import config

    monkeypatch.setenv("TALKTRACKS_ALLOW_FAILURES", "true")
    config.get_settings.cache_clear()
    assert main(["nightly", "--recordings", str(broken_batch), "--no-progress"]) == 0
    flow_run, *_ = read_back(flow_run_of_last_run(data_settings))
    assert flow_run.state.type.value == "FAILED"  # the exit code changes, the truth does not


def test_clean_batch_exits_0_with_a_completed_state(
    prefect_api, data_settings, tmp_path, real_audio_dir, capsys
):
    rec = tmp_path / "clean"
    rec.mkdir()
    shutil.copy(real_audio_dir / "jfk.flac", rec / "jfk.flac")
    assert main(["nightly", "--recordings", str(rec), "--no-progress"]) == 0
    assert "completed" in capsys.readouterr().out

    flow_run, task_runs, logs, artifacts = read_back(flow_run_of_last_run(data_settings))
    assert flow_run.state.type.value == "COMPLETED" and flow_run.state.name == "Completed"
    assert [t.state.type.value for t in task_runs if t.name == "transcribe-jfk"] == ["COMPLETED"]
    assert any(log.message.startswith("call jfk: done in ") for log in logs)
    (artifact,) = [a for a in artifacts if a.key == "nightly-run-summary"]
    assert "| transcribed | 1 (0 with no speech) |" in artifact.data
    assert "## Failures" not in artifact.data


def test_dry_run_changes_nothing_and_lists_the_work(
    prefect_api, data_settings, broken_batch, capsys
):
    assert main(["nightly", "--recordings", str(broken_batch), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: 3 of 3 recordings would be processed" in out
    assert "would process corrupt-2 (new)" in out
    store = open_store(data_settings.database_url)
    with store.session() as s:
        assert s.scalars(select(Run)).first() is None  # no run recorded
        assert s.scalars(select(Call)).first() is None  # no call registered as pending
