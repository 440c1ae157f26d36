"""Admin only: users (add, disable, enable), re-running the coaching flags, the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from talktracks.errors import InputError, TalktracksError
from talktracks.review import actions, users
from talktracks.review.access import REP_ROLE, link_rep
from talktracks.review.auth import AdminUser, require_admin
from talktracks.review.pages import flash, render, see_other, store_of
from talktracks.store import AuditEvent

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])

AUDIT_ROWS = 100


@router.get("")
def admin_page(request: Request) -> Response:
    store = store_of(request)
    with store.session() as s:
        audit = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(AUDIT_ROWS)))
    return render(
        request,
        "admin.html",
        {"nav": "admin", "users": users.list_users(store), "audit": audit, "roles": users.ROLES},
    )


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
def disable_user(request: Request, admin: AdminUser, name: str) -> Response:
    if name == admin.name:
        flash(request, "You cannot disable yourself.")
        return see_other("/admin")
    changed = users.set_disabled(store_of(request), name, True, actor=admin.name)
    flash(request, f"User {name} disabled." if changed else f"User {name} was already disabled.")
    return see_other("/admin")


@router.post("/users/{name}/enable")
def enable_user(request: Request, admin: AdminUser, name: str) -> Response:
    changed = users.set_disabled(store_of(request), name, False, actor=admin.name)
    flash(request, f"User {name} enabled." if changed else f"User {name} was already enabled.")
    return see_other("/admin")


@router.post("/flags/rerun")
def rerun_flags(request: Request, admin: AdminUser) -> Response:
    summary = actions.rerun_flags(store_of(request), request.app.state.settings, admin.name)
    flash(request, f"Flags re-run: {summary}.")
    return see_other("/admin")
