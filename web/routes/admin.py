"""Administration: enterprises (create, edit) and users (create, enable/disable, reset password)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from assess.accounts import AccountError, create_user, reset_password, set_active
from assess.compile import shipped_catalog
from assess.enterprises import ADMIN_FIELDS, create_enterprise, get_enterprise, update_enterprise
from assess.errors import Conflict, Invalid, NotFound, Problem
from assess.models import (
    CertificationBody,
    Cluster,
    Enterprise,
    Park,
    Role,
    StaffBand,
    User,
    UserCluster,
)
from web import htmx, i18n
from web.deps import AdminUser, FormFields, SessionDep, reads_only
from web.paging import page_number, page_of

router = APIRouter(prefix="/admin")
Text = Annotated[str, Form(max_length=300)]


def _sectors() -> list[tuple[str, str, str]]:
    """(code, Chinese name, English name) of every sector with a shipped questionnaire."""
    cat = shipped_catalog()
    out = []
    for sector, versions in sorted(cat.versions().items()):
        m = cat.modules[sector][versions[-1]]
        out.append((sector, m.sector.name.zh, m.sector.name.en))
    return out


def _choices(db: Session) -> dict[str, Any]:
    return {
        "sectors": _sectors(),
        "clusters": list(db.exec(select(Cluster).order_by(col(Cluster.id)))),
        "parks": list(db.exec(select(Park).order_by(col(Park.id)))),
        "bands": [b.value for b in StaffBand],
        "roles": [r.value for r in Role],
        "bodies": list(db.exec(select(CertificationBody).order_by(col(CertificationBody.name)))),
    }


def _search(request: Request, name: str, q: str) -> tuple[str, str]:
    """The search term as used (trimmed, at most 100 characters) and the list's URL for the
    pager, with the term, ready for ``page=``."""
    term = q.strip()[:100]
    base = str(request.app.url_path_for(name))
    return term, f"{base}?{urlencode({'q': term})}&" if term else f"{base}?"


@router.get("/enterprises", name="admin_enterprises")
@reads_only
def enterprises(
    request: Request, user: AdminUser, db: SessionDep, q: str = "", page: str = "1"
) -> Response:
    term, pager_url = _search(request, "admin_enterprises", q)
    query = select(Enterprise).order_by(col(Enterprise.name), col(Enterprise.id))
    if term:  # typed % and _ are meant literally
        query = query.where(
            col(Enterprise.name).contains(term, autoescape=True)
            | col(Enterprise.uscc).contains(term.upper(), autoescape=True)
        )
    clusters = {c.id: c for c in db.exec(select(Cluster))}
    sectors = {code: (zh, en) for code, zh, en in _sectors()}
    ctx = {
        "sectors": sectors,
        "page": page_of(db, query, page_number(page)),
        "q": term,
        "pager_url": pager_url,
        "clusters": clusters,
    }
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
@reads_only
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
@reads_only
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


def _users_ctx(
    request: Request,
    db: Session,
    problems: list[Problem],
    form: dict[str, Any],
    q: str = "",
    number: int = 1,
) -> dict[str, Any]:
    term, pager_url = _search(request, "admin_users", q)
    query = select(User).order_by(col(User.username))
    if term:
        query = query.where(
            col(User.username).contains(term.lower(), autoescape=True)
            | col(User.display_name).contains(term, autoescape=True)
        )
    page = page_of(db, query, number)
    choices = _choices(db)
    return {
        "page": page,
        "q": term,
        "pager_url": pager_url,
        "scopes": _scopes(db, page.rows, choices),
        "problems": problems,
        "form": form,
        **choices,
    }


def _scopes(db: Session, users: list[User], choices: dict[str, Any]) -> dict[int, list[str]]:
    """User id → what the account covers, in words: its enterprise, its certification body
    or its clusters (nothing for an administrator)."""
    ent_ids = [u.enterprise_id for u in users if u.enterprise_id]
    ents = {
        e.id: e.name for e in db.exec(select(Enterprise).where(col(Enterprise.id).in_(ent_ids)))
    }
    bodies = {b.id: b.name for b in choices["bodies"]}
    clusters = {c.id: i18n.pick(c.name_zh, c.name_en) for c in choices["clusters"]}
    managed: dict[int, list[str]] = {}
    rows = db.exec(
        select(UserCluster)
        .where(col(UserCluster.user_id).in_([u.id for u in users]))
        .order_by(col(UserCluster.cluster_id))
    )
    for uc in rows:
        managed.setdefault(uc.user_id, []).append(clusters.get(uc.cluster_id, ""))
    out: dict[int, list[str]] = {}
    for u in users:
        if u.enterprise_id in ents:
            out[u.id or 0] = [ents[u.enterprise_id]]
        elif u.cert_body_id in bodies:
            out[u.id or 0] = [bodies[u.cert_body_id]]
        else:
            out[u.id or 0] = managed.get(u.id or 0, [])
    return out


_USER_FORM = {
    "username": "",
    "display_name": "",
    "role": "enterprise",
    "enterprise_uscc": "",
    "cert_body_id": "",
    "cluster_ids": [],
}


@router.get("/users", name="admin_users")
@reads_only
def users(
    request: Request, user: AdminUser, db: SessionDep, q: str = "", page: str = "1"
) -> Response:
    ctx = _users_ctx(request, db, [], dict(_USER_FORM), q, page_number(page))
    return htmx.render(request, "admin_users.html", ctx, blocks=["rows"])


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
            request, "admin_users.html", _users_ctx(request, db, exc.problems, form), status=422
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
        ctx = _users_ctx(request, db, exc.problems, dict(_USER_FORM))
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
