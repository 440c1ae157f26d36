"""One nightly at a time per store: the lease row, its expiry, and two real nightlies at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from talktracks.batch.lease import acquire, check_free
from talktracks.errors import StoreBusy
from talktracks.store import Lease, Run, open_store


@pytest.fixture()
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'lease.db'}")
    yield s
    s.dispose()


def set_holder(store, **values) -> None:
    with store.session() as s:
        s.execute(update(Lease).where(Lease.name == "nightly").values(**values))


def test_second_acquire_is_refused_naming_the_holder_and_release_frees_it(store):
    first = acquire(store, ttl_s=60)
    with pytest.raises(StoreBusy) as info:
        acquire(store, ttl_s=60)
    message = str(info.value)
    assert message.startswith("another nightly run (started at ")
    assert f"pid {os.getpid()} on host " in message and "holds the store sqlite:///" in message
    assert info.value.exit_code == 3
    first.release()
    acquire(store, ttl_s=60).release()


def test_a_live_holder_elsewhere_blocks_until_its_lease_expires(store):
    now = datetime.now(UTC)
    live = dict(owner="other", pid=1, host="elsewhere", acquired_at=now, heartbeat_at=now)
    set_holder(store, **live, expires_at=now + timedelta(seconds=60))
    with pytest.raises(StoreBusy, match="pid 1 on host elsewhere"):
        check_free(store)
    set_holder(store, expires_at=now - timedelta(seconds=1))  # its heartbeats stopped
    check_free(store)
    lease = acquire(store, ttl_s=60)
    with store.session() as s:
        assert s.get(Lease, "nightly").owner == lease.owner
    lease.release()


def test_a_dead_pid_on_this_host_frees_the_lease_at_once(store):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = datetime.now(UTC)
    set_holder(
        store,
        owner="killed",
        pid=dead.pid,
        host=os.uname().nodename,
        acquired_at=now,
        heartbeat_at=now,
        expires_at=now + timedelta(hours=1),
    )
    acquire(store, ttl_s=60).release()


def test_heartbeat_extends_the_lease(store):
    lease = acquire(store, ttl_s=2)
    with store.session() as s:
        first = s.get(Lease, "nightly").expires_at
    time.sleep(1.2)  # the heartbeat runs every ttl/4
    with store.session() as s:
        assert s.get(Lease, "nightly").expires_at > first
    lease.release()


def test_two_nightlies_at_once_the_second_exits_3_and_the_first_completes(
    prefect_api, tmp_path, real_audio_dir
):
    rec = tmp_path / "rec"
    rec.mkdir()
    for i in range(3):
        shutil.copy(real_audio_dir / "stereo_diarization.wav", rec / f"duo-{i}.wav")
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TALKTRACKS_"))},
        "TALKTRACKS_DATA_DIR": str(data),
        "TALKTRACKS_WHISPER_CPU_THREADS": "1",
        "PREFECT_API_URL": prefect_api,
    }
    cmd = [sys.executable, "-m", "talktracks", "nightly", "--recordings", str(rec), "--no-progress"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"sqlite:///{(data / 'talktracks.db').resolve()}"
    deadline = time.monotonic() + 240
    held = False
    while time.monotonic() < deadline and first.poll() is None and not held:
        time.sleep(0.3)
        try:
            s = open_store(url, migrate=False, writable=False)
            with s.session() as session:
                held = (
                    session.scalar(select(Lease.owner).where(Lease.name == "nightly")) is not None
                )
            s.dispose()
        except Exception:  # noqa: BLE001 - not created yet
            held = False
    assert held, "the first nightly never took the lease"
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 3, second.stdout + second.stderr
    err = second.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "another nightly run (started at " in err and f"pid {first.pid} on host" in err
    out, _ = first.communicate(timeout=400)
    assert first.returncode == 0, out.decode()
    store = open_store(url)
    with store.session() as s:
        runs = list(s.scalars(select(Run)))
        assert [r.status for r in runs] == ["completed"]  # the second never opened a run
        assert s.get(Lease, "nightly").owner is None  # released at the end
    store.dispose()
