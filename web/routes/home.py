"""The start page of each role, the cluster manager's member list, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from assess.accounts.access import clusters_of, enterprises_in_scope
from assess.assessment.reports import latest_scores
from assess.store.models import Cluster, Role, User
from web import htmx, i18n
from web.deps import NotSignedIn, SessionDep, UserDep, reads_only, require, signed_in_user
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
    return htmx.render(request, "certifier.html", {})


@router.get("/cluster", name="cluster_home")
@reads_only
def cluster_home(
    request: Request,
    db: SessionDep,
    user: Annotated[User, Depends(require(Role.cluster_manager))],
) -> Response:
    ids = clusters_of(db, user)
    clusters = [c for c in (db.get(Cluster, i) for i in ids) if c is not None]
    firms = enterprises_in_scope(db, user)
    latest = latest_scores(db, [f.id for f in firms if f.id is not None])
    names = [i18n.pick(c.name_zh, c.name_en) for c in clusters]
    ctx = {"clusters": clusters, "cluster_names": names, "firms": firms, "latest": latest}
    return htmx.render(request, "cluster.html", ctx)


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
