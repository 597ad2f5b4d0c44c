"""Administration: enterprises (create, edit) and users (create, change role and scope,
enable/disable, reset password)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from assess.accounts.enterprises import (
    ADMIN_FIELDS,
    create_enterprise,
    enterprise_list,
    find_enterprises,
    get_enterprise,
    pick_enterprise,
    search_term,
    sector_cluster_notice,
    sector_names,
    update_enterprise,
)
from assess.accounts.users import (
    AccountError,
    change_role_and_scope,
    create_user,
    reset_password,
    scope_stamp,
    set_active,
    user_list,
)
from assess.errors import Conflict, Invalid, NotFound, Problem
from assess.forms import int_outside
from assess.store.models import (
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
from web.flash import flash, take_flash
from web.paging import page_number, page_of
from web.params import EnterpriseId, FormVersion, QueryFlag, UserId

router = APIRouter(prefix="/admin")
Text = Annotated[str, Form(max_length=300)]


def _choices(db: Session) -> dict[str, Any]:
    return {
        "sectors": [(code, zh, en) for code, (zh, en) in sector_names().items()],
        "clusters": list(db.exec(select(Cluster).order_by(col(Cluster.id)))),
        "parks": list(db.exec(select(Park).order_by(col(Park.id)))),
        "bands": [b.value for b in StaffBand],
        "roles": [r.value for r in Role],
        "bodies": list(db.exec(select(CertificationBody).order_by(col(CertificationBody.name)))),
    }


def _search(request: Request, name: str, q: str) -> tuple[str, str, list[Problem]]:
    """The search term as used, the list's URL for the pager (with the term, ready for
    ``page=``), and why the term was refused, if it was (then nothing is searched)."""
    base = str(request.app.url_path_for(name))
    try:
        term = search_term(q)
    except Invalid as exc:
        # Nothing is searched; the box shows the rest of what was typed, to correct and resend.
        shown = "".join(c for c in q if c.isprintable() or c == " ").strip()[:100]
        return shown, f"{base}?", exc.problems
    return term, f"{base}?{urlencode({'q': term})}&" if term else f"{base}?", []


@router.get("/enterprises", name="admin_enterprises")
@reads_only
def enterprises(
    request: Request, user: AdminUser, db: SessionDep, q: str = "", page: str = "1"
) -> Response:
    term, pager_url, problems = _search(request, "admin_enterprises", q)
    query = enterprise_list("" if problems else term)
    if problems:
        query = query.where(sa.false())
    clusters = {c.id: c for c in db.exec(select(Cluster))}
    ctx = {
        "page": page_of(db, query, page_number(page)),
        "q": term,
        "pager_url": pager_url,
        "clusters": clusters,
        "search_problems": problems,
    }
    status = 422 if problems else 200
    return htmx.render(request, "admin_enterprises.html", ctx, blocks=["rows"], status=status)


def _form_ctx(
    db: Session, ent: Enterprise | None, form: dict[str, Any], problems: list[Problem]
) -> dict[str, Any]:
    notice = sector_cluster_notice(db, str(form.get("sector") or ""), form.get("cluster_id"))
    return {"ent": ent, "form": form, "problems": problems, "notice": notice, **_choices(db)}


def _blank() -> dict[str, Any]:
    return dict.fromkeys(ADMIN_FIELDS, "")


def _as_id(raw: str) -> int | None:
    """A form's id field as a number; None when empty or not a plausible id."""
    v = raw.strip()
    return int(v) if v.isascii() and v.isdigit() and not int_outside(v, least=1) else None


def _typed(fields: dict[str, list[str]]) -> dict[str, Any]:
    """The enterprise form as typed: text trimmed to 300 characters, ids as numbers or None."""

    def text(name: str) -> str:
        return (fields.get(name) or [""])[0][:300]

    typed: dict[str, Any] = {k: text(k) for k in ADMIN_FIELDS}
    typed.update(cluster_id=_as_id(text("cluster_id")), park_id=_as_id(text("park_id")))
    return typed


@router.get("/enterprises/new", name="admin_enterprise_new")
@reads_only
def enterprise_new(request: Request, user: AdminUser, db: SessionDep) -> Response:
    return htmx.render(request, "admin_enterprise.html", _form_ctx(db, None, _blank(), []))


@router.get("/sector-notice", name="admin_sector_notice")
@reads_only
def sector_notice(
    request: Request, user: AdminUser, db: SessionDep, sector: str = "", cluster_id: str = ""
) -> Response:
    """The enterprise form's warning about its sector and cluster, as the two are chosen."""
    notice = sector_cluster_notice(db, sector[:40], _as_id(cluster_id))
    return htmx.partial(request, "_sector_notice.html", {"notice": notice})


