"""Snippets and playlists: a coach marks a span of a call into a named playlist and shares the
playlist with rep users, who may play its snippets (and read their words) and nothing else of
those calls. Every change runs in one transaction with its audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from talktracks.errors import InputError
from talktracks.review.access import REP_ROLE
from talktracks.review.audit import record
from talktracks.review.auth import SignedIn
from talktracks.store import Call, Playlist, PlaylistShare, Snippet, Store, User, Utterance

MAX_TITLE_CHARS = 200
MAX_NOTE_CHARS = 5000
MAX_SNIPPET_SECONDS = 15 * 60


def _name(value: str, what: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InputError(f"a {what} cannot be empty")
    if len(value) > MAX_TITLE_CHARS:
        raise InputError(f"a {what} can have at most {MAX_TITLE_CHARS} characters")
    return value


def add_snippet(
    store: Store,
    actor: str,
    call_id: str,
    start: float,
    end: float,
    title: str,
    note: str,
    playlist: str,
) -> tuple[int, int]:
    """Add the span [start, end) of the call to the playlist named `playlist` (created when
    new). Returns (playlist id, snippet id). Raises InputError for a bad span or text."""
    title, playlist = _name(title, "snippet title"), _name(playlist, "playlist name")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InputError(f"a note can have at most {MAX_NOTE_CHARS} characters")
    if not (0 <= start < end):
        raise InputError(f"a snippet must end after it starts (start {start:g} s, end {end:g} s)")
    if end - start > MAX_SNIPPET_SECONDS:
        raise InputError(f"a snippet can be at most {MAX_SNIPPET_SECONDS // 60} minutes long")
    with store.session() as s:
        call = s.get(Call, call_id)
        if call is None:
            raise LookupError(call_id)
        if call.duration is not None and start >= call.duration:
            raise InputError(
                f"the snippet starts at {start:g} s, after the call ends ({call.duration:g} s)"
            )
        plist = s.scalar(select(Playlist).where(Playlist.name == playlist))
        if plist is None:
            plist = Playlist(name=playlist, created_by=actor)
            s.add(plist)
            s.flush()
            record(s, actor, "playlist.create", f"playlist:{plist.id}", {"name": playlist})
        position = s.scalar(
            select(func.coalesce(func.max(Snippet.position), 0)).where(
                Snippet.playlist_id == plist.id
            )
        )
        snippet = Snippet(
            playlist_id=plist.id,
            call_id=call_id,
            position=int(position or 0) + 1,
            start=start,
            end=end,
            title=title,
            note=note,
            created_by=actor,
        )
        s.add(snippet)
        s.flush()
        record(
            s,
            actor,
            "snippet.add",
            f"playlist:{plist.id}",
            {"snippet_id": snippet.id, "call_id": call_id, "start": start, "end": end},
        )
        return plist.id, snippet.id


def remove_snippet(store: Store, actor: str, snippet_id: int) -> int:
    """Take a snippet out of its playlist (audited with what it was). Returns the playlist id."""
    with store.session() as s:
        snippet = s.get(Snippet, snippet_id)
        if snippet is None:
            raise LookupError(snippet_id)
        details = {
            "snippet_id": snippet.id,
            "call_id": snippet.call_id,
            "start": snippet.start,
            "end": snippet.end,
            "title": snippet.title,
        }
        playlist_id = snippet.playlist_id
        s.delete(snippet)
        record(s, actor, "snippet.remove", f"playlist:{playlist_id}", details)
        return playlist_id


def share_playlist(store: Store, actor: str, playlist_id: int, user_name: str) -> bool:
    """Share the playlist with a rep user. False when it was shared with them already."""
    with store.session() as s:
        if s.get(Playlist, playlist_id) is None:
            raise LookupError(playlist_id)
        user = s.scalar(select(User).where(User.name == user_name.strip()))
        if user is None:
            raise InputError(f"no user named {user_name.strip()!r}")
        if user.role != REP_ROLE:
            raise InputError(f"{user.name} is a {user.role}, who sees every playlist already")
        if s.get(PlaylistShare, (playlist_id, user.id)) is not None:
            return False
        s.add(PlaylistShare(playlist_id=playlist_id, user_id=user.id))
        record(s, actor, "playlist.share", f"playlist:{playlist_id}", {"user": user.name})
        return True


@dataclass(frozen=True)
class PlaylistInfo:
    id: int
    name: str
    created_by: str
    created_at: datetime
    n_snippets: int
    shared_with: list[str]


@dataclass(frozen=True)
class SnippetView:
    snippet: Snippet
    rep_id: str | None
    lines: list[tuple[str, float, str]]  # speaker, start, text of the utterances in the span
    call_visible: bool


@dataclass(frozen=True)
class PlaylistPage:
    info: PlaylistInfo
    snippets: list[SnippetView]
    rep_users: list[str]


def _visible_ids(store: Store, user: SignedIn, staff: bool) -> list[int] | None:
    """Playlist ids a rep may open (None: staff, who may open all)."""
    if staff:
        return None
    with store.session() as s:
        return list(
            s.scalars(select(PlaylistShare.playlist_id).where(PlaylistShare.user_id == user.id))
        )


def list_playlists(store: Store, user: SignedIn, staff: bool) -> list[PlaylistInfo]:
    allowed = _visible_ids(store, user, staff)
    with store.session() as s:
        query = select(Playlist).order_by(Playlist.name)
        if allowed is not None:
            query = query.where(Playlist.id.in_(allowed))
        playlists = list(s.scalars(query))
        ids = [p.id for p in playlists]
        counts = dict(
            s.execute(
                select(Snippet.playlist_id, func.count())
                .where(Snippet.playlist_id.in_(ids))
                .group_by(Snippet.playlist_id)
            ).all()
        )
        shares: dict[int, list[str]] = {}
        for pid, name in s.execute(
            select(PlaylistShare.playlist_id, User.name)
            .join(User, User.id == PlaylistShare.user_id)
            .where(PlaylistShare.playlist_id.in_(ids))
            .order_by(User.name)
        ):
            shares.setdefault(pid, []).append(name)
    return [
        PlaylistInfo(
            p.id,
            p.name,
            p.created_by,
            p.created_at,
            counts.get(p.id, 0),
            shares.get(p.id, []) if staff else [],
        )
        for p in playlists
    ]


def playlist_names(store: Store) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(Playlist.name).order_by(Playlist.name)))


def load_playlist(
    store: Store, playlist_id: int, user: SignedIn, staff: bool, own_rep: str | None
) -> PlaylistPage | None:
    """The playlist with its snippets in order, or None when `user` may not open it."""
    allowed = _visible_ids(store, user, staff)
    if allowed is not None and playlist_id not in allowed:
        return None
    infos = {p.id: p for p in list_playlists(store, user, staff)}
    info = infos.get(playlist_id)
    if info is None:
        return None
    views: list[SnippetView] = []
    with store.session() as s:
        rows = s.execute(
            select(Snippet, Call.rep_id)
            .join(Call, Call.call_id == Snippet.call_id)
            .where(Snippet.playlist_id == playlist_id)
            .order_by(Snippet.position, Snippet.id)
        ).all()
        for snippet, rep_id in rows:
            lines = [
                (u.speaker, u.start, u.text)
                for u in s.scalars(
                    select(Utterance)
                    .where(
                        Utterance.call_id == snippet.call_id,
                        Utterance.end > snippet.start,
                        Utterance.start < snippet.end,
                    )
                    .order_by(Utterance.idx)
                )
            ]
            visible = staff or (own_rep is not None and rep_id == own_rep)
            views.append(SnippetView(snippet, rep_id, lines, visible))
        reps = list(
            s.scalars(select(User.name).where(User.role == REP_ROLE).order_by(User.name))
            if staff
            else []
        )
    return PlaylistPage(info, views, reps)


def snippet_for(
    store: Store, snippet_id: int, user: SignedIn, staff: bool
) -> tuple[Snippet, str | None] | None:
    """(the snippet, its call's stored recording) when `user` may play it, else None."""
    allowed = _visible_ids(store, user, staff)
    with store.session() as s:
        row = s.execute(
            select(Snippet, Call.recording)
            .join(Call, Call.call_id == Snippet.call_id)
            .where(Snippet.id == snippet_id)
        ).first()
    if row is None or (allowed is not None and row[0].playlist_id not in allowed):
        return None
    return row[0], row[1]
