"""The review app: coaches sign in, work the flag queue, judge tags on call pages.

`create_app(settings)` builds the FastAPI app; `talktracks review serve` runs it. The app
reads analysis results and computes nothing itself; its writes are labels, comments, flag
status and the audit trail.
"""

from talktracks.review.app import create_app
from talktracks.review.options import ReviewOptions

__all__ = ["ReviewOptions", "create_app"]
