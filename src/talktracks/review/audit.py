"""The audit trail: one append-only row per human action. Nothing here updates or deletes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from talktracks.store import AuditEvent


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction, so it commits with the action itself."""
    session.add(AuditEvent(actor=actor, action=action, target=target, details=details))