@router.post("/enterprises/new", name="admin_enterprise_create")
def enterprise_create(
    request: Request,
    user: AdminUser,
    db: SessionDep,
    fields: FormFields,
) -> Response:
    typed = _typed(fields)
    try:
        ent = create_enterprise(db, by=user, **typed)
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
    request: Request,
    enterprise_id: EnterpriseId,
    user: AdminUser,
    db: SessionDep,
    saved: QueryFlag = 0,
) -> Response:
    ent = get_enterprise(db, enterprise_id)
    form = {k: getattr(ent, k) for k in ADMIN_FIELDS}
    ctx = _form_ctx(db, ent, form, [])
    ctx["saved"] = bool(saved)
    return htmx.render(request, "admin_enterprise.html", ctx)


@router.post("/enterprises/{enterprise_id}", name="admin_enterprise_update")
def enterprise_update(
    request: Request,
    enterprise_id: EnterpriseId,
    user: AdminUser,
    db: SessionDep,
    fields: FormFields,
    version: FormVersion = 0,
) -> Response:
    ent = get_enterprise(db, enterprise_id)
    typed = _typed(fields)
    try:
        update_enterprise(db, ent, version, dict(typed), contact_only=False, by=user)
        db.commit()
    except (Conflict, Invalid) as exc:
        db.rollback()
        db.refresh(ent)
        ctx = _form_ctx(db, ent, typed, exc.problems)
        ctx["conflict"] = isinstance(exc, Conflict)
        return htmx.render(request, "admin_enterprise.html", ctx, status=exc.status)
    url = request.app.url_path_for("admin_enterprise", enterprise_id=str(ent.id))
    return htmx.redirect(request, url + "?saved=1")


# --- users -----------------------------------------------------------------------------------


