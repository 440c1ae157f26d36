"""The nightly batch as a real Prefect flow run over real recordings and broken files.

Covers the bad-input table of the nightly issue, incremental re-runs, retries up to the attempt
limit, requeue, and replacing a changed recording's transcript.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jiwer
import pytest
from sqlalchemy import func, select

from audio_factory import silence
from talktracks.cli import main
from talktracks.orchestration import load_flow_module
from talktracks.store import Call, Utterance, open_store

RIGHT_REF = "The horizon seems extremely distant."
LEFT_REF = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
JFK_REF = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def wer(reference: str, hypothesis: str) -> float:
    norm = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
        ]
    )
    return jiwer.wer(norm(reference), norm(hypothesis))


def run_nightly(settings, recordings: Path):
    """The run's summary; a run with failed calls ends Failed, with the summary as its data."""
    state = load_flow_module("nightly").nightly(
        settings.with_overrides(recordings_dir=recordings), return_state=True
    )
    return state.result(raise_on_failure=False)


def speaker_text(store, call_id: str, speaker: str) -> str:
    with store.session() as s:
        rows = s.scalars(
            select(Utterance.text)
            .where(Utterance.call_id == call_id, Utterance.speaker == speaker)
            .order_by(Utterance.idx)
        ).all()
    return " ".join(rows)


@pytest.fixture()
def messy_folder(tmp_path, real_audio_dir) -> Path:
    """Real speech plus every kind of bad recording the nightly issue lists."""
    rec = tmp_path / "recordings"
    rec.mkdir()
    shutil.copy(real_audio_dir / "jfk.flac", rec / "jfk.flac")
    shutil.copy(real_audio_dir / "stereo_diarization.wav", rec / "stereo.wav")
    (rec / "empty.wav").write_bytes(b"")
    (rec / "truncated.flac").write_bytes((real_audio_dir / "jfk.flac").read_bytes()[:3000])
    (rec / "noise.ogg").write_bytes(bytes(range(256)) * 40)
    (rec / "notes.m4a").write_text("these are meeting notes, not audio\n")
    silence(rec / "quiet.wav", seconds=5.0, channels=2)
    (rec / "calls.csv").write_text(
        "call_id,recording,rep_id,deal_id,started_at,channels\n"
        "stereo,stereo.wav,rep-a,deal-1,2026-11-02T14:05:00+00:00,rep-right\n"
        "ghost,missing.wav,rep-a,deal-1,2026-11-02T15:05:00+00:00,rep-left\n"
        "quiet,quiet.wav,rep-b,deal-2,2026-11-03T10:00:00-05:00,rep-left\n"
    )
    return rec


