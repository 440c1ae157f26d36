"""Rendering helpers shared by the route modules: templates, flash messages, safe redirects."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from talktracks.coaching.wording import behaviour_words, clock
from talktracks.review import sessions
from talktracks.review.auth import live_session
from talktracks.review.callpaths import call_url, deal_url
from talktracks.review.csrf import CSRF_FIELD, csrf_token
from talktracks.store import Store

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    env.filters["words"] = behaviour_words
    # Every link to a call or a deal goes through these (ids hold "/", "..", "%", "?").
    env.filters["call_url"] = call_url
    env.filters["deal_url"] = deal_url
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return Jinja2Templates(env=env)


def store_of(request: Request) -> Store:
    return request.app.state.store


def flash(request: Request, message: str) -> None:
    """A one-line message shown on the session's next page (after a redirect)."""
    live = live_session(request)
    if live is not None:
        sessions.set_flash(store_of(request), live.id, message)


def _pop_flash(request: Request) -> str | None:
    live = live_session(request)
    if live is None or not live.flash:
        return None
    sessions.set_flash(store_of(request), live.id, None)
    return live.flash


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    base = {
        "user": getattr(request.state, "user", None),
        "csrf": csrf_token(request),
        "flash": _pop_flash(request),
        "nav": "",
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, template, base | (context or {}), status_code=status_code
    )


def safe_next(target: str | None, default: str = "/queue") -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):  # browsers drop tabs: "/\t/evil"
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
