"""The review app factory: `create_app(settings)` wires store, secret, security and routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from talktracks.behaviours.taxonomy import load_taxonomy
from talktracks.config import Settings
from talktracks.errors import TalktracksError
from talktracks.review.auth import NotSignedIn
from talktracks.review.callpaths import RawIdPathMiddleware
from talktracks.review.cookies import SessionCookieMiddleware
from talktracks.review.csrf import verify_csrf
from talktracks.review.headers import SecurityHeadersMiddleware
from talktracks.review.options import ReviewOptions
from talktracks.review.pages import STATIC_DIR, make_templates, render, see_other
from talktracks.review.routes import (
    account,
    admin,
    auth,
    calllist,
    calls,
    deals,
    flags,
    playlists,
    queue,
    team,
)
from talktracks.review.secret import load_or_create_secret
from talktracks.review.sessions import SessionPolicy
from talktracks.store import Store, open_store

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, options: ReviewOptions | None = None, *, store: Store | None = None
) -> FastAPI:
    """The review app for `settings` (database, data_dir for the secret, audio_root, session
    lifetimes).

    Every route but /login and /static needs a signed-in user; every state-changing request
    needs the session's CSRF token (an app-wide dependency).
    """
    options = options or ReviewOptions()
    store = store or open_store(settings.database_url)
    secret = load_or_create_secret(settings.data_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.dispose()

    app = FastAPI(
        title="talktracks review",
        docs_url=None,  # no unauthenticated API docs
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(verify_csrf)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.options = options
    app.state.store = store
    app.state.templates = make_templates()
    app.state.behaviours = load_taxonomy().names
    app.state.secret = secret
    app.state.session_policy = SessionPolicy(
        idle=timedelta(minutes=settings.review_session_idle_minutes),
        max_age=timedelta(hours=settings.review_session_max_hours),
    )

    # add_middleware puts each one outside the ones before it: the raw-path router innermost,
    # the security headers outermost, so cookies, errors and all get the headers.
    app.add_middleware(RawIdPathMiddleware)
    app.add_middleware(
        SessionCookieMiddleware,
        secure=options.secure_cookies,
        session_max_age_s=int(app.state.session_policy.max_age.total_seconds()),
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, account, queue, calllist, calls, deals, playlists, flags, team, admin):
        app.include_router(module.router)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", ""):
            # The raw path: a call id's encoded "/" must come back encoded after sign-in.
            raw = request.scope.get("raw_path") or request.url.path.encode()
            path = raw.decode("latin-1")
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return see_other(f"/login?next={quote(target, safe='')}")
        return PlainTextResponse("Sign in first.", status_code=401)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "message": exc.detail},
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        message = f"Invalid {where}: {first.get('msg', 'bad value')}"
        return render(request, "error.html", {"status": 400, "message": message}, status_code=400)

    @app.exception_handler(TalktracksError)
    async def user_error(request: Request, exc: TalktracksError) -> Response:
        return render(request, "error.html", {"status": 400, "message": str(exc)}, status_code=400)
