"""CSRF protection: one random token per session, sent back in a hidden form field.

Every request with a state-changing method must carry the session's token (form field
`csrf_token`, or header X-CSRF-Token for scripts); it is compared in constant time and the
request is refused with 403 otherwise. Installed as an app-wide dependency, so a new POST
route cannot forget it.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """The session's token, created on first use (also for the signed-out sign-in form)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if (
        not isinstance(expected, str)
        or not expected
        or not sent
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise HTTPException(
            status_code=403, detail="Missing or invalid form token; reload the page and try again."
        )
