"""The nightly flow on a real Dask cluster (a scheduler and two worker processes started here)
against a real PostgreSQL server: every call stored once, with the same transcripts as the
SQLite run on threads; a worker killed mid-call leaves the call retried and stored once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from sqlalchemy import select

from talktracks.config import PROJECT_ROOT
from talktracks.orchestration import load_flow_module
from talktracks.store import Call, Utterance, open_store

SAMPLE = PROJECT_ROOT / "sample_audio"
CALLS = ["c01-solar-intro", "c03-saas-crm", "c08-internet-fiber"]
CLIP_S = 30  # the first 30 s of each sample call keeps the three runs short
DASK = str(Path(sys.executable).with_name("dask"))

# Functions sent to the workers with client.run come from this module, which they cannot import.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    """Stereo WAV clips of three sample calls, with their manifest rows."""
    from faster_whisper import decode_audio

    folder = tmp_path_factory.mktemp("rec")
    manifest = (SAMPLE / "calls.csv").read_text().splitlines()
    rows = [manifest[0]]
    for line in manifest[1:]:
        call_id, recording, *rest = line.split(",")
        if call_id not in CALLS:
            continue
        left, right = decode_audio(str(SAMPLE / recording), split_stereo=True)
        both = np.stack([left[: CLIP_S * 16000], right[: CLIP_S * 16000]], axis=1)
        with wave.open(str(folder / f"{call_id}.wav"), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes((np.clip(both, -1, 1) * 32767).astype("<i2").tobytes())
        rows.append(",".join([call_id, f"{call_id}.wav", *rest]))
    (folder / "calls.csv").write_text("\n".join(rows) + "\n")
    return folder


def transcripts(url: str) -> dict[str, list[tuple[str, str]]]:
    store = open_store(url)
    try:
        with store.session() as s:
            calls = {c.call_id: c for c in s.scalars(select(Call))}
            assert all(c.status == "done" for c in calls.values()), {
                c.call_id: (c.status, c.last_error) for c in calls.values()
            }
            out: dict[str, list[tuple[str, str]]] = {}
            for u in s.scalars(select(Utterance).order_by(Utterance.call_id, Utterance.idx)):
                out.setdefault(u.call_id, []).append((u.speaker, u.text))
            idx = s.execute(select(Utterance.call_id, Utterance.idx)).all()
        assert len(idx) == len(set(idx))  # no utterance stored twice
        return out
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def sqlite_reference(recordings, prefect_api, tmp_path_factory) -> dict:
    """The same calls through the default runner (threads) into SQLite."""
    from talktracks.config import Settings

    data = tmp_path_factory.mktemp("sqlite-run")
    settings = Settings(data_dir=data, recordings_dir=recordings)
    load_flow_module("nightly").nightly(settings)
    got = transcripts(settings.database_url)
    assert set(got) == set(CALLS) and all(got.values())
    return got


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def dask_cluster(tmp_path, prefect_api):
    """`dask scheduler` and two `dask worker --nthreads 1` processes, as a team would run them."""
    from distributed import Client

    env = dict(os.environ, PREFECT_API_URL=prefect_api, HF_HUB_OFFLINE="1")
    env.setdefault("PREFECT_HOME", str(tmp_path / "prefect"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1]]
            + ["--no-dashboard"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    for name in ("w1", "w2"):
        procs.append(
            subprocess.Popen(
                [DASK, "worker", address, "--nthreads", "1", "--name", name, "--no-dashboard"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            yield address, client
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def dask_settings(recordings: Path, tmp_path: Path, url: str, address: str):
    from talktracks.config import Settings

    return Settings(
        data_dir=tmp_path / "data", recordings_dir=recordings, db_url=url, dask_address=address
    )


def test_nightly_on_dask_with_postgresql_stores_each_call_once_as_on_sqlite(
    recordings, sqlite_reference, dask_cluster, pg_url, tmp_path
):
    address, client = dask_cluster
    settings = dask_settings(recordings, tmp_path, pg_url, address)
    summary = load_flow_module("nightly").nightly(settings)
    assert summary.processed == len(CALLS) and summary.failed == 0
    assert transcripts(pg_url) == sqlite_reference
    # The work really ran on the cluster's workers, each of which loaded the model once.
    loaded = client.run(_loaded_models)
    assert sum(loaded.values()) >= 1 and all(n <= 1 for n in loaded.values())
    # A second run finds everything stored and sends nothing.
    again = load_flow_module("nightly").nightly(settings)
    assert again.processed == 0 and again.skipped == len(CALLS)


def _loaded_models() -> int:
    from talktracks.speech import model

    return len(model._model_cache)


def test_worker_killed_mid_call_is_retried_and_the_call_stored_once(
    recordings, sqlite_reference, dask_cluster, pg_url, tmp_path
):
    address, client = dask_cluster
    settings = dask_settings(recordings, tmp_path, pg_url, address)
    result: dict = {}

    def run() -> None:
        try:
            result["summary"] = load_flow_module("nightly").nightly(settings)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and time.monotonic() < deadline and runner.is_alive():
        busy = {w: keys for w, keys in client.processing().items() if keys}
        if busy:
            time.sleep(1.0)  # well into the call: model loaded, decoding under way
            busy = {w: keys for w, keys in client.processing().items() if keys}
            if busy:
                worker = sorted(busy)[0]
                os.kill(client.run(os.getpid, workers=[worker])[worker], signal.SIGKILL)
                killed = (worker, busy[worker])
        time.sleep(0.1)
    runner.join(timeout=600)
    assert killed is not None, "no worker was ever busy with a call"
    assert "error" not in result, result.get("error")
    summary = result["summary"]
    assert summary.failed == 0 and summary.processed == len(CALLS)
    assert transcripts(pg_url) == sqlite_reference
    assert killed[0] not in client.scheduler_info()["workers"]  # that worker process is gone
