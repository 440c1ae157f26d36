"""Who may see what: coaches and admins see every call; a user of role "rep" is linked to one
rep_id and sees only that rep's calls and the playlists shared with them, read-only.

Call visibility is one SQL condition (`visible_calls`) that every list, search and page adds,
so a rep can never reach another rep's call by any route; a hidden call is a 404, exactly like
a call that does not exist, so its id tells them nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import ColumnElement, false, select, true

from talktracks.errors import InputError
from talktracks.review.audit import record
from talktracks.review.auth import CurrentUser, SignedIn
from talktracks.store import Call, Store, User, UserRep

REP_ROLE = "rep"
STAFF_ROLES = frozenset({"coach", "admin"})


def is_staff(user: SignedIn) -> bool:
    return user.role in STAFF_ROLES


def require_staff(user: CurrentUser) -> SignedIn:
    """Coaches and admins: everything that changes data, the queue, the team page, deals."""
    if not is_staff(user):
        raise HTTPException(status_code=403, detail="Only a coach or an admin can do this.")
    return user


StaffUser = Annotated[SignedIn, Depends(require_staff)]


def rep_id_of(store: Store, user: SignedIn) -> str | None:
    """The rep_id a rep user is linked to (None: not linked, so they see no calls)."""
    with store.session() as s:
        return s.scalar(select(UserRep.rep_id).where(UserRep.user_id == user.id))


def visible_calls(request: Request, user: SignedIn) -> ColumnElement[bool]:
    """The condition on Call that limits a query to what `user` may see."""
    if is_staff(user):
        return true()
    rep_id = rep_id_of(request.app.state.store, user)
    return false() if rep_id is None else Call.rep_id == rep_id


def can_see_call(request: Request, user: SignedIn, call_id: str) -> bool:
    with request.app.state.store.session() as s:
        found = s.scalar(
            select(Call.call_id).where(Call.call_id == call_id, visible_calls(request, user))
        )
    return found is not None


def ensure_call_visible(request: Request, user: SignedIn, call_id: str) -> None:
    if not can_see_call(request, user, call_id):
        raise HTTPException(status_code=404, detail="No such call.")


def link_rep(store: Store, name: str, rep_id: str, *, actor: str) -> None:
    """Link the rep user `name` to `rep_id` (replacing any earlier link), audited."""
    rep_id = rep_id.strip()
    if not rep_id or len(rep_id) > 200:
        raise InputError("a rep id must have 1-200 characters")
    with store.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise InputError(f"no user named {name!r}")
        if user.role != REP_ROLE:
            raise InputError(f"user {name!r} has role {user.role}, not {REP_ROLE}")
        link = s.get(UserRep, user.id)
        if link is None:
            s.add(UserRep(user_id=user.id, rep_id=rep_id))
        else:
            link.rep_id = rep_id
        record(s, actor, "user.link_rep", f"user:{name}", {"rep_id": rep_id})
