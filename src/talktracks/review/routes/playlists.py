"""Playlists of snippets: list, page, sharing with rep users, and each snippet's audio clip."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import Response

from talktracks.errors import TalktracksError
from talktracks.review import playlists
from talktracks.review.access import StaffUser, is_staff, rep_id_of
from talktracks.review.audio import AudioUnavailable, audio_response, recording_path
from talktracks.review.auth import CurrentUser, current_user
from talktracks.review.bounds import DbId
from talktracks.review.pages import flash, render, see_other, store_of
from talktracks.review.playable import NotDecodable, clip_file

router = APIRouter(dependencies=[Depends(current_user)])


@router.get("/playlists")
def playlist_list(request: Request, user: CurrentUser) -> Response:
    rows = playlists.list_playlists(store_of(request), user, is_staff(user))
    return render(
        request,
        "playlists.html",
        {"nav": "playlists", "playlists": rows, "staff": is_staff(user)},
    )


@router.get("/playlists/{playlist_id}")
def playlist_page(
    request: Request, user: CurrentUser, playlist_id: Annotated[DbId, Path()]
) -> Response:
    store = store_of(request)
    staff = is_staff(user)
    page = playlists.load_playlist(
        store, playlist_id, user, staff, None if staff else rep_id_of(store, user)
    )
    if page is None:
        raise HTTPException(status_code=404, detail="No such playlist.")
    return render(request, "playlist.html", {"nav": "playlists", "pl": page, "staff": staff})


@router.post("/playlists/{playlist_id}/share")
def share(
    request: Request,
    user: StaffUser,
    playlist_id: Annotated[DbId, Path()],
    name: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        changed = playlists.share_playlist(store_of(request), user.name, playlist_id, name)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail="No such playlist.") from exc
    except TalktracksError as exc:
        flash(request, f"Not shared: {exc}.")
        return see_other(f"/playlists/{playlist_id}")
    who = name.strip()
    flash(request, f"Shared with {who}." if changed else f"Already shared with {who}.")
    return see_other(f"/playlists/{playlist_id}")


@router.post("/snippets/{snippet_id}/remove")
def remove(request: Request, user: StaffUser, snippet_id: Annotated[DbId, Path()]) -> Response:
    try:
        playlist_id = playlists.remove_snippet(store_of(request), user.name, snippet_id)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail="No such snippet.") from exc
    flash(request, "Snippet removed.")
    return see_other(f"/playlists/{playlist_id}")


@router.get("/snippets/{snippet_id}/audio")
@router.head("/snippets/{snippet_id}/audio", include_in_schema=False)
def snippet_audio(
    request: Request, user: CurrentUser, snippet_id: Annotated[DbId, Path()]
) -> Response:
    store = store_of(request)
    found = playlists.snippet_for(store, snippet_id, user, is_staff(user))
    if found is None:
        raise HTTPException(status_code=404, detail="No such snippet.")
    snippet, recording = found
    settings = request.app.state.settings
    try:
        path = recording_path(recording, settings.audio_root)
        clip = clip_file(path, settings.data_dir, snippet.start, snippet.end)
    except (AudioUnavailable, NotDecodable) as exc:
        raise HTTPException(
            status_code=404, detail="No playable recording for this snippet."
        ) from exc
    return audio_response(clip)
