"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from assess.accounts.users import authenticate, end_session
from web import htmx, i18n
from web.deps import SessionDep, reads_only, session_token, sign_in, sign_out

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site may be a redirect target (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin", name="sign_in_page")
@reads_only
def sign_in_page(request: Request, next: str = "/", expired: int = 0) -> Response:
    ctx = {"next": safe_next(next), "expired": bool(expired), "message": "", "username": ""}
    return htmx.render(request, "auth.html", ctx)


@router.post("/signin", name="sign_in")
async def sign_in_submit(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    # The address is the connecting peer, or what a trusted proxy says it forwarded for (see
    # Settings.trusted_proxies): nobody else's X-Forwarded-For gets this far.
    address = request.client.host if request.client else "unknown"
    result = await anyio.to_thread.run_sync(
        lambda: authenticate(db, username, password, address)
    )  # commits what it records
    if not result.ok or result.user is None:
        message = i18n.pick(result.message_zh, result.message_en)
        headers = None
        status = 401
        if result.status == "locked":
            message = i18n.pick(
                f"尝试次数过多，请在 {result.retry_after} 秒后再试",
                f"Too many attempts. Try again in {result.retry_after} seconds.",
            )
        if result.status in ("locked", "slowed"):
            status = 429
            headers = {"Retry-After": str(result.retry_after)}
        if result.status == "slowed":
            # Waited here on the event loop, so that a stream of wrong guesses from a busy
            # address ties up no worker thread, and a right password is not held back at all.
            await anyio.sleep(result.retry_after)
        ctx = {"next": safe_next(next), "expired": False, "message": message, "username": username}
        return htmx.render(request, "auth.html", ctx, status=status, headers=headers)
    sign_in(request, result.user, result.session_token)
    if result.user.must_change_password:
        return htmx.redirect(request, request.app.url_path_for("change_password"))
    return htmx.redirect(request, safe_next(next))


@router.post("/signout", name="sign_out")
def sign_out_submit(request: Request, db: SessionDep) -> Response:
    token = session_token(request)
    if token:
        end_session(db, token)  # this browser only: the person's other devices stay signed in
        db.commit()
    sign_out(request)
    return htmx.redirect(request, "/signin")
