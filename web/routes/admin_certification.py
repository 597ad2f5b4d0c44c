"""Administration of certification: bodies and their certifiers, declared conflicts of
interest, and the audit trail (browse, verify, export). Administrators only."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, select

from assess.accounts import bodies, trail
from assess.accounts.enterprises import get_enterprise, pick_enterprise
from assess.errors import Conflict, Invalid, Problem
from assess.forms import int_outside
from assess.store import audit
from assess.store.models import CertificationBody, ConflictKind, Enterprise, User
from web import htmx, i18n
from web.deps import AdminUser, SessionDep, reads_only
from web.flash import flash, take_flash
from web.paging import page_number, page_of
from web.params import BodyId, ConflictId
from web.routes.exports import xlsx_response

router = APIRouter(prefix="/admin")
Text = Annotated[str, Form(max_length=300)]
Note = Annotated[str, Form(max_length=2000)]


def _as_id(raw: str) -> int | None:
    """A form or query id as a number; None when empty or not a plausible id."""
    v = raw.strip()
    return int(v) if v.isascii() and v.isdigit() and not int_outside(v, least=1) else None


# --- bodies ----------------------------------------------------------------------------------

_BODY_FORM: dict[str, Any] = {"name": "", "name_en": "", "code": "", "is_active": True}


def _bodies_ctx(db: Session, form: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    return {"rows": bodies.body_list(db), "form": form, "problems": problems, "flash": ""}


@router.get("/bodies", name="admin_bodies")
@reads_only
def body_list(request: Request, user: AdminUser, db: SessionDep) -> Response:
    ctx = _bodies_ctx(db, dict(_BODY_FORM), [])
    ctx["flash"] = take_flash(request)
    return htmx.render(request, "admin_bodies.html", ctx)


@router.post("/bodies", name="admin_body_create")
def body_create(
    request: Request,
    user: AdminUser,
    db: SessionDep,
    name: Text = "",
    name_en: Text = "",
    code: Text = "",
    is_active: Text = "",
) -> Response:
    form: dict[str, Any] = {
        "name": name,
        "name_en": name_en,
        "code": code,
        "is_active": bool(is_active),
    }
    try:
        body = bodies.create_body(db, **form, by=user)
        db.commit()
    except Invalid as exc:
        db.rollback()
        ctx = _bodies_ctx(db, form, exc.problems)
        return htmx.render(request, "admin_bodies.html", ctx, status=exc.status)
    flash(request, f"已创建评定机构 {body.name}", f"Certification body {body.code} created.")
    return htmx.redirect(request, request.app.url_path_for("admin_body", body_id=str(body.id)))


def _body_ctx(
    db: Session, body: CertificationBody, form: dict[str, Any], problems: list[Problem]
) -> dict[str, Any]:
    assert body.id is not None
    return {
        "body": body,
        "form": form,
        "stamp": bodies.body_stamp(body),
        "certifiers": bodies.certifiers_of(db, [body.id])[body.id],
        "problems": problems,
        "conflict": False,
        "flash": "",
    }


@router.get("/bodies/{body_id}", name="admin_body")
@reads_only
def body_page(request: Request, body_id: BodyId, user: AdminUser, db: SessionDep) -> Response:
    body = bodies.get_body(db, body_id)
    ctx = _body_ctx(db, body, bodies.body_view(body), [])
    ctx["flash"] = take_flash(request)
    return htmx.render(request, "admin_body.html", ctx)


@router.post("/bodies/{body_id}", name="admin_body_update")
def body_update(
    request: Request,
    body_id: BodyId,
    user: AdminUser,
    db: SessionDep,
    name: Text = "",
    name_en: Text = "",
    code: Text = "",
    is_active: Text = "",
    stamp: Text = "",
) -> Response:
    body = bodies.get_body(db, body_id)
    form: dict[str, Any] = {
        "name": name,
        "name_en": name_en,
        "code": code,
        "is_active": bool(is_active),
    }
    try:
        bodies.update_body(db, body, **form, seen_stamp=stamp, by=user)
        db.commit()
    except (Conflict, Invalid) as exc:
        db.rollback()
        db.refresh(body)
        stale = isinstance(exc, Conflict)
        # A stale form shows what is stored now; a refused one keeps what was typed.
        ctx = _body_ctx(db, body, bodies.body_view(body) if stale else form, exc.problems)
        ctx["conflict"] = stale
        return htmx.render(request, "admin_body.html", ctx, status=exc.status)
    flash(request, "已保存", "Saved.")
    return htmx.redirect(request, request.app.url_path_for("admin_body", body_id=str(body_id)))


# --- conflicts of interest -------------------------------------------------------------------

_CONFLICT_FORM: dict[str, Any] = {
    "certifier_id": "",
    "enterprise_q": "",
    "enterprise_id": "",
    "kind": "",
    "note": "",
}


def _conflicts_ctx(
    request: Request,
    db: Session,
    *,
    certifier: str = "",
    enterprise: str = "",
    number: int = 1,
    form: dict[str, Any] | None = None,
    problems: list[Problem] | None = None,
) -> dict[str, Any]:
    """The conflicts page: the list (of one certifier or one enterprise if chosen), a page at a
    time, and the form to declare one."""
    certifier_id, enterprise_id = _as_id(certifier), _as_id(enterprise)
    ent: Enterprise | None = db.get(Enterprise, enterprise_id) if enterprise_id else None
    chosen = {"certifier_id": certifier_id or "", "enterprise_id": enterprise_id or ""}
    page = page_of(db, bodies.conflict_list(certifier_id, enterprise_id), number)
    base = str(request.app.url_path_for("admin_conflicts"))
    shown = {k: v for k, v in chosen.items() if v}
    return {
        "page": page,
        "rows": bodies.conflict_rows(db, page.rows),
        "pager_url": f"{base}?{urlencode(shown)}&" if shown else f"{base}?",
        "filter": chosen,
        "filter_enterprise": ent,
        "certifiers": bodies.all_certifiers(db),
        "bodies": {b.id: b for b in db.exec(select(CertificationBody))},
        "kinds": [k.value for k in ConflictKind],
        "form": form or dict(_CONFLICT_FORM),
        "problems": problems or [],
        "flash": "",
        "enterprise_q": "",
    }


@router.get("/conflicts", name="admin_conflicts")
@reads_only
def conflicts(
    request: Request,
    user: AdminUser,
    db: SessionDep,
    certifier_id: str = "",
    enterprise_id: str = "",
    enterprise_q: str = "",
    page: str = "1",
) -> Response:
    """The declared conflicts, of one certifier or one enterprise (chosen by id, or by a typed
    name or credit code that matches one) if asked."""
    problems: list[Problem] = []
    if enterprise_q.strip() and not _as_id(enterprise_id):
        try:
            enterprise_id = str(pick_enterprise(db, "", enterprise_q[:100]) or "")
        except Invalid as exc:
            problems = exc.problems
    ctx = _conflicts_ctx(
        request,
        db,
        certifier=certifier_id[:20],
        enterprise=enterprise_id[:20],
        number=page_number(page),
        problems=problems,
    )
    ctx["flash"] = take_flash(request)
    ctx["enterprise_q"] = enterprise_q[:100]
    status = 422 if problems else 200
    return htmx.render(request, "admin_conflicts.html", ctx, blocks=["rows"], status=status)


@router.post("/conflicts", name="admin_conflict_declare")
def conflict_declare(
    request: Request,
    user: AdminUser,
    db: SessionDep,
    certifier_id: Text = "",
    enterprise_q: Text = "",
    enterprise_id: Text = "",
    kind: Text = "",
    note: Note = "",
) -> Response:
    form = {
        "certifier_id": certifier_id,
        "enterprise_q": enterprise_q,
        "enterprise_id": enterprise_id,
        "kind": kind,
        "note": note,
    }
    try:
        ent_id = pick_enterprise(db, enterprise_id, enterprise_q)
        row = bodies.declare_conflict(
            db,
            certifier_id=_as_id(certifier_id),
            enterprise_id=ent_id,
            kind=kind,
            note=note,
            by=user,
        )
        db.commit()
    except Invalid as exc:
        db.rollback()
        ctx = _conflicts_ctx(request, db, form=form, problems=exc.problems)
        return htmx.render(request, "admin_conflicts.html", ctx, status=exc.status)
    ent = get_enterprise(db, row.enterprise_id)
    who = db.get(User, row.certifier_id)
    name = who.username if who else ""
    flash(
        request,
        f"已登记 {name} 与“{ent.name}”的利益冲突",
        f"Conflict of interest between {name} and “{ent.name}” declared.",
    )
    return htmx.redirect(request, request.app.url_path_for("admin_conflicts"))


@router.post("/conflicts/{conflict_id}/remove", name="admin_conflict_remove")
def conflict_remove(
    request: Request,
    conflict_id: ConflictId,
    user: AdminUser,
    db: SessionDep,
    reason: Note = "",
) -> Response:
    bodies.remove_conflict(db, conflict_id, by=user, reason=reason.strip())
    db.commit()
    flash(request, "已撤销该利益冲突登记", "The declared conflict of interest was removed.")
    return htmx.redirect(request, request.app.url_path_for("admin_conflicts"))


# --- the audit trail -------------------------------------------------------------------------


# The two audit routes run in a worker thread, never on the event loop (no ``reads_only``):
# checking the whole chain takes about 30 ms per thousand events, and an export several times
# that, which would hold up every other request meanwhile.


@router.get("/audit", name="admin_audit")
def audit_trail(request: Request, user: AdminUser, db: SessionDep, page: str = "1") -> Response:
    """The trail, newest first, with the filters of the query; the whole chain's check at the
    top of the full page (an htmx request for other rows skips it)."""
    params = dict(request.query_params)
    base = str(request.app.url_path_for("admin_audit"))
    try:
        chosen = trail.read_filter(params)
        problems: list[Problem] = []
    except Invalid as exc:
        chosen, problems = trail.TrailFilter(), exc.problems
    query = chosen.as_query()
    found = page_of(db, trail.trail_query(chosen), page_number(page)) if not problems else None
    verdict = None if htmx.is_htmx(request) else audit.verify(db)
    ctx = {
        "page": found,
        "rows": trail.trail_rows(found.rows) if found else [],
        "pager_url": f"{base}?{urlencode(query)}&" if query else f"{base}?",
        "filter": {f.name: params.get(f.name, "")[:100] for f in fields(trail.TrailFilter)},
        "export_query": urlencode(query),
        "problems": problems,
        "verdict": verdict,
    }
    status = 422 if problems else 200
    return htmx.render(request, "admin_audit.html", ctx, blocks=["rows"], status=status)


@router.get("/audit.xlsx", name="admin_audit_xlsx")
def audit_xlsx(request: Request, user: AdminUser, db: SessionDep) -> Response:
    """Every event the query's filters match, oldest first, with full hashes."""
    chosen = trail.read_filter(dict(request.query_params))
    lang = "en" if i18n.is_en() else "zh"
    name, fallback = trail.workbook_filename(lang)
    return xlsx_response(trail.trail_workbook(db, chosen, lang), name, fallback)