def test_bad_inputs_never_fail_the_batch_and_retry_up_to_the_limit(
    prefect_api, data_settings, messy_folder, capsys
):
    settings = data_settings
    first = run_nightly(settings, messy_folder)
    store = open_store(settings.database_url)
    with store.session() as s:
        calls = {c.call_id: c for c in s.scalars(select(Call))}
    assert calls["jfk"].status == "done" and calls["stereo"].status == "done"
    assert calls["quiet"].status == "no_speech"
    for bad in ("empty", "truncated", "noise", "notes"):
        assert calls[bad].status == "failed", bad
        assert bad in calls[bad].last_error, calls[bad].last_error  # names the file
        assert calls[bad].attempts == 1
    assert calls["ghost"].status == "failed"
    assert calls["ghost"].last_error.startswith("recording not found")
    assert (first.processed, first.failed, first.no_speech) == (3, 5, 1)
    assert any("jfk.flac: not in the manifest" in w for w in first.warnings)

    # Channel attribution through the whole pipeline: the rep is on the right channel here.
    assert wer(RIGHT_REF, speaker_text(store, "stereo", "rep")) <= 0.25
    assert wer(LEFT_REF, speaker_text(store, "stereo", "customer")) <= 0.25
    assert wer(JFK_REF, speaker_text(store, "jfk", "speaker_1")) <= 0.25  # one voice, unnamed
    with store.session() as s:
        utterances_after_first = s.scalar(select(func.count()).select_from(Utterance))
        assert (
            calls["jfk"].asr_model_hash and calls["jfk"].content_hash and calls["jfk"].duration > 10
        )

    main(["status", "--db", settings.database_url])
    status = capsys.readouterr().out
    assert "failed 5" in status and "no_speech 1" in status
    assert "ghost (attempt 1): recording not found" in status

    # Runs 2 and 3 retry only the failures; stored calls are skipped.
    for attempt in (2, 3):
        summary = run_nightly(settings, messy_folder)
        assert (summary.processed, summary.skipped, summary.failed) == (0, 3, 5)
        with store.session() as s:
            assert s.get(Call, "noise").attempts == attempt
    # Run 4: out of attempts, nothing is retried; they stay failed until requeued.
    summary = run_nightly(settings, messy_folder)
    assert (summary.processed, summary.failed, summary.left_failed) == (0, 0, 5)

    assert main(["requeue", "noise", "--db", settings.database_url]) == 0
    summary = run_nightly(settings, messy_folder)
    assert summary.failed == 1 and summary.failures[0][0] == "noise"
    with store.session() as s:
        assert s.get(Call, "noise").attempts == 1
        assert s.scalar(select(func.count()).select_from(Utterance)) == utterances_after_first


def test_rerun_processes_nothing_and_changed_file_replaces_transcript(
    prefect_api, data_settings, tmp_path, real_audio_dir
):
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(real_audio_dir / "jfk.flac", rec / "call-7.flac")
    first = run_nightly(data_settings, rec)
    assert first.processed == 1
    again = run_nightly(data_settings, rec)
    assert (again.processed, again.skipped, again.failed) == (0, 1, 0)

    # Same call_id, new content: re-transcribed, old utterances replaced (not appended).
    shutil.copy(real_audio_dir / "stereo_diarization.wav", rec / "call-7.flac")
    (rec / "call-7.flac").rename(rec / "call-7.wav")
    changed = run_nightly(data_settings, rec)
    assert changed.processed == 1
    store = open_store(data_settings.database_url)
    with store.session() as s:
        call = s.get(Call, "call-7")
        texts = " ".join(u.text for u in call.utterances)
        assert call.channels == "rep-left" and "horizon" in texts.lower()
        assert "americans" not in texts.lower()
        assert [u.idx for u in call.utterances] == list(range(len(call.utterances)))


def test_malformed_manifest_stops_before_anything_is_processed(data_settings, tmp_path, capsys):
    rec = tmp_path / "rec"
    rec.mkdir()
    silence(rec / "a.wav")
    (rec / "calls.csv").write_text(
        "call_id,recording,rep_id,deal_id,started_at,channels\na,a.wav,r,d,2026-11-02 14:05,rep-left\n"
    )
    code = main(["nightly", "--recordings", str(rec), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.count("\n") == 0 and "row 1, column started_at" in err
    store = open_store(data_settings.database_url)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 0


def test_unreachable_database_is_one_line_naming_the_masked_url(tmp_path, capsys):
    code = main(
        [
            "nightly",
            "--recordings",
            str(tmp_path),
            "--db",
            "postgresql+psycopg://ops:s3cret@127.0.0.1:1/tt",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.count("\n") == 0
    assert "ops:***@127.0.0.1:1/tt" in err and "s3cret" not in err


def test_transcribe_prints_speaker_attributed_lines(real_audio_dir, capsys):
    assert (
        main(
            [
                "transcribe",
                str(real_audio_dir / "stereo_diarization.wav"),
                "--channels",
                "rep-right",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("[") for line in lines)
    rep = " ".join(line.split(": ", 1)[1] for line in lines if "     rep:" in line)
    assert wer(RIGHT_REF, rep) <= 0.25
