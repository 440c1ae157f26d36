"""The review app: coaches sign in, work the flag queue, judge tags on call pages.

`create_app(settings)` builds the FastAPI app; `talktracks review serve` runs it. The app
reads analysis results and computes nothing itself; its writes are labels, comments, flag
status and the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from talktracks.review.options import ReviewOptions

if TYPE_CHECKING:
    from talktracks.review.app import create_app

__all__ = ["ReviewOptions", "create_app"]


def __getattr__(name: str) -> Any:
    # The app pulls in FastAPI and the behaviour model; `talktracks users list` imports
    # talktracks.review.users and must not pay for them.
    if name == "create_app":
        from talktracks.review.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
