"""The durable store: ORM tables, engine/session, migrations."""

from talktracks.store.engine import Store, mask_url, open_store, shared_store
from talktracks.store.models import (
    AnalysisResult,
    AuditEvent,
    Base,
    Call,
    CallSpeakers,
    Comment,
    Deal,
    Flag,
    Label,
    ReviewSession,
    Run,
    SignInBucket,
    Tag,
    User,
    Utterance,
    VoiceSample,
)

__all__ = [
    "AnalysisResult",
    "AuditEvent",
    "Base",
    "Call",
    "CallSpeakers",
    "Comment",
    "Deal",
    "Flag",
    "Label",
    "ReviewSession",
    "Run",
    "SignInBucket",
    "Store",
    "Tag",
    "User",
    "Utterance",
    "VoiceSample",
    "mask_url",
    "open_store",
    "shared_store",
]
