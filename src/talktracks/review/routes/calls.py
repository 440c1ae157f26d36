"""The call page, its audio, and the actions taken on it (labels, comments)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from talktracks.errors import InputError
from talktracks.review import actions
from talktracks.review.audio import AudioUnavailable, audio_response, recording_path
from talktracks.review.auth import CurrentUser, current_user
from talktracks.review.bounds import DbId
from talktracks.review.callpage import load_call_page
from talktracks.review.callpaths import CallId, call_url
from talktracks.review.pages import flash, render, see_other, store_of
from talktracks.store import Call

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(current_user)])

ACTION_WORDS = {
    "label.confirm": "Tag confirmed",
    "label.reject": "Tag rejected",
    "label.add": "Behaviour added",
    "label.remove": "Behaviour removed",
}


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: CallId) -> Response:
    page = load_call_page(
        store_of(request),
        call_id,
        request.app.state.settings.audio_root,
        request.app.state.behaviours,
    )
    if page is None:
        raise HTTPException(status_code=404, detail="No such call.")
    return render(request, "call.html", {"nav": "queue", "p": page})


@router.get("/calls/{call_id}/audio")
@router.head("/calls/{call_id}/audio", include_in_schema=False)
def call_audio(request: Request, call_id: CallId) -> Response:
    with store_of(request).session() as s:
        call = s.get(Call, call_id)
        recording = call.recording if call else None
    try:
        path = recording_path(recording, request.app.state.settings.audio_root)
    except AudioUnavailable as exc:
        log.warning("audio for call %r refused: %s", call_id, exc)
        raise HTTPException(status_code=404, detail="No playable recording for this call.") from exc
    return audio_response(path)


def _back(call_id: str, utterance_id: int | None) -> Response:
    anchor = f"#u-{utterance_id}" if utterance_id is not None else ""
    return see_other(call_url(call_id) + anchor)


@router.post("/calls/{call_id}/labels")
def label(
    request: Request,
    user: CurrentUser,
    call_id: CallId,
    utterance_id: Annotated[DbId, Form()],
    behaviour: Annotated[str, Form(min_length=1, max_length=64)],
    value: Annotated[bool, Form()],
) -> Response:
    try:
        done = actions.label_behaviour(
            store_of(request),
            user.name,
            call_id,
            utterance_id,
            behaviour,
            value,
            request.app.state.behaviours,
        )
    except actions.NotFound as exc:
        raise HTTPException(status_code=404, detail="No such utterance in this call.") from exc
    flash(request, f"{ACTION_WORDS[done]}: {behaviour}.")
    return _back(call_id, utterance_id)


@router.post("/calls/{call_id}/comments")
def comment(
    request: Request,
    user: CurrentUser,
    call_id: CallId,
    text: Annotated[str, Form(max_length=20_000)],
    utterance_id: Annotated[DbId | None, Form()] = None,
) -> Response:
    try:
        actions.add_comment(store_of(request), user.name, call_id, utterance_id, text)
    except actions.NotFound as exc:
        raise HTTPException(status_code=404, detail="No such call or utterance.") from exc
    flash(request, "Comment added.")
    return _back(call_id, utterance_id)


@router.post("/calls/{call_id}/speakers")
def swap_speakers(
    request: Request,
    user: CurrentUser,
    call_id: str,
    rep: Annotated[str, Form(min_length=1, max_length=16)],
) -> Response:
    """A mono call's two voices: make voice `rep` the rep (a swap when `rep` is "customer")."""
    from talktracks.review.speakers import swap_speakers as swap

    try:
        result = swap(store_of(request), request.app.state.settings, user.name, call_id, rep)
    except actions.NotFound as exc:
        raise HTTPException(status_code=404, detail="No such call.") from exc
    except InputError as exc:
        flash(request, str(exc))
        return _back(call_id, None)
    flash(request, f"Speakers swapped; {result.flags_open} open flag(s) after re-checking.")
    return _back(call_id, None)
