"""CSRF tokens and the security headers every response carries.

The CSRF token lives in the signed session. A state-changing request must echo it, either in
the ``csrf_token`` form field (plain forms) or the ``X-CSRF-Token`` header (htmx sends it from
the ``hx-headers`` attribute on <body>). Sign-in is protected too: the token is made before
anyone signs in.
"""

from __future__ import annotations

import hmac
import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assess.certification.evidence import mb_text
from assess.errors import Forbidden, Problem
from web.deps import NotSignedIn

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class CsrfFailed(Forbidden):
    """The request did not carry this session's CSRF token."""


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request that does not echo the session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    if not expected:
        # No session, so no token: the session timed out or never began. Say so, rather than
        # blame the request's origin; nothing can change without a session anyway.
        raise NotSignedIn(expired=bool(request.scope.get("session_expired")))
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            field = form.get("csrf_token")
            sent = field if isinstance(field, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise CsrfFailed(
            Problem(
                "csrf",
                "页面已过期或请求来源无法确认（CSRF 校验失败），请刷新页面后重试",
                "the page has expired or the request's origin could not be confirmed "
                "(CSRF check failed); reload the page and try again",
            )
        )


class SecurityHeaders:
    """Adds CSP and the other protective headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                h.setdefault("Content-Security-Policy", CSP)
                h.setdefault("X-Content-Type-Options", "nosniff")
                h.setdefault("X-Frame-Options", "DENY")
                h.setdefault("Referrer-Policy", "same-origin")
                if not scope["path"].startswith("/static/"):
                    h.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, before anything reads them.

    An evidence upload is the one exception: its body may hold a file of up to the settings'
    ``evidence_max_bytes`` (or ``upload_limit`` when given) plus the form around it, and its
    refusal states that limit.
    """

    def __init__(
        self, app: ASGIApp, limit: int = 1_000_000, upload_limit: int | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    def _limit_of(self, scope: Scope) -> tuple[int, str]:
        """The most bytes this request's body may have, and the message past it."""
        if scope.get("method") == "POST" and _UPLOAD_PATH.fullmatch(scope.get("path", "")):
            settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
            max_bytes = self.upload_limit or getattr(settings, "evidence_max_bytes", None)
            if max_bytes:
                return max_bytes + UPLOAD_OVERHEAD, _file_too_large(max_bytes)
        return self.limit, _TOO_LARGE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, refusal = self._limit_of(scope)
        headers = dict(scope.get("headers", []))
        htmx = headers.get(b"hx-request") == b"true"
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _too_large(send, htmx, refusal)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await _too_large(send, htmx, refusal)


class BodyTooLarge(Exception):
    """A chunked body grew past the limit while being read."""


_TOO_LARGE = "提交的内容过大（上限 1 MB）/ The request is too large (the limit is 1 MB)."
#: The evidence upload's path (assess.certification.evidence; web.routes.evidence).
_UPLOAD_PATH = re.compile(r"/assessments/[^/]+/answers/[^/]+/evidence")
#: Room for the multipart form around an uploaded file: boundaries, part headers, CSRF field.
UPLOAD_OVERHEAD = 64 * 1024


def _file_too_large(max_bytes: int) -> str:
    mb = mb_text(max_bytes)
    return (
        f"文件过大：证明材料每个文件不超过 {mb} MB / "
        f"The file is too large: each evidence file may be at most {mb} MB."
    )


async def _too_large(send: Send, htmx: bool, message: str = _TOO_LARGE) -> None:
    """413 before the app sees the request. For htmx, a message for the page's flash area
    (a question's status line must stay in place, marked "not saved" by the page)."""
    if htmx:
        body = (
            f'<div class="problems" role="alert"><ul><li data-code="too_large">{message}'
            "</li></ul></div>"
        ).encode()
        kind = b"text/html; charset=utf-8"
        extra = [(b"hx-retarget", b"#flash"), (b"hx-reswap", b"innerHTML")]
    else:
        body, kind, extra = message.encode(), b"text/plain; charset=utf-8", []
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
