"""A full disk and a read-only mount, made for real with tmpfs (skipped where mounting is not
allowed): one-line errors naming the database and the cause, the run row closed as failed,
stored calls intact; status and export still read a read-only store."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from talktracks.batch.progress import listening
from talktracks.cli import main
from talktracks.orchestration import load_flow_module
from talktracks.store import Call, Run, Utterance, open_store
from talktracks.store.engine import _open as shared_stores


@pytest.fixture()
def tmpfs(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not permitted'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write until the disk says no more."""
    filler = folder / "filler.bin"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def forget(url: str) -> None:
    """Close the process's shared store, so the next run opens it afresh (as a new run would)."""
    store = shared_stores.pop(url, None)
    if store is not None:
        store.dispose()


def test_full_disk_mid_run_is_one_line_a_failed_run_row_and_nothing_lost(
    prefect_api, data_settings, tmpfs, tmp_path, real_audio_dir
):
    url = f"sqlite:///{tmpfs / 'talktracks.db'}"
    settings = data_settings.with_overrides(db_url=url, transcribe_in_child=False)
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(real_audio_dir / "jfk.flac", rec / "jfk.flac")
    nightly = load_flow_module("nightly").nightly
    first = nightly(settings.with_overrides(recordings_dir=rec))
    assert first.status == "completed" and first.processed == 1
    store = open_store(url)
    with store.session() as s:
        before = s.scalar(select(func.count()).select_from(Utterance))
    store.dispose()
    forget(url)

    shutil.copy(real_audio_dir / "stereo_diarization.wav", rec / "duo.wav")
    fillers: list[Path] = []

    def disk_fills_up(event, payload):
        if event == "planned":  # the pending rows are in; the disk fills before transcription
            fillers.append(fill(tmpfs))

    try:
        with listening(disk_fills_up):
            state = nightly(settings.with_overrides(recordings_dir=rec), return_state=True)
        assert state.is_failed()  # a run the store stopped is a Failed flow run in Prefect
        summary = state.result(raise_on_failure=False)
        assert summary.status == "failed"
        assert "\n" not in summary.error
        assert f"cannot write to database {url}: database or disk is full" in summary.error
        assert "could not be closed" not in summary.error
        forget(url)
    finally:
        for f in fillers:
            f.unlink()
    store = open_store(url)
    with store.session() as s:
        runs = list(s.scalars(select(Run).order_by(Run.id)))
        assert runs[-1].status == "failed" and "database or disk is full" in runs[-1].error
        jfk, duo = s.get(Call, "jfk"), s.get(Call, "duo")
        assert jfk.status == "done" and jfk.last_error is None  # not turned into a failure
        assert s.scalar(select(func.count()).select_from(Utterance)) == before
        assert duo.status == "pending" and duo.attempts == 0  # left as it was: retried next run
    store.dispose()


def test_read_only_mount_status_and_export_read_it_and_nightly_says_why(tmpfs, tmp_path, capsys):
    url = f"sqlite:///{tmpfs / 'ro.db'}"
    store = open_store(url)
    with store.session() as s:
        s.add(Call(call_id="c1", status="done", source="audio", channels="mono", attempts=1))
        s.add(Utterance(call_id="c1", idx=0, speaker="unknown", start=0, end=1, text="hello"))
    store.dispose()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)

    assert main(["status", "--db", url]) == 0
    assert "calls by state: done 1" in capsys.readouterr().out
    out = tmp_path / "u.jsonl"
    assert main(["export", "utterances", "--db", url, "--out", str(out)]) == 0
    assert '"text": "hello"' in out.read_text()
    capsys.readouterr()

    rec = tmp_path / "rec"
    rec.mkdir()
    code = main(["nightly", "--recordings", str(rec), "--db", url, "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert f"cannot use database {url}" in err and "read-only file system" in err
