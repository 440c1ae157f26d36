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
    Playlist,
    PlaylistShare,
    Run,
    Snippet,
    Tag,
    User,
    UserRep,
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
    "Playlist",
    "PlaylistShare",
    "Run",
    "Snippet",
    "Store",
    "Tag",
    "User",
    "UserRep",
    "Utterance",
    "mask_url",
    "open_store",
    "shared_store",
]
