"""The app's two cookies and the middleware that sets them.

- the session cookie: the random token of a server-side session (sessions.py), set at sign-in,
  cleared at sign-out or when the server no longer knows it;
- the sign-in cookie: a random value for browsers that are not signed in, whose HMAC (keyed by
  the app secret) is the CSRF token of the sign-in form. Signed-out visitors get no row in the
  store, so requesting /login a million times costs nothing.

With Secure cookies both names carry the `__Host-` prefix: the browser then only accepts them
over HTTPS, for this host and path /, so a sibling subdomain cannot plant one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "talktracks_session"
SIGN_IN_COOKIE = "talktracks_signin"
CHANGES_KEY = "review_cookie_changes"
SIGN_IN_COOKIE_AGE_S = 12 * 60 * 60


def cookie_name(base: str, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def sign_in_form_token(secret: str, cookie_value: str) -> str:
    """The sign-in form's CSRF token for a sign-in cookie value."""
    mac = hmac.new(secret.encode(), b"sign-in:" + cookie_value.encode(), hashlib.sha256)
    return mac.hexdigest()


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class CookieChanges:
    """What this request's response must do to the cookies (None: leave it)."""

    session: str | None = None  # "" clears it
    sign_in: str | None = None


class SessionCookieMiddleware:
    """Pure ASGI: puts a CookieChanges in the request state, writes it as Set-Cookie headers."""

    def __init__(self, app: ASGIApp, *, secure: bool, session_max_age_s: int) -> None:
        self.app = app
        self.secure = secure
        self.session_max_age_s = session_max_age_s

    def _header(self, base: str, value: str, max_age: int) -> str:
        parts = [
            f"{cookie_name(base, self.secure)}={value}",
            "Path=/",
            f"Max-Age={max_age if value else 0}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        changes = CookieChanges()
        scope.setdefault("state", {})[CHANGES_KEY] = changes

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if changes.session is not None:
                    headers.append(
                        "set-cookie",
                        self._header(SESSION_COOKIE, changes.session, self.session_max_age_s),
                    )
                if changes.sign_in is not None:
                    headers.append(
                        "set-cookie",
                        self._header(SIGN_IN_COOKIE, changes.sign_in, SIGN_IN_COOKIE_AGE_S),
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookies)
