"""Call and deal ids in URLs: each id is one path segment, whatever characters it holds.

The importers accept any id (`a/b`, `../../etc/passwd`, `50% off?`, `Müller #2`), so links
percent-encode the whole id as one segment, `/` included (`call_url`, `deal_url`). Starlette
routes on the decoded path, where an encoded `/` would split the id, so `RawIdPathMiddleware`
routes `/calls/...` and `/deals/...` on the raw path instead and `CallId`/`DealId` decode the
segment themselves. Ids that are only dots ("." and "..") are path dot-segments a browser
removes, even encoded, so their segment starts with "~" (an encoded id never does: "~" is
always sent as %7E).
"""

from __future__ import annotations

import contextlib
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import Depends, HTTPException, Path
from starlette.types import ASGIApp, Receive, Scope, Send

RAW_PREFIXES = (b"/calls/", b"/deals/")
DOTS_MARK = "~"
MAX_SEGMENT = 2000  # 200 characters of 4-byte UTF-8, percent-encoded, fit easily


def path_segment(value: object) -> str:
    """One URL path segment: everything but unreserved characters percent-encoded ("/" too)."""
    return quote(str(value), safe="")


def id_segment(value: str) -> str:
    """A call or deal id as one raw-routed segment (see the module docstring)."""
    segment = path_segment(value).replace("~", "%7E")
    if value and not value.strip("."):
        segment = DOTS_MARK + segment
    return segment


def call_url(call_id: str, *rest: str) -> str:
    """The path of a call's page (or, with `rest`, of something under it, e.g. "audio")."""
    return "/calls/" + "/".join([id_segment(call_id), *rest])


def deal_url(deal_id: str) -> str:
    """The path of a deal's page."""
    return "/deals/" + id_segment(deal_id)


def decode_segment(segment: str) -> str:
    """The call id a raw segment stands for; ValueError when it is not valid UTF-8."""
    if segment.startswith(DOTS_MARK):
        segment = segment[len(DOTS_MARK) :]
    return unquote(segment, errors="strict")


def _call_id(call_id: Annotated[str, Path(max_length=MAX_SEGMENT)]) -> str:
    try:
        return decode_segment(call_id)
    except ValueError as exc:  # UnicodeDecodeError included
        raise HTTPException(status_code=404, detail="No such call.") from exc


def _deal_id(deal_id: Annotated[str, Path(max_length=MAX_SEGMENT)]) -> str:
    try:
        return decode_segment(deal_id)
    except ValueError as exc:
        raise HTTPException(status_code=404, detail="No such deal.") from exc


CallId = Annotated[str, Depends(_call_id)]
DealId = Annotated[str, Depends(_deal_id)]


class RawIdPathMiddleware:
    """Route /calls/... and /deals/... on the still-encoded path (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and raw.startswith(RAW_PREFIXES):
            # Not ASCII: not a link we made; the decoded path then gets its usual 404.
            with contextlib.suppress(UnicodeDecodeError):
                scope = dict(scope, path=raw.split(b"?", 1)[0].decode("ascii"))
        await self.app(scope, receive, send)
