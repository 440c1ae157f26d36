"""CSRF protection: every state-changing request carries a token bound to its session.

A signed-in browser's token is stored in its session row (rotated with the session at every
sign-in, gone when the session ends); a signed-out browser's token (for the sign-in form) is
the HMAC of its sign-in cookie. The token comes back in a hidden form field `csrf_token` (or
header X-CSRF-Token for scripts), is compared in constant time, and the request is refused
with 403 otherwise. Installed as an app-wide dependency, so a new POST route cannot forget it.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from talktracks.review.auth import cookie_changes, live_session
from talktracks.review.cookies import (
    SIGN_IN_COOKIE,
    cookie_name,
    new_cookie_value,
    sign_in_form_token,
)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sign_in_cookie(request: Request) -> str | None:
    name = cookie_name(SIGN_IN_COOKIE, request.app.state.options.secure_cookies)
    value = request.cookies.get(name)
    return value if value and len(value) <= 128 else None


def _expected(request: Request) -> str | None:
    live = live_session(request)
    if live is not None:
        return live.csrf_token
    cookie = _sign_in_cookie(request)
    return sign_in_form_token(request.app.state.secret, cookie) if cookie else None


def csrf_token(request: Request) -> str:
    """The token forms on this page must carry (a signed-out browser gets a sign-in cookie)."""
    expected = _expected(request)
    if expected is not None:
        return expected
    changes = cookie_changes(request)
    if changes.sign_in is None:
        changes.sign_in = new_cookie_value()
    return sign_in_form_token(request.app.state.secret, changes.sign_in)


async def verify_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = await run_in_threadpool(_expected, request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            status_code=403, detail="Missing or invalid form token; reload the page and try again."
        )
