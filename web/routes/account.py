"""The signed-in user's own things: password, and for an enterprise user its contact details."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from assess.accounts.access import own_enterprise
from assess.accounts.enterprises import CONTACT_FIELDS, update_enterprise
from assess.accounts.users import AccountError, TooManyAttempts, change_password
from assess.errors import Conflict, Invalid, Problem
from assess.store.models import Cluster, Enterprise, Park
from web import errors, htmx
from web.deps import (
    PasswordChangeRequired,
    PendingUserDep,
    SessionDep,
    UserDep,
    reads_only,
    reissue,
)
from web.params import FormVersion
from web.security import csrf_token

router = APIRouter()
Text = Annotated[str, Form(max_length=300)]


async def password_first(request: Request, exc: PasswordChangeRequired) -> Response:
    """Until an administrator's password is replaced, a page leads to the password page; an
    htmx or JSON request is told why it was refused (403), in the page's language."""
    if htmx.is_htmx(request) or errors.wants_json(request):
        return errors.problem_response(request, exc.status, exc.problems)
    return RedirectResponse(request.app.url_path_for("change_password"), status_code=303)


@router.get("/account/session", name="session_state")
@reads_only
def session_state(request: Request, user: UserDep) -> Response:
    """Whether this browser is signed in, and its form token: a page left open while the
    session expired asks, after the person signed in again in another tab, so that it can send
    its unsaved answers again (401 when still signed out)."""
    return JSONResponse({"user": user.username, "csrf": csrf_token(request)})


@router.get("/account/password", name="change_password")
@reads_only
def password_page(request: Request, user: PendingUserDep) -> Response:
    ctx = {"problems": [], "done": False, "pending": user.must_change_password}
    return htmx.render(request, "password.html", ctx)


@router.post("/account/password", name="change_password_submit")
def password_submit(
    request: Request,
    user: PendingUserDep,
    db: SessionDep,
    current: Annotated[str, Form(max_length=200)] = "",
    new: Annotated[str, Form(max_length=200)] = "",
    repeat: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    pending = user.must_change_password
    try:
        if new != repeat:
            raise AccountError(
                [
                    Problem(
                        "repeat", "两次输入的新密码不一致", "the two new passwords differ", "repeat"
                    )
                ]
            )
        token = change_password(db, user, current, new)
        db.commit()
    except AccountError as exc:
        db.rollback()  # a wrong current password stays counted: change_password committed it
        ctx = {"problems": exc.problems, "done": False, "pending": pending}
        headers = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        )
        return htmx.render(request, "password.html", ctx, status=exc.status, headers=headers)
    reissue(request, token)  # this browser carries on; every other session has ended
    return htmx.render(request, "password.html", {"problems": [], "done": True, "pending": False})


def _profile(
    db: Session,
    ent: Enterprise,
    form: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    conflict: bool = False,
    done: bool = False,
) -> dict[str, Any]:
    return {
        "ent": ent,
        "form": form or {k: getattr(ent, k) for k in CONTACT_FIELDS},
        "cluster": db.get(Cluster, ent.cluster_id),
        "park": db.get(Park, ent.park_id) if ent.park_id else None,
        "problems": problems or [],
        "conflict": conflict,
        "done": done,
    }


@router.get("/enterprise", name="my_enterprise")
@reads_only
def my_enterprise(request: Request, user: UserDep, db: SessionDep) -> Response:
    ent = own_enterprise(db, user)
    return htmx.render(request, "enterprise_profile.html", _profile(db, ent))


@router.post("/enterprise", name="my_enterprise_submit")
def my_enterprise_submit(
    request: Request,
    user: UserDep,
    db: SessionDep,
    version: FormVersion = 0,
    contact_name: Text = "",
    contact_phone: Text = "",
    contact_email: Text = "",
) -> Response:
    ent = own_enterprise(db, user)
    typed = {
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "contact_email": contact_email,
    }
    try:
        update_enterprise(db, ent, version, dict(typed), contact_only=True, by=user)
        db.commit()
    except (Conflict, Invalid) as exc:
        db.rollback()
        db.refresh(ent)
        # The typed values stay on the form next to the messages; nothing was saved.
        ctx = _profile(db, ent, typed, exc.problems, conflict=isinstance(exc, Conflict))
        return htmx.render(request, "enterprise_profile.html", ctx, status=exc.status)
    db.refresh(ent)
    return htmx.render(request, "enterprise_profile.html", _profile(db, ent, done=True))
