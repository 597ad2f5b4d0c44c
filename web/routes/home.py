"""The start page of each role, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from assess.store.models import Role
from web import htmx, i18n
from web.deps import NotSignedIn, SessionDep, UserDep, reads_only, signed_in_user
from web.routes.auth import safe_next

router = APIRouter()


@router.get("/", name="home")
@reads_only
def home(request: Request, user: UserDep, db: SessionDep) -> Response:
    if user.role == Role.enterprise:
        return RedirectResponse(request.app.url_path_for("assessments"), status_code=303)
    if user.role == Role.cluster_manager:
        return RedirectResponse(request.app.url_path_for("cluster_home"), status_code=303)
    if user.role == Role.admin:
        return RedirectResponse(request.app.url_path_for("admin_enterprises"), status_code=303)
    return RedirectResponse(request.app.url_path_for("review_queue"), status_code=303)


@router.post("/lang", name="set_language")
def set_language(
    request: Request,
    db: SessionDep,
    lang: Annotated[str, Form(max_length=10)] = "zh_CN",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    locale = i18n.normalise(lang)
    request.session["lang"] = locale
    user = None
    if request.session.get("uid") is not None:
        try:  # only a live session may change its person's setting
            user = signed_in_user(request, db, password_pending_ok=True)
        except NotSignedIn:
            user = None
    if user is not None and user.locale != locale:
        user.locale = locale
        db.add(user)
        db.commit()
    return htmx.redirect(request, safe_next(next))
