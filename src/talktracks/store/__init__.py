"""The durable store: ORM tables, engine/session, migrations."""

from talktracks.store.engine import Store, mask_url, open_store, shared_store
from talktracks.store.models import (
    AnalysisResult,
    AuditEvent,
    Base,
    Call,
    Comment,
    Deal,
    Flag,
    Label,
    Lease,
    Run,
    Tag,
    User,
    Utterance,
)

__all__ = [
    "AnalysisResult",
    "AuditEvent",
    "Base",
    "Call",
    "Comment",
    "Deal",
    "Flag",
    "Label",
    "Lease",
    "Run",
    "Store",
    "Tag",
    "User",
    "Utterance",
    "mask_url",
    "open_store",
    "shared_store",
]
