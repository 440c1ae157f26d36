"""Security headers on every response (pages, errors, audio and static files alike)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


ERROR_PAGE = (
    b"<!doctype html><html lang=en><meta charset=utf-8><title>Error</title>"
    b"<h1>Something went wrong</h1><p>The error was logged. <a href=/queue>Back to the queue</a></p>"
)


class SecurityHeadersMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware), so streamed audio is passed through untouched.
    Responses that set no Cache-Control get `no-store`: pages hold customer conversations.

    It is the outermost of the app's middleware, but Starlette's ServerErrorMiddleware sits
    outside every added middleware and answers unhandled exceptions with its own bare 500.
    So an exception that reaches this layer before any response started is answered here,
    with the headers, and re-raised for the server to log (it sees the response is sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    static = scope.get("path", "").startswith("/static/")
                    headers["cache-control"] = "no-cache" if static else "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(ERROR_PAGE)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": ERROR_PAGE})
            raise
