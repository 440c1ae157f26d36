"""Admin only: users (add, disable, enable, reset password, unlock, end sessions), re-running
the coaching flags, the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy import select

from talktracks.errors import InputError, TalktracksError
from talktracks.review import actions, users
from talktracks.review.access import REP_ROLE, link_rep
from talktracks.review.auth import AdminUser, require_admin
from talktracks.review.pages import flash, render, see_other, store_of
from talktracks.review.passwords import POLICY_TEXT
from talktracks.store import AuditEvent

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])

AUDIT_ROWS = 100
UserName = Annotated[str, Path(max_length=200)]


@router.get("")
def admin_page(request: Request) -> Response:
    store = store_of(request)
    with store.session() as s:
        audit = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(AUDIT_ROWS)))
    return render(
        request,
        "admin.html",
        {
            "nav": "admin",
            "users": users.list_users(store),
            "audit": audit,
            "roles": users.ROLES,
            "policy": POLICY_TEXT,
        },
    )


@router.get("/users/{name}")
def user_page(request: Request, name: UserName) -> Response:
    store = store_of(request)
    info = users.get_user(store, name)  # InputError -> 400 page for an unknown name
    return render(
        request,
        "admin_user.html",
        {
            "nav": "admin",
            "u": info,
            "sessions": users.user_sessions(store, name, request.app.state.session_policy),
            "locked": users.locked_addresses(store, name),
            "policy": POLICY_TEXT,
        },
    )


def _back_to(name: str) -> Response:
    return see_other(f"/admin/users/{name}")  # names are [A-Za-z0-9._@-]: nothing to encode


@router.post("/users")
def add_user(
    request: Request,
    admin: AdminUser,
    name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=4096)],
    rep_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        if role == REP_ROLE and not rep_id.strip():
            raise InputError("a rep user needs the rep id whose calls they may see")
        users.add_user(store_of(request), name.strip(), password, role, actor=admin.name)
        if role == REP_ROLE:
            link_rep(store_of(request), name.strip(), rep_id, actor=admin.name)
        flash(request, f"User {name.strip()} added as {role}.")
    except TalktracksError as exc:
        flash(request, f"Not added: {exc}.")
    return see_other("/admin")


@router.post("/users/{name}/disable")
def disable_user(request: Request, admin: AdminUser, name: UserName) -> Response:
    if name == admin.name:
        flash(request, "You cannot disable yourself.")
        return see_other("/admin")
    changed = users.set_disabled(store_of(request), name, True, actor=admin.name)
    flash(request, f"User {name} disabled." if changed else f"User {name} was already disabled.")
    return see_other("/admin")


@router.post("/users/{name}/enable")
def enable_user(request: Request, admin: AdminUser, name: UserName) -> Response:
    changed = users.set_disabled(store_of(request), name, False, actor=admin.name)
    flash(request, f"User {name} enabled." if changed else f"User {name} was already enabled.")
    return see_other("/admin")


@router.post("/users/{name}/password")
def reset_password(
    request: Request,
    admin: AdminUser,
    name: UserName,
    password: Annotated[str, Form(max_length=4096)],
) -> Response:
    keep = admin.session_id if name == admin.name else None
    try:
        ended = users.set_password(
            store_of(request), name, password, actor=admin.name, keep_session=keep
        )
        flash(request, f"Password of {name} reset; {ended} session(s) ended.")
    except TalktracksError as exc:
        flash(request, f"Password not reset: {exc}.")
    return _back_to(name)


@router.post("/users/{name}/unlock")
def unlock_user(request: Request, admin: AdminUser, name: UserName) -> Response:
    users.unlock(store_of(request), name, actor=admin.name)
    flash(request, f"Failed sign-ins of {name} forgotten; {name} can sign in from anywhere.")
    return _back_to(name)


@router.post("/users/{name}/sessions/end")
def end_sessions(
    request: Request,
    admin: AdminUser,
    name: UserName,
    session: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    ended = users.end_sessions(
        store_of(request), name, actor=admin.name, session_id=session or None
    )
    flash(request, f"{ended} session(s) of {name} ended.")
    return _back_to(name)


@router.post("/flags/rerun")
def rerun_flags(request: Request, admin: AdminUser) -> Response:
    summary = actions.rerun_flags(store_of(request), request.app.state.settings, admin.name)
    flash(request, f"Flags re-run: {summary}.")
    return see_other("/admin")
