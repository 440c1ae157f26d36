"""The team page: rep KPIs, effects and talk tracks from the stored analysis, label freshness."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from talktracks.review.access import require_staff
from talktracks.review.pages import render, store_of
from talktracks.review.team import TITLES, load_team_page

router = APIRouter(dependencies=[Depends(require_staff)])


@router.get("/team")
def team_page(request: Request) -> Response:
    page = load_team_page(store_of(request), request.app.state.settings.models_dir)
    return render(request, "team.html", {"nav": "team", "t": page, "titles": TITLES})
