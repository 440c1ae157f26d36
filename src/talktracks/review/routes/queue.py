"""The queue page: open flags with filters (rep, rule, date range, status) and counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from talktracks.review.access import is_staff
from talktracks.review.auth import CurrentUser, current_user
from talktracks.review.bounds import MAX_PAGE, filter_date
from talktracks.review.flagqueue import STATUSES, QueueFilters, load_queue
from talktracks.review.pages import render, see_other, store_of

router = APIRouter(dependencies=[Depends(current_user)])


@router.get("/")
def home(user: CurrentUser) -> Response:
    return see_other("/queue" if is_staff(user) else "/playlists")


@router.get("/queue")
def queue_page(
    request: Request,
    user: CurrentUser,
    rep: Annotated[str, Query(max_length=200)] = "",
    rule: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "open",
    date_from: Annotated[str, Query(max_length=32)] = "",
    date_to: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """Filter values that cannot be used are named on the page, which then answers 400."""
    if not is_staff(user):
        # Reps land here after sign-in (its default target); their start page is elsewhere.
        return see_other("/playlists")
    problems: list[str] = []
    filters = QueueFilters(
        rep=rep or None,
        rule=rule or None,
        status=status if status in STATUSES else "open",
        date_from=filter_date(date_from, "From", problems),
        date_to=filter_date(date_to, "To", problems),
    )
    result = load_queue(store_of(request), filters, page, request.app.state.options.page_size)
    return render(
        request,
        "queue.html",
        {
            "nav": "queue",
            "q": result,
            "filters": filters,
            "problems": problems,
            "statuses": STATUSES,
        },
        status_code=400 if problems else 200,
    )
