"""Signed-cookie sessions: the session's data (language, CSRF token, and once signed in a session
token) lives in the cookie, so no worker keeps any in memory.

Who is signed in is not the cookie's to say alone: its session token must name a live row in the
database (web.deps.signed_in_user), so that signing out, a password change or a disabled
account ends a session on every worker, copies of its cookie included.

The cookie is HttpOnly and SameSite=Lax, and Secure whenever the request came over https. It
expires after a spell of inactivity: each request within the window slides it forward (re-signed
at most once a minute, so autosave bursts do not re-sign on every change).
"""

from __future__ import annotations

import json
import time
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "assess_session"
IDLE_SECONDS = 2 * 3600
RESIGN_AFTER = 60
#: The browser keeps the cookie a week past the idle limit (the signature's age still ends the
#: session), so that a late request can be told "your session expired", not "who are you?".
COOKIE_GRACE = 7 * 24 * 3600


class SessionMiddleware:
    """Puts ``scope["session"]`` (a dict) in place and writes it back as a signed cookie."""

    def __init__(self, app: ASGIApp, secret_key: str, idle_seconds: int = IDLE_SECONDS) -> None:
        self.app = app
        self.idle = idle_seconds
        self.signer = URLSafeTimedSerializer(secret_key, salt="assess.session")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(COOKIE)
        data: dict[str, Any] = {}
        signed_at = 0.0
        expired = False
        if raw:
            try:
                data, stamp = self.signer.loads(raw, max_age=self.idle, return_timestamp=True)
                signed_at = stamp.timestamp()
            except SignatureExpired:
                expired = True
            except BadSignature:
                pass
            if not isinstance(data, dict):
                data = {}
        scope["session"] = data
        scope["session_expired"] = expired
        before = json.dumps(data, sort_keys=True)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = scope["session"]
                changed = json.dumps(session, sort_keys=True) != before
                stale = time.time() - signed_at > RESIGN_AFTER
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                if session and (changed or stale):
                    value = self.signer.dumps(session)
                    headers.append(
                        "Set-Cookie",
                        f"{COOKIE}={value}; Path=/; Max-Age={self.idle + COOKIE_GRACE}; HttpOnly; "
                        f"SameSite=Lax{secure}",
                    )
                elif not session and raw:
                    headers.append(
                        "Set-Cookie",
                        f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)
