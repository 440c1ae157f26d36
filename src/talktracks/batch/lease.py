"""One nightly run at a time per store: a lease row with owner, heartbeat and expiry.

Taking the lease is a compare-and-set on the one `leases` row: read it (PostgreSQL: `SELECT
... FOR UPDATE SKIP LOCKED`, so a second starter does not even wait), decide whether it is
free, then `UPDATE ... WHERE owner IS <what we read>`; only one starter's UPDATE matches. The
holder refreshes the heartbeat from a background thread; a lease whose heartbeat stopped
(the holder was killed) expires after `ttl_s`, and on the holder's own host a dead pid frees
it at once, so a re-run right after a kill does not wait.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from talktracks.errors import StoreBusy
from talktracks.store import Lease, Store, mask_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    owner: str
    pid: int | None
    host: str | None
    acquired_at: datetime | None
    expires_at: datetime | None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child nobody has waited for yet is a zombie: dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_live(row: Lease, now: datetime) -> bool:
    if row.owner is None:
        return False
    if row.expires_at is not None and row.expires_at <= now:
        return False
    same_host_dead = (
        row.host == socket.gethostname() and row.pid is not None and not _pid_alive(row.pid)
    )
    return not same_host_dead


def _busy(store: Store, row: Lease, name: str) -> StoreBusy:
    started = f"{row.acquired_at:%Y-%m-%d %H:%M:%S} UTC" if row.acquired_at else "an unknown time"
    expires = f"{row.expires_at:%H:%M:%S} UTC" if row.expires_at else "never"
    return StoreBusy(
        f"another {name} run (started at {started}, pid {row.pid} on host {row.host}) holds "
        f"the store {mask_url(store.url)}; its lease expires at {expires} if it stops "
        "sending heartbeats"
    )


def check_free(store: Store, name: str = "nightly") -> None:
    """Raise StoreBusy when a live run holds the lease (a read only; nothing is taken)."""
    with store.session() as s:
        row = s.get(Lease, name)
        if row is not None and _is_live(row, datetime.now(UTC)):
            raise _busy(store, row, name)


class NightlyLease:
    """A held lease; `check()` raises StoreBusy if the heartbeat found it taken over."""

    def __init__(self, store: Store, name: str, owner: str, ttl_s: float) -> None:
        self.store, self.name, self.owner, self.ttl_s = store, name, owner, ttl_s
        self._stop = threading.Event()
        self._lost: str | None = None
        self._thread = threading.Thread(target=self._beat, name=f"{name}-lease", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(max(self.ttl_s / 4, 0.5)):
            try:
                if not self.heartbeat():
                    self._lost = "the lease was taken over after it expired"
                    return
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried next period
                log.warning("lease heartbeat failed: %s", exc)

    def heartbeat(self) -> bool:
        now = datetime.now(UTC)
        with self.store.session() as s:
            result = s.execute(
                update(Lease)
                .where(Lease.name == self.name, Lease.owner == self.owner)
                .values(heartbeat_at=now, expires_at=now + timedelta(seconds=self.ttl_s))
            )
            return result.rowcount == 1

    def set_run(self, run_id: int) -> None:
        with self.store.session() as s:
            s.execute(
                update(Lease)
                .where(Lease.name == self.name, Lease.owner == self.owner)
                .values(run_id=run_id)
            )

    def check(self) -> None:
        if self._lost:
            raise StoreBusy(f"{self.name} run stopped: {self._lost} ({mask_url(self.store.url)})")

    def release(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self.store.session() as s:
            s.execute(
                update(Lease)
                .where(Lease.name == self.name, Lease.owner == self.owner)
                .values(owner=None, pid=None, host=None, run_id=None, expires_at=None)
            )


def acquire(store: Store, name: str = "nightly", ttl_s: float = 120.0) -> NightlyLease:
    """Take the lease or raise StoreBusy naming the holder."""
    now = datetime.now(UTC)
    owner = uuid.uuid4().hex
    values = {
        "owner": owner,
        "pid": os.getpid(),
        "host": socket.gethostname()[:255],
        "acquired_at": now,
        "heartbeat_at": now,
        "expires_at": now + timedelta(seconds=ttl_s),
        "run_id": None,
    }

    def take(s, seen: str | None) -> bool:  # noqa: ANN001
        match = Lease.owner.is_(None) if seen is None else Lease.owner == seen
        result = s.execute(update(Lease).where(Lease.name == name, match).values(**values))
        return result.rowcount == 1

    if store.engine.dialect.name == "postgresql":
        # The row lock makes read-decide-write one step; SKIP LOCKED means a second starter
        # sees no row instead of queueing behind the first.
        with store.session() as s:
            row = s.scalars(
                select(Lease).where(Lease.name == name).with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None:
                raise StoreBusy(f"another {name} run is starting on {mask_url(store.url)}")
            if _is_live(row, now):
                raise _busy(store, row, name)
            if not take(s, row.owner):
                raise _busy(store, row, name)
    else:
        # SQLite: read, then one conditional UPDATE in its own write transaction; of two
        # starters that read the same row, only the first UPDATE still matches.
        with store.session() as s:
            row = s.get(Lease, name)
            if row is None:
                raise StoreBusy(
                    f"{mask_url(store.url)} has no {name} lease row; upgrade the schema"
                )
            if _is_live(row, now):
                raise _busy(store, row, name)
            seen = row.owner
        with store.session() as s:
            if not take(s, seen):
                current = s.get(Lease, name)
                raise _busy(store, current, name)
    lease = NightlyLease(store, name, owner, ttl_s)
    lease._thread.start()
    return lease


@contextmanager
def holding(store: Store, name: str = "nightly", ttl_s: float = 120.0) -> Iterator[NightlyLease]:
    lease = acquire(store, name, ttl_s)
    try:
        yield lease
    finally:
        try:
            lease.release()
        except Exception as exc:  # noqa: BLE001 - an unreleased lease expires by itself
            log.warning("could not release the %s lease: %s", name, exc)
