"""Review-app users: add, list, disable, enable, set passwords, unlock, see and end sessions.

Used by the CLI and the admin and account pages, so both apply the same rules. Any change to
who may sign in (a new password, a disable or an enable) ends every session of the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from talktracks.errors import InputError
from talktracks.review import sessions, throttle
from talktracks.review.audit import record
from talktracks.review.passwords import check_password, hash_password, verify_password
from talktracks.review.sessions import SessionInfo, SessionPolicy
from talktracks.store import Store, User

ROLES: tuple[str, ...] = ("coach", "admin", "rep")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class WrongCurrentPassword(InputError):
    """The current password given for a change is not right."""


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: str
    disabled: bool
    created_at: datetime


def add_user(store: Store, name: str, password: str, role: str, *, actor: str) -> UserInfo:
    """Create a user. Raises InputError for a bad name, role or password, or a taken name."""
    if not _NAME.match(name):
        raise InputError(
            f"user name {name!r} must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)"
        )
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    check_password(password, name)
    hashed = hash_password(password)
    with store.session() as s:
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise InputError(f"user {name!r} already exists")
        user = User(name=name, password_hash=hashed, role=role, disabled=False)
        s.add(user)
        record(s, actor, "user.add", f"user:{name}", {"role": role})
        s.flush()
        return UserInfo(user.name, user.role, user.disabled, user.created_at)


def list_users(store: Store) -> list[UserInfo]:
    with store.session() as s:
        return [
            UserInfo(u.name, u.role, u.disabled, u.created_at)
            for u in s.scalars(select(User).order_by(User.name))
        ]


def get_user(store: Store, name: str) -> UserInfo:
    with store.session() as s:
        u = _get(s, name)
        return UserInfo(u.name, u.role, u.disabled, u.created_at)


def _get(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise InputError(f"no user named {name!r}")
    return user


def set_disabled(store: Store, name: str, disabled: bool, *, actor: str) -> bool:
    """Disable (or enable) a user and end all their sessions, so a session from before a
    disable never works again, even after the enable. Returns False when nothing changed."""
    with store.session() as s:
        user = _get(s, name)
        if user.disabled == disabled:
            return False
        user.disabled = disabled
        ended = sessions.end_user_sessions(s, user.id)
        action = "user.disable" if disabled else "user.enable"
        record(s, actor, action, f"user:{name}", {"sessions_ended": ended})
        return True


def set_password(
    store: Store, name: str, password: str, *, actor: str, keep_session: str | None = None
) -> int:
    """Set (reset) a user's password and end their sessions (but `keep_session`, the session
    the change was made from). Returns how many sessions ended."""
    check_password(password, name)
    hashed = hash_password(password)
    with store.session() as s:
        user = _get(s, name)
        user.password_hash = hashed
        ended = sessions.end_user_sessions(s, user.id, keep=keep_session)
        record(s, actor, "user.password", f"user:{name}", {"sessions_ended": ended})
        return ended


def change_own_password(
    store: Store, name: str, current: str, new: str, repeat: str, *, session_id: str
) -> int:
    """A signed-in user changes their password: `current` must be right, `new` typed twice and
    meet the policy. Every other session of theirs ends. Raises InputError saying what is wrong."""
    with store.session() as s:
        hashed = s.scalar(select(User.password_hash).where(User.name == name))
    if not verify_password(hashed, current):
        raise WrongCurrentPassword("the current password is not right")
    if new != repeat:
        raise InputError("the new password and its repetition differ")
    if new == current:
        raise InputError("the new password is the same as the current one")
    return set_password(store, name, new, actor=name, keep_session=session_id)


def unlock(store: Store, name: str, *, actor: str) -> int:
    """Forget the user's failed sign-ins (every address). Returns the buckets removed."""
    with store.session() as s:
        _get(s, name)
        removed = throttle.unlock(s, name)
        record(s, actor, "user.unlock", f"user:{name}", {"buckets": removed})
        return removed


def user_sessions(store: Store, name: str, policy: SessionPolicy) -> list[SessionInfo]:
    with store.session() as s:
        return sessions.open_sessions(s, _get(s, name).id, policy)


def locked_addresses(store: Store, name: str) -> list[tuple[str, datetime]]:
    with store.session() as s:
        return throttle.locked_addresses(s, name)


def end_sessions(store: Store, name: str, *, actor: str, session_id: str | None = None) -> int:
    """End one session of the user (`session_id`) or all of them. Returns how many ended."""
    with store.session() as s:
        user = _get(s, name)
        if session_id is None:
            ended = sessions.end_user_sessions(s, user.id)
        else:
            ended = sessions.end_user_session(s, user.id, session_id)
        record(s, actor, "user.sessions_end", f"user:{name}", {"sessions_ended": ended})
        return ended
