"""The call page, its audio, and the actions taken on it (labels, relabels, comments, snippets).

Actions are plain form posts that redirect back (they work without script); sent by the call
page's script with the header X-Fragment, they answer with the changed utterance's HTML
instead, so the page updates in place and the player keeps playing.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from talktracks.errors import InputError, TalktracksError
from talktracks.review import actions, playlists
from talktracks.review.access import StaffUser, ensure_call_visible, is_staff
from talktracks.review.audio import AudioUnavailable, audio_response, recording_path
from talktracks.review.auth import CurrentUser, current_user
from talktracks.review.bounds import DbId
from talktracks.review.callpage import CallPage, load_call_page
from talktracks.review.callpaths import CallId, call_url
from talktracks.review.pages import flash, render, see_other, store_of
from talktracks.review.playable import NotDecodable, playable_file
from talktracks.store import Call

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(current_user)])

FRAGMENT_HEADER = "x-fragment"
# Flags about a whole deal (rather than a moment of one call): they link to the deal's page.
DEAL_RULES = frozenset({"missed_referral"})
ACTION_WORDS = {
    "label.confirm": "Tag confirmed",
    "label.reject": "Tag rejected",
    "label.add": "Behaviour added",
    "label.remove": "Behaviour removed",
    "label.relabel": "Relabelled",
}


def call_page_or_404(request: Request, call_id: str) -> CallPage:
    page = load_call_page(
        store_of(request),
        call_id,
        request.app.state.settings.audio_root,
        request.app.state.behaviours,
    )
    if page is None:
        raise HTTPException(status_code=404, detail="No such call.")
    return page


def page_context(request: Request, page: CallPage, staff: bool) -> dict[str, object]:
    """What call.html and its partials (_utterance, _flag, _call_tools) read."""
    return {
        "nav": "calls",
        "p": page,
        "staff": staff,
        "deal_rules": DEAL_RULES,
        "playlists": playlists.playlist_names(store_of(request)) if staff else [],
        "cue": None,
    }


@router.get("/calls/{call_id}")
def call_page(
    request: Request, user: CurrentUser, call_id: CallId, t: float | None = None
) -> Response:
    ensure_call_visible(request, user, call_id)
    page = call_page_or_404(request, call_id)
    context = page_context(request, page, is_staff(user))
    if t is not None and math.isfinite(t) and t >= 0:
        context["cue"] = round(t, 3)
    return render(request, "call.html", context)


@router.get("/calls/{call_id}/audio")
@router.head("/calls/{call_id}/audio", include_in_schema=False)
def call_audio(request: Request, user: CurrentUser, call_id: CallId) -> Response:
    ensure_call_visible(request, user, call_id)
    with store_of(request).session() as s:
        call = s.get(Call, call_id)
        recording = call.recording if call else None
    settings = request.app.state.settings
    try:
        path = recording_path(recording, settings.audio_root)
        served = playable_file(path, settings.data_dir)
    except (AudioUnavailable, NotDecodable) as exc:
        log.warning("audio for call %r refused: %s", call_id, exc)
        raise HTTPException(status_code=404, detail="No playable recording for this call.") from exc
    return audio_response(served)


def _done(
    request: Request, user: CurrentUser, call_id: str, utterance_id: int | None, message: str
) -> Response:
    """After an action: the utterance's fresh HTML for the script, else a redirect back."""
    if request.headers.get(FRAGMENT_HEADER) == "utterance" and utterance_id is not None:
        page = call_page_or_404(request, call_id)
        view = next((u for u in page.utterances if u.id == utterance_id), None)
        if view is not None:
            context = page_context(request, page, is_staff(user)) | {"u": view}
            response = render(request, "_utterance.html", context)
            response.headers["x-message"] = quote(message)  # headers are Latin-1: percent-encode
            return response
    flash(request, message)
    anchor = f"#u-{utterance_id}" if utterance_id is not None else ""
    return see_other(call_url(call_id) + anchor)


@router.post("/calls/{call_id}/labels")
def label(
    request: Request,
    user: StaffUser,
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
    return _done(request, user, call_id, utterance_id, f"{ACTION_WORDS[done]}: {behaviour}.")


@router.post("/calls/{call_id}/relabel")
def relabel(
    request: Request,
    user: StaffUser,
    call_id: CallId,
    utterance_id: Annotated[DbId, Form()],
    behaviour: Annotated[str, Form(min_length=1, max_length=64)],
    to: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:
    """One step for "the machine's tag is the wrong behaviour": reject it, add the right one."""
    try:
        actions.relabel_behaviour(
            store_of(request),
            user.name,
            call_id,
            utterance_id,
            behaviour,
            to,
            request.app.state.behaviours,
        )
    except actions.NotFound as exc:
        raise HTTPException(status_code=404, detail="No such utterance in this call.") from exc
    return _done(request, user, call_id, utterance_id, f"Relabelled: {behaviour} → {to}.")


@router.post("/calls/{call_id}/comments")
def comment(
    request: Request,
    user: StaffUser,
    call_id: CallId,
    text: Annotated[str, Form(max_length=20_000)],
    utterance_id: Annotated[DbId | None, Form()] = None,
) -> Response:
    try:
        actions.add_comment(store_of(request), user.name, call_id, utterance_id, text)
    except actions.NotFound as exc:
        raise HTTPException(status_code=404, detail="No such call or utterance.") from exc
    return _done(request, user, call_id, utterance_id, "Comment added.")


@router.post("/calls/{call_id}/snippets")
def snippet(
    request: Request,
    user: StaffUser,
    call_id: CallId,
    start: Annotated[float, Form(ge=0, le=86_400)],
    end: Annotated[float, Form(ge=0, le=86_400)],
    title: Annotated[str, Form(max_length=1000)],
    playlist: Annotated[str, Form(max_length=1000)],
    note: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    back = call_url(call_id)
    try:
        playlist_id, _ = playlists.add_snippet(
            store_of(request), user.name, call_id, start, end, title, note, playlist
        )
    except LookupError as exc:
        raise HTTPException(status_code=404, detail="No such call.") from exc
    except TalktracksError as exc:
        flash(request, f"Snippet not added: {exc}.")
        return see_other(back)
    flash(request, f"Snippet added to playlist {' '.join(playlist.split())}.")
    return see_other(f"{back}?t={start:g}#snippet-form")


@router.post("/calls/{call_id}/speakers")
def swap_speakers(
    request: Request,
    user: StaffUser,
    call_id: CallId,
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
        return see_other(call_url(call_id))
    flash(request, f"Speakers swapped; {result.flags_open} open flag(s) after re-checking.")
    return see_other(call_url(call_id))
