"""Attempt bookkeeping that survives the process: a recording that kills it spends an attempt.

Before a recording is decoded, its attempt is counted and its start recorded in a transaction
of its own (`begin_attempt`). Every way an attempt ends normally clears the start. So a start
still set when the next run begins (under the lease, so no other run is working on it) means
the process died on that recording: out of memory, or a decoder crash. `settle_interrupted`
counts that as a crash; once the call is out of attempts it is `failed` with a reason, and
the batch goes on without it instead of dying on it night after night.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from talktracks.store import Call, Store


def crash_reason(crashes: int) -> str:
    times = "1 time" if crashes == 1 else f"{crashes} times"
    return (
        f"the process ended while transcribing this recording ({times}): "
        "probably out of memory or a decoder crash"
    )


def begin_attempt(
    store: Store, call_id: str, run_id: int | None = None, content_hash: str | None = None
) -> int:
    """Count an attempt and record its start, committed before any decoding; returns the count.

    The content hash is recorded too: the attempt is on this content, so a crash is not taken
    for "the file changed" next time (which would hand out fresh attempts forever).
    """
    with store.session() as s:
        call = s.get(Call, call_id)
        if call is None:  # process_call on a job that was never registered (a notebook)
            call = Call(call_id=call_id, status="pending", attempts=0, source="audio")
            s.add(call)
        call.attempts = (call.attempts or 0) + 1
        call.attempt_started_at = datetime.now(UTC)
        call.content_hash = content_hash
        if run_id is not None:
            call.last_run_id = run_id
        return call.attempts


def undo_attempt(store: Store, call_id: str) -> None:
    """Give back an attempt that a passing error (a locked database) cut short; it is retried."""
    with store.session() as s:
        call = s.get(Call, call_id)
        if call is not None and call.attempt_started_at is not None:
            call.attempts = max((call.attempts or 1) - 1, 0)
            call.attempt_started_at = None


def record_crash(call: Call) -> None:
    """Inside the caller's transaction: the attempt on `call` ended with its process."""
    call.crashes = (call.crashes or 0) + 1
    call.attempt_started_at = None
    call.last_error = crash_reason(call.crashes)
    # Failed like any failure: the planner retries it while attempts < max_attempts (last in
    # the batch), and leaves it failed after that until `talktracks requeue`.
    call.status = "failed"


def settle_interrupted(store: Store) -> list[str]:
    """Close attempts whose process died (call while holding the lease); returns their call ids."""
    with store.session() as s:
        calls = list(s.scalars(select(Call).where(Call.attempt_started_at.is_not(None))))
        for call in calls:
            record_crash(call)
        return [c.call_id for c in calls]
