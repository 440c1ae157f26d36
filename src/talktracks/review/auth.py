"""Who is signed in: session handling, the sign-in throttle, and the user/admin dependencies.

Sessions live in a signed cookie (Starlette's SessionMiddleware: HttpOnly, SameSite=Lax,
Secure when configured) holding only the user id, the sign-in time and the CSRF token. The
user row is read on every request, so disabling a user ends their sessions immediately.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from talktracks.review.csrf import new_csrf_token
from talktracks.store import Store, User


class NotSignedIn(Exception):
    """Raised by the user dependency; turned into a redirect to /login (or a 401)."""


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user, detached from any DB session."""

    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginThrottle:
    """Counts failed sign-ins per user name and per client address in a sliding window.

    After `per_user` failures for a name, or `per_address` from an address, within `window_s`
    seconds, every attempt (even with the right password) is refused until the oldest failure
    leaves the window. In memory: run the app as one process (the default `review serve`).
    """

    def __init__(
        self,
        per_user: int,
        per_address: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": per_user, "address": per_address}
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, user: str, address: str) -> list[tuple[str, str]]:
        return [("user", user.casefold()), ("address", address)]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, user: str, address: str) -> float:
        """Seconds until an attempt for `user` from `address` is allowed again (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(user, address):
                times = self._recent(key, now)
                if len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[-self.limits[key[0]]] + self.window_s - now)
        return wait

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(user, address):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(("user", user.casefold()), None)


def client_address(request: Request) -> str:
    # Behind a proxy, uvicorn's --proxy-headers (on for trusted 127.0.0.1) puts the real client here.
    return request.client.host if request.client else "unknown"


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session (new CSRF token too), so no pre-sign-in state carries over."""
    request.session.clear()
    request.session.update({"uid": user.id, "since": int(time.time()), "csrf": new_csrf_token()})


def sign_out(request: Request) -> None:
    request.session.clear()


def current_user(request: Request) -> SignedIn:
    """The signed-in, enabled user; raises NotSignedIn otherwise."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    uid, since = request.session.get("uid"), request.session.get("since")
    if uid is None:
        raise NotSignedIn  # keep the signed-out session (its CSRF token for the sign-in form)
    max_age = request.app.state.options.session_max_age_s
    if not isinstance(uid, int) or not isinstance(since, int) or time.time() - since > max_age:
        request.session.clear()
        raise NotSignedIn
    store: Store = request.app.state.store
    with store.session() as s:
        row = s.execute(
            select(User.id, User.name, User.role).where(User.id == uid, User.disabled.is_(False))
        ).first()
    if row is None:
        request.session.clear()
        raise NotSignedIn
    user = SignedIn(id=row.id, name=row.name, role=row.role)
    request.state.user = user
    return user


CurrentUser = Annotated[SignedIn, Depends(current_user)]


def require_admin(user: CurrentUser) -> SignedIn:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only an admin can do this.")
    return user


AdminUser = Annotated[SignedIn, Depends(require_admin)]
