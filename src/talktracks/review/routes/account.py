"""The signed-in user's own account: change the password (the current one is required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from talktracks.errors import TalktracksError
from talktracks.review import throttle, users
from talktracks.review.auth import CurrentUser, client_address, current_user
from talktracks.review.pages import flash, render, see_other, store_of
from talktracks.review.passwords import POLICY_TEXT

router = APIRouter(prefix="/account", dependencies=[Depends(current_user)])


def _page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    ctx = {"nav": "account", "error": error, "policy": POLICY_TEXT}
    return render(request, "account.html", ctx, status_code=status_code)


@router.get("")
def account_page(request: Request) -> Response:
    return _page(request)


@router.post("/password")
def change_password(
    request: Request,
    user: CurrentUser,
    current: Annotated[str, Form(max_length=4096)],
    new: Annotated[str, Form(max_length=4096)],
    repeat: Annotated[str, Form(max_length=4096)],
) -> Response:
    store, address = store_of(request), client_address(request)
    policy = request.app.state.options.throttle
    # A stolen session must not become a way to guess the password: wrong current passwords
    # count like failed sign-ins from this address.
    if throttle.check(store, policy, user.name, address).locked_for_s > 0:
        return _page(request, "Too many wrong passwords from your address; try again later.", 429)
    try:
        ended = users.change_own_password(
            store, user.name, current, new, repeat, session_id=user.session_id
        )
    except TalktracksError as exc:
        if isinstance(exc, users.WrongCurrentPassword):
            throttle.record_failure(store, policy, user.name, address)
        return _page(request, f"Password not changed: {exc}.", 400)
    others = f" {ended} other session(s) ended." if ended else ""
    flash(request, f"Password changed.{others}")
    return see_other("/account")
