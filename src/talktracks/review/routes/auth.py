"""Sign in and sign out. The only routes that do not need a signed-in user."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from talktracks.review import throttle
from talktracks.review.audit import record
from talktracks.review.auth import (
    NotSignedIn,
    client_address,
    current_user,
    live_session,
    sign_in,
    sign_out,
)
from talktracks.review.pages import render, safe_next, see_other, store_of
from talktracks.review.passwords import hash_password, needs_rehash, verify_password
from talktracks.store import User

log = logging.getLogger(__name__)
router = APIRouter()

WRONG = "Wrong user name or password, or the account is disabled."


@router.get("/login")
def login_form(
    request: Request, next: Annotated[str, Query(max_length=2000)] = "/queue"
) -> Response:
    try:
        current_user(request)
        return see_other(safe_next(next))
    except NotSignedIn:
        return render(request, "login.html", {"next": safe_next(next), "error": None, "name": ""})


def _attempt(request: Request, name: str, password: str, address: str) -> bool:
    """Check the password and, when right, start the session (one transaction with its audit)."""
    store = store_of(request)
    live_session(request)  # looked up (and cached) before this transaction opens
    with store.session() as s:
        user = s.scalar(select(User).where(User.name == name, User.disabled.is_(False)))
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok:
            record(s, name, "login.failed", f"address:{address}")
        else:
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            record(s, user.name, "login", f"address:{address}")
            sign_in(request, s, user)
    policy = request.app.state.options.throttle
    if ok:
        throttle.record_success(store, name, address)
    else:
        throttle.record_failure(store, policy, name, address)
    return ok


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=4096)],
    next: Annotated[str, Form(max_length=2000)] = "/queue",
) -> Response:
    address = client_address(request)
    name = username.strip()
    target = safe_next(next)

    def refuse(message: str, status: int) -> Response:
        ctx = {"next": target, "error": message, "name": name}
        return render(request, "login.html", ctx, status_code=status)

    store = store_of(request)
    policy = request.app.state.options.throttle
    verdict = await run_in_threadpool(throttle.check, store, policy, name, address)
    if verdict.locked_for_s > 0:
        # Logged, not audited: a brute-force run would otherwise flood the audit table.
        log.warning("sign-in refused (locked out): user %r from %s", name, address)
        minutes = max(1, round(verdict.locked_for_s / 60))
        return refuse(
            f"Too many failed sign-in attempts from your address. Try again in about "
            f"{minutes} minute(s), or ask an admin to unlock your account.",
            429,
        )
    if verdict.delay_s > 0:
        # Awaited, not slept in a worker thread: many slowed attempts hold no threads.
        await asyncio.sleep(verdict.delay_s)
    ok = await run_in_threadpool(_attempt, request, name, password, address)
    if not ok:
        return refuse(WRONG, 401)
    return see_other(target)


@router.post("/logout")
def logout(request: Request) -> Response:
    try:
        user = current_user(request)
        with store_of(request).session() as s:
            record(s, user.name, "logout", None)
    except NotSignedIn:
        pass
    sign_out(request)
    return see_other("/login")
