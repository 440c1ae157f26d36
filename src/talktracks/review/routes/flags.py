"""Resolving and reopening flags (from the call page or the queue); coaches and admins only.

Sent by the call page's script (header X-Fragment: flag), the answer is the flag's fresh HTML
instead of a redirect, so the page does not reload.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import Response

from talktracks.review import actions
from talktracks.review.access import require_staff
from talktracks.review.auth import CurrentUser
from talktracks.review.bounds import DbId
from talktracks.review.callpaths import call_url
from talktracks.review.pages import flash, render, safe_next, see_other, store_of

router = APIRouter(dependencies=[Depends(require_staff)])


def _set_status(
    request: Request, user_name: str, flag_id: int, resolve: bool, note: str, next_url: str
) -> Response:
    try:
        call_id, changed = actions.set_flag_status(
            store_of(request), user_name, flag_id, resolve, note
        )
    except actions.NotFound as exc:
        raise HTTPException(status_code=404, detail="No such flag.") from exc
    word = "resolved" if resolve else "reopened"
    message = f"Flag {word}." if changed else f"That flag was already {word}."
    if request.headers.get("x-fragment") == "flag":
        from talktracks.review.routes.calls import call_page_or_404, page_context

        page = call_page_or_404(request, call_id)
        flag = next((f for f in page.flags if f.id == flag_id), None)
        if flag is not None:
            response = render(
                request, "_flag.html", page_context(request, page, True) | {"f": flag}
            )
            response.headers["x-message"] = quote(message)
            return response
    flash(request, message)
    return see_other(safe_next(next_url, default=call_url(call_id)))


@router.post("/flags/{flag_id}/resolve")
def resolve(
    request: Request,
    user: CurrentUser,
    flag_id: Annotated[DbId, Path()],
    note: Annotated[str, Form(max_length=20_000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _set_status(request, user.name, flag_id, True, note, next)


@router.post("/flags/{flag_id}/reopen")
def reopen(
    request: Request,
    user: CurrentUser,
    flag_id: Annotated[DbId, Path()],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _set_status(request, user.name, flag_id, False, "", next)
