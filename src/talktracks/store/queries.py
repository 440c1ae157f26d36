"""Small read/write helpers over the store that several commands share."""

from __future__ import annotations

from sqlalchemy import func, select

from talktracks.errors import InputError
from talktracks.store.engine import Store
from talktracks.store.models import Call, Run


def call_status_counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        return dict(s.execute(select(Call.status, func.count()).group_by(Call.status)).all())


def failed_calls(store: Store) -> list[tuple[str, int, str]]:
    with store.session() as s:
        rows = s.execute(
            select(Call.call_id, Call.attempts, Call.last_error)
            .where(Call.status == "failed")
            .order_by(Call.call_id)
        ).all()
    return [(r[0], r[1], r[2] or "") for r in rows]


def recent_runs(store: Store, limit: int = 5) -> list[Run]:
    with store.session() as s:
        return list(s.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))


def requeue(store: Store, call_id: str) -> str:
    """Reset a call's attempts and mark it pending, so the next run processes it again."""
    with store.session() as s:
        call = s.get(Call, call_id)
        if call is None:
            raise InputError(f"no call with call_id {call_id!r}")
        if call.source == "import":
            raise InputError(
                f"call {call_id!r} was imported from a transcript; there is no audio to requeue"
            )
        previous = call.status
        call.status = "pending"
        call.attempts = 0
    return f"{call_id}: {previous} -> pending (processed on the next run)"
