"""The queue page: open flags with filters (rep, rule, date range, status) and counts."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from talktracks.review.access import is_staff
from talktracks.review.auth import CurrentUser, current_user
from talktracks.review.flagqueue import STATUSES, QueueFilters, load_queue
from talktracks.review.pages import render, see_other, store_of

router = APIRouter(dependencies=[Depends(current_user)])


def _date(value: str, label: str, problems: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"{label} {value!r} is not a date (YYYY-MM-DD); it was ignored.")
        return None


@router.get("/")
def home(user: CurrentUser) -> Response:
    return see_other("/queue" if is_staff(user) else "/playlists")


@router.get("/queue")
def queue_page(
    request: Request,
    user: CurrentUser,
    rep: str = "",
    rule: str = "",
    status: str = "open",
    date_from: str = "",
    date_to: str = "",
    page: int = 1,
) -> Response:
    if not is_staff(user):
        # Reps land here after sign-in (its default target); their start page is elsewhere.
        return see_other("/playlists")
    problems: list[str] = []
    filters = QueueFilters(
        rep=rep or None,
        rule=rule or None,
        status=status if status in STATUSES else "open",
        date_from=_date(date_from, "From", problems),
        date_to=_date(date_to, "To", problems),
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
    )
