"""Certificates: the list and the printable certificate for signed-in users, the status changes
of the issuing body and administrators, and the public verification page anyone may open.

The verification page needs no sign-in and sets no cookie: it is rendered on its own, without
the signed-in pages' frame, session or CSRF token. Whatever was typed, a number that names no
certificate gets the very same 404 page, so it never tells a near miss from nonsense.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from assess.certification import certificates as certs
from assess.errors import Invalid, Locked, Problem
from assess.forms import read_int, single
from assess.settings import china_today
from assess.store import audit
from assess.store.models import User
from web import htmx, i18n
from web.deps import FormFields, SessionDep, UserDep, reads_only
from web.errors import wants_json
from web.params import CertificateId

router = APIRouter()


def _json(view: Any) -> Response:
    return JSONResponse(audit.plain(view))


# --- The public verification page ----------------------------------------------------------


def _public(request: Request, ctx: dict[str, Any], status: int) -> HTMLResponse:
    """The verification page, rendered without the session (no cookie, no CSRF token)."""
    env = request.app.state.templates
    locale = i18n.current_locale.get()
    body = env.get_template("verify.html").render(
        request=request, locale=locale, lang_attr=i18n.LANG_ATTR[locale], **ctx
    )
    return HTMLResponse(body, status_code=status, headers={"Vary": "Accept-Language"})


def _verified(request: Request, db: Session, number: str) -> HTMLResponse:
    view = certs.public_view(db, number, china_today())
    if view is None:
        return _public(request, {"view": None, "missing": True}, 404)
    return _public(request, {"view": view, "missing": False}, 200)


@router.get("/verify", name="verify")
@reads_only
def verify(request: Request, db: SessionDep, number: str = "") -> Response:
    """The form to type a number in; with ``?number=``, that number's verification."""
    if not number.strip():
        return _public(request, {"view": None, "missing": False}, 200)
    return _verified(request, db, number)


@router.get("/verify/{number}", name="verify_number")
@reads_only
def verify_number(request: Request, db: SessionDep, number: str) -> Response:
    """What a certificate number certifies, for anyone (the QR code leads here)."""
    return _verified(request, db, number)


# --- Signed-in pages -----------------------------------------------------------------------


@router.get("/certificates", name="certificates")
@router.get("/certificates.json", name="certificates_json")
@reads_only
def certificate_list(request: Request, db: SessionDep, user: UserDep) -> Response:
    """The certificates in the user's scope."""
    rows = certs.certificate_list(db, user, china_today())
    if wants_json(request):
        return _json({"certificates": [asdict(r) for r in rows]})
    return htmx.render(request, "certificates.html", {"rows": rows})


def qr_svg(url: str) -> str:
    """A QR code of ``url`` as inline SVG, drawn here (no outside service), sized by CSS."""
    code = segno.make(url, error="m")
    svg: str = code.svg_inline(border=4, omitsize=True, svgclass="qr", lineclass="qr-line")
    return svg


def _page(
    request: Request,
    db: Session,
    user: User,
    certificate_id: int,
    *,
    problems: list[Problem] | None = None,
    reason: str = "",
    status: int = 200,
) -> Response:
    page = certs.certificate_page(db, user, certificate_id, china_today())
    if wants_json(request):
        return _json(asdict(page))
    path = request.app.url_path_for("verify_number", number=page.certificate.number)
    public = request.app.state.settings.public_url.rstrip("/")
    # Printed on paper: the configured public address, else the one this request came to.
    url = (
        f"{public}{path}"
        if public
        else str(request.url_for("verify_number", number=page.certificate.number))
    )
    ctx = {
        "p": page,
        "c": page.certificate,
        "verify_url": url,
        "qr": qr_svg(url),
        "problems": problems or [],
        "reason": reason,
    }
    return htmx.render(request, "certificate.html", ctx, status=status)


# The lower decorator registers first: the .json twin must, or "/certificates/5.json" would
# reach the page's route and fail as a malformed id.
@router.get("/certificates/{certificate_id}", name="certificate")
@router.get("/certificates/{certificate_id}.json", name="certificate_json")
@reads_only
def certificate(
    request: Request, certificate_id: CertificateId, db: SessionDep, user: UserDep
) -> Response:
    """The print-ready certificate, its status actions and its history."""
    return _page(request, db, user, certificate_id)


@router.post("/certificates/{certificate_id}/status", name="certificate_status")
def certificate_status(
    request: Request,
    certificate_id: CertificateId,
    db: SessionDep,
    user: UserDep,
    fields: FormFields,
) -> Response:
    """Suspend, reinstate or revoke, with a reason; back to the certificate, or the page again
    with what was wrong and the reason as typed."""
    reason = single(fields, "reason")
    try:
        action = certs.read_action(single(fields, "action"))
        version = read_int(single(fields, "version"), "version", "版本号", "version")
        certs.change_status(
            db, certificate_id, action, user, reason, china_today(), version=version
        )
    except (Invalid, Locked) as exc:
        db.rollback()
        if wants_json(request):
            raise
        return _page(
            request,
            db,
            user,
            certificate_id,
            problems=exc.problems,
            reason=reason,
            status=exc.status,
        )
    db.commit()
    return htmx.redirect(
        request, request.app.url_path_for("certificate", certificate_id=certificate_id)
    )
