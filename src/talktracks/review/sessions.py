"""Server-side sessions: a row per signed-in browser, a random token in its cookie.

The cookie holds 32 random bytes; the row is keyed by their SHA-256, so reading the table (a
backup, a log of queries) opens no session. A session ends when its row is deleted: at sign-out,
when the user's password is changed or reset, when the user is disabled or enabled, when an
admin ends it, after `idle` without a request, and `max_age` after sign-in whatever happens.
Each row carries its own CSRF token, so a token is only ever good for the session it came with.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from talktracks.store import ReviewSession, Store, User
from talktracks.store.models import utcnow

MAX_USER_AGENT = 200


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    max_age: timedelta

    @property
    def touch_every(self) -> timedelta:
        # last_seen_at is written at most this often: the idle timeout stays exact to a tenth
        # of itself (a minute at most) without a write on every request.
        return min(timedelta(minutes=1), self.idle / 10)


@dataclass(frozen=True)
class LiveSession:
    """A valid session with its (enabled) user, as one request sees it."""

    id: str
    user_id: int
    user_name: str
    role: str
    csrf_token: str
    flash: str | None


@dataclass(frozen=True)
class SessionInfo:
    """What an admin sees of an open session (never its token)."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str | None
    user_agent: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_session(
    s: Session,
    user_id: int,
    policy: SessionPolicy,
    *,
    address: str | None,
    user_agent: str | None,
) -> str:
    """Store a new session for `user_id` in the caller's transaction; returns the cookie token."""
    now = utcnow()
    # Expired rows of anyone are dropped here, so the table holds only live sessions (plus
    # the idle ones nobody came back to since the last sign-in).
    s.execute(
        delete(ReviewSession).where(
            or_(ReviewSession.expires_at <= now, ReviewSession.last_seen_at <= now - policy.idle)
        )
    )
    token = secrets.token_urlsafe(32)
    s.add(
        ReviewSession(
            id=token_hash(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.max_age,
            address=address,
            user_agent=(user_agent or "")[:MAX_USER_AGENT] or None,
        )
    )
    return token


def load_session(store: Store, token: str, policy: SessionPolicy) -> LiveSession | None:
    """The live session for a cookie token, or None (unknown, expired, idle, user disabled).

    An expired or idle row is deleted on the way, so it can never come back.
    """
    if not token or len(token) > 256:
        return None
    sid = token_hash(token)
    now = utcnow()
    with store.session() as s:
        row = s.execute(
            select(ReviewSession, User.name, User.role, User.disabled)
            .join(User, User.id == ReviewSession.user_id)
            .where(ReviewSession.id == sid)
        ).first()
        if row is None:
            return None
        sess, name, role, disabled = row
        if disabled or now >= sess.expires_at or now - sess.last_seen_at >= policy.idle:
            s.delete(sess)
            return None
        if now - sess.last_seen_at >= policy.touch_every:
            sess.last_seen_at = now
        return LiveSession(sess.id, sess.user_id, name, role, sess.csrf_token, sess.flash)


def end_session(s: Session, session_id: str) -> None:
    s.execute(delete(ReviewSession).where(ReviewSession.id == session_id))


def delete_session(store: Store, session_id: str) -> None:
    with store.session() as s:
        end_session(s, session_id)


def end_user_sessions(s: Session, user_id: int, *, keep: str | None = None) -> int:
    """Delete every session of `user_id` (but `keep`) in the caller's transaction; returns how many."""
    query = delete(ReviewSession).where(ReviewSession.user_id == user_id)
    if keep is not None:
        query = query.where(ReviewSession.id != keep)
    return s.execute(query).rowcount or 0


def set_flash(store: Store, session_id: str, message: str | None) -> None:
    """The one-line message the session's next page shows (None clears it)."""
    with store.session() as s:
        s.execute(update(ReviewSession).where(ReviewSession.id == session_id).values(flash=message))


def open_sessions(s: Session, user_id: int, policy: SessionPolicy) -> list[SessionInfo]:
    """The user's sessions that are still valid, most recently used first."""
    now = utcnow()
    rows = s.scalars(
        select(ReviewSession)
        .where(
            ReviewSession.user_id == user_id,
            ReviewSession.expires_at > now,
            ReviewSession.last_seen_at > now - policy.idle,
        )
        .order_by(ReviewSession.last_seen_at.desc())
    )
    return [
        SessionInfo(r.id, r.created_at, r.last_seen_at, r.expires_at, r.address, r.user_agent)
        for r in rows
    ]


def end_user_session(s: Session, user_id: int, session_id: str) -> int:
    """Delete one session, only if it is `user_id`'s; returns 1 or 0."""
    query = delete(ReviewSession).where(
        ReviewSession.id == session_id, ReviewSession.user_id == user_id
    )
    return s.execute(query).rowcount or 0
