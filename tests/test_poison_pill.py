"""A recording that kills its process: it spends an attempt each time, fails after max_attempts,
and every other call is still processed in each of those runs. Real processes, real audio.

The kill comes from the test-only hook in talktracks.batch.testhooks (SIGKILL after the
attempt is counted, before decoding): what the out-of-memory killer or a crashing decoder do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
from sqlalchemy import select

from talktracks.batch.testhooks import KILL_VARIABLE
from talktracks.speech import SAMPLE_RATE, decode_channels
from talktracks.store import Call, Run, open_store


def nightly(recordings: Path, data: Path, api_url: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TALKTRACKS_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "talktracks",
            "nightly",
            "--recordings",
            str(recordings),
            "--no-progress",
        ],
        env={
            **base,
            "TALKTRACKS_DATA_DIR": str(data),
            "TALKTRACKS_WHISPER_CPU_THREADS": "1",
            "PREFECT_API_URL": api_url,
            KILL_VARIABLE: "z-poison",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def add_new_call(real_audio_dir: Path, rec: Path, i: int) -> str:
    """A distinct real two-speaker recording (its own hash) for run i."""
    left, right = decode_channels(real_audio_dir / "stereo_diarization.wav")
    pad = np.zeros(int(0.25 * i * SAMPLE_RATE) + 1, dtype=np.float32)
    pcm = (np.stack([np.concatenate([left, pad]), np.concatenate([right, pad])]) * 32767).astype(
        "<i2"
    )
    with wave.open(str(rec / f"new-{i}.wav"), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.T.tobytes())
    return f"new-{i}"


def calls(url: str) -> dict[str, Call]:
    store = open_store(url)
    with store.session() as s:
        out = {c.call_id: c for c in s.scalars(select(Call))}
    store.dispose()
    return out


def test_worker_crash_fails_only_its_call_and_after_max_attempts_for_good(
    prefect_api, tmp_path, real_audio_dir
):
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(real_audio_dir / "jfk.flac", rec / "z-poison.flac")
    data = tmp_path / "data"
    url = f"sqlite:///{(data / 'talktracks.db').resolve()}"
    for run in (1, 2):
        new = add_new_call(real_audio_dir, rec, run)
        result = nightly(rec, data, prefect_api, TALKTRACKS_MAX_ATTEMPTS="2")
        log = result.stdout + result.stderr
        assert result.returncode == 1, log  # the run completed; one call failed
        assert "Traceback" not in log, log
        state = calls(url)
        poison = state["z-poison"]
        assert (poison.status, poison.attempts, poison.crashes) == ("failed", run, run), log
        times = "1 time" if run == 1 else f"{run} times"
        assert poison.last_error.startswith(
            f"the process ended while transcribing this recording ({times}): "
            "probably out of memory or a decoder crash"
        ), poison.last_error
        assert "SIGKILL" in poison.last_error
        # Every other call, including this run's new one, was processed in this run.
        assert all(state[f"new-{i}"].status == "done" for i in range(1, run + 1)), log
        assert f"{new}: done" in log
    # Out of attempts (2 here): the next run leaves it failed and does not touch it. (The
    # in-process test below also runs the run after the last attempt.)


def test_orchestrator_killed_mid_call_spends_the_attempt_and_is_closed_next_start(
    prefect_api, tmp_path, real_audio_dir
):
    """Without the worker the whole run dies; the next start counts it, closes the dead run
    with what it did, and runs the crashing recording last, so the others still get done."""
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(real_audio_dir / "jfk.flac", rec / "z-poison.flac")
    data = tmp_path / "data"
    url = f"sqlite:///{(data / 'talktracks.db').resolve()}"
    env = {"TALKTRACKS_TRANSCRIBE_IN_CHILD": "false", "TALKTRACKS_MAX_ATTEMPTS": "2"}
    for run in (1, 2):
        add_new_call(real_audio_dir, rec, run)
        result = nightly(rec, data, prefect_api, **env)
        assert result.returncode == -9, result.stdout + result.stderr  # killed itself
        state = calls(url)
        assert state["z-poison"].attempts == run and state["z-poison"].status != "done"
        assert state[f"new-{run}"].status == "done"  # processed before the poison, this run
    add_new_call(real_audio_dir, rec, 3)
    result = nightly(rec, data, prefect_api, **env)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log  # the poison is out of attempts: nothing fails this run
    state = calls(url)
    assert state["z-poison"].status == "failed"
    assert "(2 times): probably out of memory or a decoder crash" in state["z-poison"].last_error
    assert state["new-3"].status == "done"
    store = open_store(url)
    with store.session() as s:
        runs = list(s.scalars(select(Run).order_by(Run.id)))
    store.dispose()
    assert [r.status for r in runs] == ["aborted", "aborted", "completed"]
    # Closed with real counts: each dead run transcribed its new call and lost the poison.
    assert [(r.processed, r.failed) for r in runs[:2]] == [(1, 1), (1, 1)]


def test_worker_memory_limit_ends_the_worker_not_the_caller(real_audio_dir):
    """A worker over its address-space limit dies; the caller gets WorkerDied and goes on."""
    import pytest

    from talktracks.batch.worker import TranscriptionWorker, WorkerDied
    from talktracks.config import Settings

    worker = TranscriptionWorker(Settings(worker_memory_limit_mb=400, whisper_cpu_threads=1))
    try:
        with pytest.raises(WorkerDied, match="worker exited with status 1"):
            worker("jfk", real_audio_dir / "jfk.flac", "mono")
    finally:
        worker.close()
