"""Review-app knobs that are not Settings fields: cookie and sign-in protection policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from talktracks.review.throttle import ThrottlePolicy


@dataclass(frozen=True)
class ReviewOptions:
    """`secure_cookies` must be on when the app is served over TLS (behind a proxy). Session
    lifetimes are Settings (review_session_idle_minutes, review_session_max_hours)."""

    secure_cookies: bool = False
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    page_size: int = 50
