"""Administration: enterprises (create, edit) and users (create, enable/disable, reset password)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from assess.accounts import AccountError, create_user, reset_password, set_active
from assess.compile import shipped_catalog
from assess.enterprises import ADMIN_FIELDS, create_enterprise, get_enterprise, update_enterprise
from assess.errors import Conflict, Invalid, NotFound, Problem
from assess.models import CertificationBody, Cluster, Enterprise, Park, Role, StaffBand, User
from web import htmx
from web.deps import AdminUser, FormFields, SessionDep

router = APIRouter(prefix="/admin")
Text = Annotated[str, Form(max_length=300)]


def _choices(db: Session) -> dict[str, Any]:
    cat = shipped_catalog()
    sectors = []
    for sector, versions in sorted(cat.versions().items()):
        m = cat.modules[sector][versions[-1]]
        sectors.append((sector, m.sector.name.zh, m.sector.name.en))
    return {
        "sectors": sectors,
        "clusters": list(db.exec(select(Cluster).order_by(col(Cluster.id)))),
        "parks": list(db.exec(select(Park).order_by(col(Park.id)))),
        "bands": [b.value for b in StaffBand],
        "roles": [r.value for r in Role],
        "bodies": list(db.exec(select(CertificationBody).order_by(col(CertificationBody.name)))),
    }


@router.get("/enterprises", name="admin_enterprises")
def enterprises(request: Request, user: AdminUser, db: SessionDep, q: str = "") -> Response:
    query = select(Enterprise).order_by(col(Enterprise.name))
    term = q.strip()[:100]
    if term:
        like = f"%{term}%"
        query = query.where(col(Enterprise.name).like(like) | col(Enterprise.uscc).like(like))
    rows = list(db.exec(query.limit(500)))
    clusters = {c.id: c for c in db.exec(select(Cluster))}
    ctx = {"rows": rows, "q": term, "clusters": clusters}
    return htmx.render(request, "admin_enterprises.html", ctx, blocks=["rows"])


def _form_ctx(
    db: Session, ent: Enterprise | None, form: dict[str, Any], problems: list[Problem]
) -> dict[str, Any]:
    return {"ent": ent, "form": form, "problems": problems, **_choices(db)}


def _blank() -> dict[str, Any]:
    return dict.fromkeys(ADMIN_FIELDS, "")


def _typed(fields: dict[str, list[str]]) -> dict[str, Any]:
    """The enterprise form as typed: text trimmed to 300 characters, ids as numbers or None."""

    def text(name: str) -> str:
        return (fields.get(name) or [""])[0][:300]

    def as_id(name: str) -> int | None:
        v = text(name).strip()
        return int(v) if v.isdigit() else None

    typed: dict[str, Any] = {k: text(k) for k in ADMIN_FIELDS}
    typed.update(cluster_id=as_id("cluster_id"), park_id=as_id("park_id"))
    return typed


@router.get("/enterprises/new", name="admin_enterprise_new")
def enterprise_new(request: Request, user: AdminUser, db: SessionDep) -> Response:
    return htmx.render(request, "admin_enterprise.html", _form_ctx(db, None, _blank(), []))


@router.post("/enterprises/new", name="admin_enterprise_create")
def enterprise_create(
    request: Request,
    user: AdminUser,
    db: SessionDep,
    fields: FormFields,
) -> Response:
    typed = _typed(fields)
    try:
        ent = create_enterprise(db, **typed)
        db.commit()
    except Invalid as exc:
        db.rollback()
        ctx = _form_ctx(db, None, typed, exc.problems)
        return htmx.render(request, "admin_enterprise.html", ctx, status=422)
    url = request.app.url_path_for("admin_enterprise", enterprise_id=str(ent.id))
    return htmx.redirect(request, url + "?saved=1")


@router.get("/enterprises/{enterprise_id}", name="admin_enterprise")
def enterprise_edit(
    request: Request, enterprise_id: int, user: AdminUser, db: SessionDep, saved: int = 0
) -> Response:
    ent = get_enterprise(db, enterprise_id)
    form = {k: getattr(ent, k) for k in ADMIN_FIELDS}
    ctx = _form_ctx(db, ent, form, [])
    ctx["saved"] = bool(saved)
    return htmx.render(request, "admin_enterprise.html", ctx)


@router.post("/enterprises/{enterprise_id}", name="admin_enterprise_update")
def enterprise_update(
    request: Request,
    enterprise_id: int,
    user: AdminUser,
    db: SessionDep,
    fields: FormFields,
    version: Annotated[int, Form()] = 0,
) -> Response:
    ent = get_enterprise(db, enterprise_id)
    typed = _typed(fields)
    try:
        update_enterprise(db, ent, version, dict(typed), contact_only=False)
        db.commit()
    except (Conflict, Invalid) as exc:
        db.rollback()
        db.refresh(ent)
        ctx = _form_ctx(db, ent, typed, exc.problems)
        ctx["conflict"] = isinstance(exc, Conflict)
        return htmx.render(request, "admin_enterprise.html", ctx, status=exc.status)
    url = request.app.url_path_for("admin_enterprise", enterprise_id=str(ent.id))
    return htmx.redirect(request, url + "?saved=1")


def _users_ctx(db: Session, problems: list[Problem], form: dict[str, Any]) -> dict[str, Any]:
    users = list(db.exec(select(User).order_by(col(User.username))))
    ents = {
        e.id: e
        for e in db.exec(
            select(Enterprise).where(
                col(Enterprise.id).in_([u.enterprise_id for u in users if u.enterprise_id])
            )
        )
    }
    return {
        "users": users,
        "ents": ents,
        "problems": problems,
        "form": form,
        **_choices(db),
    }


_USER_FORM = {
    "username": "",
    "display_name": "",
    "role": "enterprise",
    "enterprise_uscc": "",
    "cert_body_id": "",
    "cluster_ids": [],
}


@router.get("/users", name="admin_users")
def users(request: Request, user: AdminUser, db: SessionDep) -> Response:
    return htmx.render(request, "admin_users.html", _users_ctx(db, [], dict(_USER_FORM)))


@router.post("/users", name="admin_user_create")
def user_create(
    request: Request,
    user: AdminUser,
    db: SessionDep,
    username: Text = "",
    display_name: Text = "",
    role: Text = "",
    password: Annotated[str, Form(max_length=200)] = "",
    enterprise_uscc: Text = "",
    cert_body_id: Text = "",
    cluster_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI reads the default
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "enterprise_uscc": enterprise_uscc,
        "cert_body_id": cert_body_id,
        "cluster_ids": [c for c in cluster_ids if c.isdigit()],
    }
    problems: list[Problem] = []
    ent_id = None
    if role == Role.enterprise and enterprise_uscc.strip():
        ent = db.exec(
            select(Enterprise).where(Enterprise.uscc == enterprise_uscc.strip().upper())
        ).first()
        if ent is None:
            problems.append(
                Problem(
                    "enterprise_not_found",
                    "没有该统一社会信用代码的企业",
                    "no enterprise has this unified social credit code",
                    "enterprise_uscc",
                )
            )
        else:
            ent_id = ent.id
    try:
        if problems:
            raise AccountError(problems)
        create_user(
            db,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            enterprise_id=ent_id,
            cert_body_id=int(cert_body_id)
            if role == Role.certifier and cert_body_id.isdigit()
            else None,
            cluster_ids=[int(c) for c in form["cluster_ids"]]
            if role == Role.cluster_manager
            else [],
        )
        db.commit()
    except AccountError as exc:
        db.rollback()
        return htmx.render(
            request, "admin_users.html", _users_ctx(db, exc.problems, form), status=422
        )
    return htmx.redirect(request, request.app.url_path_for("admin_users"))


def _user(db: Session, user_id: int) -> User:
    u = db.get(User, user_id)
    if u is None:
        raise NotFound(Problem("not_found", "用户不存在", "no such user"))
    return u


def _change_user(request: Request, db: Session, change: Callable[[], object]) -> Response:
    """Apply an administrator's change to an account: back to the list, or the list with the
    reasons it was refused and nothing saved."""
    try:
        change()
        db.commit()
    except AccountError as exc:
        db.rollback()
        ctx = _users_ctx(db, exc.problems, dict(_USER_FORM))
        return htmx.render(request, "admin_users.html", ctx, status=exc.status)
    return htmx.redirect(request, request.app.url_path_for("admin_users"))


@router.post("/users/{user_id}/active", name="admin_user_active")
def user_active(
    request: Request,
    user_id: int,
    user: AdminUser,
    db: SessionDep,
    active: Annotated[bool, Form()] = False,
) -> Response:
    target = _user(db, user_id)
    return _change_user(request, db, lambda: set_active(db, target, active))


@router.post("/users/{user_id}/password", name="admin_user_password")
def user_password(
    request: Request,
    user_id: int,
    user: AdminUser,
    db: SessionDep,
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    target = _user(db, user_id)
    return _change_user(request, db, lambda: reset_password(db, target, password))
