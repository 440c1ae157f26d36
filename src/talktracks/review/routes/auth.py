"""Sign in and sign out. The only routes that do not need a signed-in user."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from talktracks.review.audit import record
from talktracks.review.auth import (
    LoginThrottle,
    NotSignedIn,
    client_address,
    current_user,
    sign_in,
    sign_out,
)
from talktracks.review.pages import render, safe_next, see_other, store_of
from talktracks.review.passwords import hash_password, needs_rehash, verify_password
from talktracks.store import User

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/login")
def login_form(request: Request, next: str = "/queue") -> Response:
    try:
        current_user(request)
        return see_other(safe_next(next))
    except NotSignedIn:
        return render(request, "login.html", {"next": safe_next(next), "error": None, "name": ""})


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=4096)],
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    throttle: LoginThrottle = request.app.state.throttle
    address = client_address(request)
    name = username.strip()
    target = safe_next(next)

    def refuse(message: str, status: int) -> Response:
        ctx = {"next": target, "error": message, "name": name}
        return render(request, "login.html", ctx, status_code=status)

    wait = throttle.retry_after(name, address)
    store = store_of(request)
    if wait > 0:
        # Logged, not audited: a brute-force run would otherwise flood the audit table.
        log.warning("sign-in refused (locked out): user %r from %s", name, address)
        minutes = max(1, round(wait / 60))
        return refuse(
            f"Too many failed sign-in attempts. Try again in about {minutes} minute(s).", 429
        )

    with store.session() as s:
        user = s.scalar(select(User).where(User.name == name, User.disabled.is_(False)))
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok:
            record(s, name, "login.failed", f"address:{address}")
        else:
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            record(s, user.name, "login", f"address:{address}")
            sign_in(request, user)
    if not ok:
        throttle.failed(name, address)
        return refuse("Wrong user name or password, or the account is disabled.", 401)
    throttle.succeeded(name)
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
