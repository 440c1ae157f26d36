"""Review-app knobs that are not Settings fields: cookie and sign-in protection policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReviewOptions:
    """`secure_cookies` must be on when the app is served over TLS (behind a proxy)."""

    secure_cookies: bool = False
    session_max_age_s: int = 12 * 60 * 60
    max_failures_per_user: int = 5
    max_failures_per_address: int = 20
    failure_window_s: int = 15 * 60
    page_size: int = 50
