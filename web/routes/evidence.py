"""Evidence files: an enterprise uploads them per answer; its people, the certifiers who review
it and administrators download them.

A download is always an attachment, of the type its content was found to be, with
``X-Content-Type-Options: nosniff`` and a sandboxing Content-Security-Policy: a browser never
renders an uploaded file as a page of this site.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from assess.accounts.access import fillable_assessment
from assess.certification import evidence
from assess.errors import Problem, ServiceError
from assess.store.models import Assessment, User
from web import htmx
from web.deps import SessionDep, UserDep, in_session, signed_in_user
from web.params import AssessmentId, EvidenceId

router = APIRouter()

#: The web app's own directory: its templates and static files are served or read from here, so
#: the evidence store may never be inside it.
_WEB = Path(__file__).resolve().parents[1]


def _store_root(request: Request) -> Path:
    """The evidence store's directory, refused if it lies inside the web app's files."""
    root: Path = request.app.state.settings.evidence_root
    if root == _WEB or _WEB in root.parents:
        raise RuntimeError(f"the evidence store {root} must not be inside the web app ({_WEB})")
    return root


def _block(
    request: Request,
    db: Session,
    a: Assessment,
    user: User,
    question: str,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    """The evidence block of one question, as the fill page shows it."""
    ctx = {
        "a": a,
        "qid": question,
        "files": evidence.evidence_of(db, a, question).get(question, []),
        "can_upload": evidence.may_upload(user, a),
        "problem": problem,
        "refresh_count": True,  # the count on the folded block's summary, out of band
    }
    return htmx.partial(request, "_evidence.html", ctx, status=status)


@router.post("/assessments/{assessment_id}/answers/{question}/evidence", name="upload_evidence")
def upload_evidence(
    request: Request,
    assessment_id: AssessmentId,
    question: str,
    user: UserDep,
    db: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Add one file to an answer's evidence; answer with the question's evidence block (the
    refusal shown in it, with its status), or a redirect for a plain form."""
    max_bytes: int = request.app.state.settings.evidence_max_bytes
    a = fillable_assessment(db, user, assessment_id)
    # One byte more than the limit is enough to know the file is over it.
    data = file.file.read(max_bytes + 1) if file is not None else b""
    name = (file.filename or "") if file is not None else ""
    try:
        evidence.upload(db, _store_root(request), max_bytes, a, user, question, name, data)
        db.commit()
    except ServiceError as exc:
        if not htmx.is_htmx(request):
            raise  # the error page; a refused upload wrote nothing, and the session is closed
        db.rollback()
        return _block(request, db, a, user, question, exc.first, exc.status)
    if not htmx.is_htmx(request):
        return htmx.redirect(request, request.app.url_path_for("fill", assessment_id=str(a.id)))
    return _block(request, db, a, user, question)


def _disposition(filename: str) -> str:
    """An attachment header naming the file: a plain-ASCII name for old clients, and the real
    one in RFC 5987 form (``filename*``) for every current browser."""
    fallback = re.sub(r"[^A-Za-z0-9._()\- ]", "_", filename) or "evidence"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/evidence/{evidence_id}", name="evidence_file")
async def download_evidence(request: Request, evidence_id: EvidenceId) -> Response:
    """One evidence file, as an attachment (the download is recorded in the audit trail)."""
    root = _store_root(request)

    def work(db: Session) -> evidence.Download:
        user = signed_in_user(request, db)
        found = evidence.open_evidence(db, root, user, evidence_id)
        db.commit()
        return found

    found = await in_session(request, work)
    return FileResponse(
        found.path,
        media_type=found.media_type,
        headers={
            "Content-Disposition": _disposition(found.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )
