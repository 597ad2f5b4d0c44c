"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from assess.accounts import authenticate
from web import htmx, i18n
from web.deps import SessionDep, reads_only, sign_in, sign_out

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
def sign_in_submit(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    address = request.client.host if request.client else "unknown"
    result = authenticate(db, username, password, address)  # commits what it records
    if not result.ok or result.user is None:
        message = i18n.pick(result.message_zh, result.message_en)
        if result.status == "locked":
            message = i18n.pick(
                f"尝试次数过多，请在 {result.retry_after} 秒后再试",
                f"Too many attempts. Try again in {result.retry_after} seconds.",
            )
        status = 429 if result.status == "locked" else 401
        headers = {"Retry-After": str(result.retry_after)} if result.status == "locked" else None
        ctx = {"next": safe_next(next), "expired": False, "message": message, "username": username}
        return htmx.render(request, "auth.html", ctx, status=status, headers=headers)
    sign_in(request, result.user)
    return htmx.redirect(request, safe_next(next))


@router.post("/signout", name="sign_out")
def sign_out_submit(request: Request) -> Response:
    sign_out(request)
    return htmx.redirect(request, "/signin")
