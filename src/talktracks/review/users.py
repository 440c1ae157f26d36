"""Review-app users: add, list, disable, enable, reset password. Used by the CLI and admin page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from talktracks.errors import InputError
from talktracks.review.audit import record
from talktracks.review.passwords import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, hash_password
from talktracks.store import Store, User

ROLES: tuple[str, ...] = ("coach", "admin", "rep")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: str
    disabled: bool
    created_at: datetime


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InputError(f"password must have at most {MAX_PASSWORD_CHARS} characters")


def add_user(store: Store, name: str, password: str, role: str, *, actor: str) -> UserInfo:
    """Create a user. Raises InputError for a bad name, role or password, or a taken name."""
    if not _NAME.match(name):
        raise InputError(
            f"user name {name!r} must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)"
        )
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    check_password(password)
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


def _get(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise InputError(f"no user named {name!r}")
    return user


def set_disabled(store: Store, name: str, disabled: bool, *, actor: str) -> bool:
    """Disable (or enable) a user; a disabled user's open sessions stop working at once.
    Returns False when the user was already in that state."""
    with store.session() as s:
        user = _get(s, name)
        if user.disabled == disabled:
            return False
        user.disabled = disabled
        record(s, actor, "user.disable" if disabled else "user.enable", f"user:{name}")
        return True


def set_password(store: Store, name: str, password: str, *, actor: str) -> None:
    check_password(password)
    hashed = hash_password(password)
    with store.session() as s:
        _get(s, name).password_hash = hashed
        record(s, actor, "user.password", f"user:{name}")
