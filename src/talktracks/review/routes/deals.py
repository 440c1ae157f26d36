"""A page per deal (coaches and admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from talktracks.review.access import require_staff
from talktracks.review.callpaths import DealId
from talktracks.review.dealpage import load_deal_page
from talktracks.review.pages import render, store_of

router = APIRouter(dependencies=[Depends(require_staff)])


@router.get("/deals/{deal_id}")
def deal_page(request: Request, deal_id: DealId) -> Response:
    page = load_deal_page(store_of(request), deal_id)
    if page is None:
        raise HTTPException(status_code=404, detail="No such deal.")
    return render(request, "deal.html", {"nav": "calls", "d": page})
