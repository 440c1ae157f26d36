"""The list of every call (filters) and transcript search, at /calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from talktracks.review.access import is_staff, visible_calls
from talktracks.review.auth import CurrentUser, current_user
from talktracks.review.bounds import MAX_PAGE, filter_date
from talktracks.review.calllist import (
    CHANNELS,
    FLAG_STATES,
    NO_TRACK,
    OUTCOMES,
    SCOPES,
    TRACK_ARROW,
    CallFilters,
    load_call_list,
)
from talktracks.review.pages import render, store_of
from talktracks.store.search import MAX_QUERY_CHARS

router = APIRouter(dependencies=[Depends(current_user)])


def _choice(value: str, allowed: tuple[str, ...], label: str, problems: list[str]) -> str:
    if value and value not in allowed:
        problems.append(f"{label} {value!r} is not one of {', '.join(allowed)}; it was ignored.")
        return ""
    return value


def _track(value: str, behaviours: list[str], problems: list[str]) -> str:
    if not value or value == NO_TRACK:
        return value
    names = value.split(TRACK_ARROW)
    if len(set(names)) != len(names) or any(n not in behaviours for n in names):
        problems.append(f"Talk track {value[:200]!r} is not a sequence of known behaviours.")
        return ""
    return value


@router.get("/calls")
def call_list(
    request: Request,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=20_000)] = "",  # longer than MAX_QUERY_CHARS: cut, named
    rep: Annotated[str, Query(max_length=2000)] = "",
    deal: Annotated[str, Query(max_length=2000)] = "",
    date_from: Annotated[str, Query(max_length=32)] = "",
    date_to: Annotated[str, Query(max_length=32)] = "",
    outcome: Annotated[str, Query(max_length=64)] = "",
    has: Annotated[str, Query(max_length=64)] = "",
    lacks: Annotated[str, Query(max_length=64)] = "",
    scope: Annotated[str, Query(max_length=64)] = "call",
    flag: Annotated[str, Query(max_length=64)] = "",
    rule: Annotated[str, Query(max_length=64)] = "",
    channels: Annotated[str, Query(max_length=64)] = "",
    track: Annotated[str, Query(max_length=2000)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    problems: list[str] = []
    behaviours: list[str] = request.app.state.behaviours
    if len(q) > MAX_QUERY_CHARS:
        problems.append(f"The search was cut to its first {MAX_QUERY_CHARS} characters.")
    filters = CallFilters(
        q=q[:MAX_QUERY_CHARS],
        rep=rep[:200],
        deal=deal[:200],
        date_from=filter_date(date_from, "From", problems),
        date_to=filter_date(date_to, "To", problems),
        outcome=_choice(outcome, OUTCOMES, "Outcome", problems),
        has=_choice(has, tuple(behaviours), "Behaviour", problems),
        lacks=_choice(lacks, tuple(behaviours), "Behaviour", problems),
        scope=_choice(scope, SCOPES, "Scope", problems) or "call",
        flag=_choice(flag, FLAG_STATES, "Flag state", problems),
        rule=rule[:64],
        channels=_choice(channels, CHANNELS, "Channels", problems),
        track=_track(track, behaviours, problems),
    )
    result = load_call_list(
        store_of(request),
        filters,
        visible_calls(request, user),
        request.app.state.settings.audio_root,
        page,
        request.app.state.options.page_size,
    )
    return render(
        request,
        "calls.html",
        {
            "nav": "calls",
            "c": result,
            "filters": filters,
            "problems": problems,
            "behaviours": behaviours,
            "outcomes": OUTCOMES,
            "flag_states": FLAG_STATES,
            "channel_kinds": CHANNELS,
            "staff": is_staff(user),
        },
    )
