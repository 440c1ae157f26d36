"""The queue of flags: filtering, counts and paging, read straight from the store."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from talktracks.coaching.rules import RULE_NAMES, SEVERITY_ORDER
from talktracks.store import Call, Flag, Store

STATUSES: tuple[str, ...] = ("open", "resolved", "all")


@dataclass(frozen=True)
class QueueFilters:
    rep: str | None = None
    rule: str | None = None
    status: str = "open"
    date_from: date | None = None
    date_to: date | None = None

    def conditions(self, *, skip: frozenset[str] = frozenset()) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.rep and "rep" not in skip:
            where.append(Call.rep_id == self.rep)
        if self.rule and "rule" not in skip:
            where.append(Flag.rule == self.rule)
        if self.status != "all" and "status" not in skip:
            where.append(Flag.status == self.status)
        if self.date_from:
            where.append(Call.started_at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            where.append(Call.started_at < end)
        return where

    def query(self, **changes: Any) -> str:
        """This filter set (with `changes`) as a query string, for links that keep the filters."""
        f = replace(self, **{k: v for k, v in changes.items() if k != "page"})
        params = {
            "rep": f.rep or "",
            "rule": f.rule or "",
            "status": f.status,
            "date_from": f.date_from.isoformat() if f.date_from else "",
            "date_to": f.date_to.isoformat() if f.date_to else "",
        }
        if changes.get("page", 1) != 1:
            params["page"] = str(changes["page"])
        return urlencode({k: v for k, v in params.items() if v})


@dataclass(frozen=True)
class QueueRow:
    flag: Flag
    rep_id: str | None
    started_at: datetime | None
    deal_id: str | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    by_rule: dict[str, int]
    by_status: dict[str, int]
    reps: list[str]
    rules: list[str]


def _counts(session: Session, column: Any, where: list[ColumnElement[bool]]) -> dict[str, int]:
    query = select(column, func.count()).select_from(Flag).join(Call, Call.call_id == Flag.call_id)
    return dict(session.execute(query.where(*where).group_by(column)).all())


def load_queue(store: Store, filters: QueueFilters, page: int, page_size: int) -> QueuePage:
    severity_rank = case(SEVERITY_ORDER, value=Flag.severity, else_=len(SEVERITY_ORDER))
    with store.session() as s:
        by_rule = _counts(s, Flag.rule, filters.conditions(skip=frozenset({"rule"})))
        by_status = _counts(s, Flag.status, filters.conditions(skip=frozenset({"status"})))
        total = (
            sum(by_status.values()) if filters.status == "all" else by_status.get(filters.status, 0)
        )
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        rows = s.execute(
            select(Flag, Call.rep_id, Call.started_at, Call.deal_id)
            .join(Call, Call.call_id == Flag.call_id)
            .where(*filters.conditions())
            .order_by(
                case((Flag.status == "open", 0), else_=1),
                severity_rank,
                Call.started_at.desc().nulls_last(),
                Flag.id,
            )
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        reps = s.scalars(
            select(Call.rep_id)
            .join(Flag, Flag.call_id == Call.call_id)
            .where(Call.rep_id.is_not(None))
            .distinct()
            .order_by(Call.rep_id)
        ).all()
    rules = sorted(set(RULE_NAMES) | set(by_rule))
    return QueuePage(
        rows=[QueueRow(flag, rep, started, deal) for flag, rep, started, deal in rows],
        total=total,
        page=page,
        pages=pages,
        by_rule={rule: by_rule.get(rule, 0) for rule in rules},
        by_status={"open": by_status.get("open", 0), "resolved": by_status.get("resolved", 0)},
        reps=list(reps),
        rules=rules,
    )