def _users_ctx(
    request: Request,
    db: Session,
    problems: list[Problem],
    form: dict[str, Any],
    q: str = "",
    number: int = 1,
) -> dict[str, Any]:
    term, pager_url, search_problems = _search(request, "admin_users", q)
    query = user_list("" if search_problems else term)
    if search_problems:
        query = query.where(sa.false())
    page = page_of(db, query, number)
    choices = _choices(db)
    return {
        "page": page,
        "q": term,
        "pager_url": pager_url,
        "scopes": _scopes(db, page.rows, choices),
        "problems": problems,
        "search_problems": search_problems,
        "form": form,
        "flash": "",
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


_USER_FORM: dict[str, Any] = {
    "username": "",
    "display_name": "",
    "role": "enterprise",
    "enterprise_q": "",
    "enterprise_id": "",
    "cert_body_id": "",
    "cluster_ids": [],
    "candidates": [],
    "more": False,
}


def _scope_form(
    db: Session,
    *,
    role: str,
    enterprise_q: str,
    enterprise_id: str,
    cert_body_id: str,
    cluster_ids: list[str],
) -> dict[str, Any]:
    """The role-and-scope part of a user form as typed, with the enterprises offered for what
    was typed in the enterprise search (none while it is refused)."""
    try:
        found = find_enterprises(db, enterprise_q)
        candidates, more = found.candidates, found.more
    except Invalid:
        candidates, more = [], False
    return {
        "role": role,
        "enterprise_q": enterprise_q,
        "enterprise_id": enterprise_id if _as_id(enterprise_id) else "",
        "cert_body_id": cert_body_id,
        "cluster_ids": [c for c in cluster_ids if _as_id(c)],
        "candidates": candidates,
        "more": more,
    }


def _scope_ids(
    db: Session, form: dict[str, Any]
) -> tuple[int | None, int | None, list[int], list[Problem]]:
    """The ids a user form names for its role (the others are dropped: a field filled in for
    another role is not an error), and the problems of the enterprise pick."""
    role = form["role"]
    ent_id, problems = None, []
    if role == Role.enterprise:
        try:
            ent_id = pick_enterprise(db, form["enterprise_id"], form["enterprise_q"])
        except Invalid as exc:
            problems = exc.problems
    body = _as_id(form["cert_body_id"]) if role == Role.certifier else None
    clusters = [int(c) for c in form["cluster_ids"]] if role == Role.cluster_manager else []
    return ent_id, body, clusters, problems


@router.get("/users", name="admin_users")
@reads_only
def users(
    request: Request, user: AdminUser, db: SessionDep, q: str = "", page: str = "1"
) -> Response:
    ctx = _users_ctx(request, db, [], dict(_USER_FORM), q, page_number(page))
    ctx["flash"] = take_flash(request)
    status = 422 if ctx["search_problems"] else 200
    return htmx.render(request, "admin_users.html", ctx, blocks=["rows"], status=status)


@router.get("/enterprise-choices", name="admin_enterprise_choices")
@reads_only
def enterprise_choices(
    request: Request, user: AdminUser, db: SessionDep, enterprise_q: str = ""
) -> Response:
    """The enterprises a user form offers for a typed name or credit code."""
    try:
        found = find_enterprises(db, enterprise_q)
    except Invalid as exc:
        ctx = {"form": {**_USER_FORM}, "choice_problems": exc.problems}
        return htmx.partial(request, "_enterprise_choices.html", ctx, status=422)
    form = {
        **_USER_FORM,
        "enterprise_q": enterprise_q,
        "candidates": found.candidates,
        "more": found.more,
        "enterprise_id": str(found.chosen.id) if found.chosen else "",
    }
    return htmx.partial(request, "_enterprise_choices.html", {"form": form})


@router.post("/users", name="admin_user_create")
def user_create(
    request: Request,
    user: AdminUser,
    db: SessionDep,
    username: Text = "",
    display_name: Text = "",
    role: Text = "",
    password: Annotated[str, Form(max_length=200)] = "",
    enterprise_q: Text = "",
    enterprise_id: Text = "",
    cert_body_id: Text = "",
    cluster_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI reads the default
    enterprise_uscc: Text = "",  # the field's former name, still accepted from scripts
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        **_scope_form(
            db,
            role=role,
            enterprise_q=enterprise_q or enterprise_uscc,
            enterprise_id=enterprise_id,
            cert_body_id=cert_body_id,
            cluster_ids=cluster_ids,
        ),
    }
    ent_id, body_id, clusters, problems = _scope_ids(db, form)
    try:
        if problems:
            raise AccountError(problems)
        created = create_user(
            db,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            enterprise_id=ent_id,
            cert_body_id=body_id,
            cluster_ids=clusters,
            must_change_password=True,  # the administrator knows it: its user must replace it
            by=user,
        )
        db.commit()
    except AccountError as exc:
        db.rollback()
        return htmx.render(
            request, "admin_users.html", _users_ctx(request, db, exc.problems, form), status=422
        )
    name = created.username
    flash(request, f"已创建用户 {name}", f"User {name} created.")
    return htmx.redirect(request, request.app.url_path_for("admin_users"))


def _user(db: Session, user_id: int) -> User:
    u = db.get(User, user_id)
    if u is None:
        raise NotFound(Problem("not_found", "用户不存在", "no such user"))
    return u


def _user_edit_ctx(db: Session, target: User, problems: list[Problem]) -> dict[str, Any]:
    """The role form of an account as stored."""
    ent = db.get(Enterprise, target.enterprise_id) if target.enterprise_id else None
    clusters = db.exec(select(UserCluster.cluster_id).where(UserCluster.user_id == target.id))
    form = {
        "role": target.role,
        "enterprise_q": ent.name if ent else "",
        "enterprise_id": str(ent.id) if ent else "",
        "cert_body_id": str(target.cert_body_id or ""),
        "cluster_ids": [str(c) for c in clusters],
        "candidates": [ent] if ent else [],
        "more": False,
    }
    return {
        "target": target,
        "form": form,
        "stamp": scope_stamp(db, target),
        "problems": problems,
        "conflict": False,
        **_choices(db),
    }


@router.get("/users/{user_id}", name="admin_user")
@reads_only
def user_edit(request: Request, user_id: UserId, user: AdminUser, db: SessionDep) -> Response:
    target = _user(db, user_id)
    return htmx.render(request, "admin_user.html", _user_edit_ctx(db, target, []))


@router.post("/users/{user_id}", name="admin_user_update")
def user_update(
    request: Request,
    user_id: UserId,
    user: AdminUser,
    db: SessionDep,
    role: Text = "",
    stamp: Text = "",
    enterprise_q: Text = "",
    enterprise_id: Text = "",
    cert_body_id: Text = "",
    cluster_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI reads the default
) -> Response:
    target = _user(db, user_id)
    form = _scope_form(
        db,
        role=role,
        enterprise_q=enterprise_q,
        enterprise_id=enterprise_id,
        cert_body_id=cert_body_id,
        cluster_ids=cluster_ids,
    )
    ent_id, body_id, clusters, problems = _scope_ids(db, form)
    try:
        if problems:
            raise AccountError(problems)
        change_role_and_scope(
            db,
            target,
            role=role,
            enterprise_id=ent_id,
            cert_body_id=body_id,
            cluster_ids=clusters,
            seen_stamp=stamp,
            by=user,
        )
        db.commit()
    except (AccountError, Conflict) as exc:
        db.rollback()
        db.refresh(target)
        ctx = _user_edit_ctx(db, target, exc.problems)
        if isinstance(exc, Conflict):
            ctx["conflict"] = True  # the form shows what is stored now
        else:
            ctx["form"] = form  # what was typed stays, to be corrected
        return htmx.render(request, "admin_user.html", ctx, status=exc.status)
    name = target.username
    flash(request, f"已更新用户 {name} 的角色和范围", f"Role and scope of {name} updated.")
    return htmx.redirect(request, request.app.url_path_for("admin_users"))


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
    user_id: UserId,
    user: AdminUser,
    db: SessionDep,
    active: Annotated[bool, Form()] = False,
) -> Response:
    target = _user(db, user_id)
    return _change_user(request, db, lambda: set_active(db, target, active, by=user))


@router.post("/users/{user_id}/password", name="admin_user_password")
def user_password(
    request: Request,
    user_id: UserId,
    user: AdminUser,
    db: SessionDep,
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    target = _user(db, user_id)
    return _change_user(request, db, lambda: reset_password(db, target, password, by=user))
