"""A deal's page: outcome, amount, CRM attributes, and every call in time order with its
behaviours and flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from talktracks.store import Call, Deal, Flag, Store, Tag


@dataclass(frozen=True)
class DealCall:
    call_id: str
    rep_id: str | None
    started_at: datetime | None
    duration: float | None
    status: str
    behaviours: dict[str, int]  # behaviour -> tagged utterances
    flags: list[Flag]


@dataclass(frozen=True)
class DealPage:
    deal_id: str
    deal: Deal | None  # None: calls name this deal but the CRM export has no row for it
    calls: list[DealCall]


def load_deal_page(store: Store, deal_id: str) -> DealPage | None:
    """The deal and its calls, oldest first; None when neither a deal row nor a call has it."""
    with store.session() as s:
        deal = s.get(Deal, deal_id)
        calls = list(
            s.scalars(
                select(Call)
                .where(Call.deal_id == deal_id)
                .order_by(Call.started_at.nulls_last(), Call.call_id)
            )
        )
        if deal is None and not calls:
            return None
        ids = [c.call_id for c in calls]
        counts: dict[str, dict[str, int]] = {}
        for call_id, behaviour in s.execute(
            select(Tag.call_id, Tag.behaviour).where(Tag.call_id.in_(ids)).order_by(Tag.id)
        ):
            per = counts.setdefault(call_id, {})
            per[behaviour] = per.get(behaviour, 0) + 1
        flags: dict[str, list[Flag]] = {}
        for flag in s.scalars(
            select(Flag).where(Flag.call_id.in_(ids)).order_by(Flag.at_seconds.nulls_first())
        ):
            flags.setdefault(flag.call_id, []).append(flag)
    rows = [
        DealCall(
            c.call_id,
            c.rep_id,
            c.started_at,
            c.duration,
            c.status,
            dict(sorted(counts.get(c.call_id, {}).items())),
            flags.get(c.call_id, []),
        )
        for c in calls
    ]
    return DealPage(deal_id, deal, rows)
