"""Who is signed in: the request's server-side session and the user/admin dependencies.

A request's session is looked up once (cached on request.state): the cookie token's row must
exist, be within its idle and absolute lifetime, and belong to an enabled user. A cookie the
server does not know (signed out, expired, ended by a password change) is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from talktracks.review import sessions
from talktracks.review.cookies import CHANGES_KEY, SESSION_COOKIE, CookieChanges, cookie_name
from talktracks.review.sessions import LiveSession, SessionPolicy
from talktracks.store import User

_UNSET = object()


class NotSignedIn(Exception):
    """Raised by the user dependency; turned into a redirect to /login (or a 401)."""


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user, detached from any DB session."""

    id: int
    name: str
    role: str
    session_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def client_address(request: Request) -> str:
    # The peer address, or the X-Forwarded-For client when uvicorn trusts the peer as a proxy
    # (TALKTRACKS_REVIEW_TRUSTED_PROXIES; none by default).
    return request.client.host if request.client else "unknown"


def cookie_changes(request: Request) -> CookieChanges:
    changes = request.scope.setdefault("state", {}).get(CHANGES_KEY)
    if changes is None:  # only without the middleware (never in the app); keep callers simple
        changes = request.scope["state"][CHANGES_KEY] = CookieChanges()
    return changes


def _policy(request: Request) -> SessionPolicy:
    return request.app.state.session_policy


def _session_token(request: Request) -> str | None:
    return request.cookies.get(
        cookie_name(SESSION_COOKIE, request.app.state.options.secure_cookies)
    )


def live_session(request: Request) -> LiveSession | None:
    """This request's valid session, or None. Looked up once per request."""
    cached = getattr(request.state, "live_session", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    token = _session_token(request)
    live = None
    if token:
        live = sessions.load_session(request.app.state.store, token, _policy(request))
        if live is None:
            cookie_changes(request).session = ""  # a dead token: make the browser forget it
    request.state.live_session = live
    return live


def sign_in(request: Request, s: Session, user: User) -> None:
    """Start a new session for `user` in the caller's transaction: a fresh token and CSRF token.
    The browser's previous session, if any, is deleted (the id rotates at every sign-in)."""
    old = live_session(request)
    if old is not None:
        sessions.end_session(s, old.id)
    token = sessions.create_session(
        s,
        user.id,
        _policy(request),
        address=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    cookie_changes(request).session = token
    request.state.live_session = None


def sign_out(request: Request) -> None:
    live = live_session(request)
    if live is not None:
        sessions.delete_session(request.app.state.store, live.id)
    if _session_token(request):
        cookie_changes(request).session = ""
    request.state.live_session = None


def current_user(request: Request) -> SignedIn:
    """The signed-in, enabled user; raises NotSignedIn otherwise."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    live = live_session(request)
    if live is None:
        raise NotSignedIn
    user = SignedIn(id=live.user_id, name=live.user_name, role=live.role, session_id=live.id)
    request.state.user = user
    return user


CurrentUser = Annotated[SignedIn, Depends(current_user)]


def require_admin(user: CurrentUser) -> SignedIn:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only an admin can do this.")
    return user


AdminUser = Annotated[SignedIn, Depends(require_admin)]
