"""The certifier's work: the review queue, the review of one assessment answer by answer, and
the decisions that end a round (return, certify, refuse). Also the enterprise's side: asking a
body to certify, and resubmitting a returned assessment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from assess.accounts.access import fillable_assessment, readable_assessment, review_of
from assess.analytics.views import plain
from assess.assessment import filling
from assess.certification import review as rv
from assess.certification import views
from assess.errors import Locked, NotFound, Problem, ServiceError
from assess.settings import china_today
from assess.store import audit
from assess.store.models import Assessment, Review, Role, User
from assess.store.states import Action, can
from web import htmx
from web.deps import FormFields, SessionDep, UserDep, reads_only, require
from web.errors import wants_json
from web.params import AssessmentId

router = APIRouter()

Reviewer = Annotated[User, Depends(require(Role.certifier, Role.admin))]
_NO_REVIEW = Problem(
    "not_found", "此评估尚未申请评定", "certification was not asked for this assessment"
)


def _reviewed(db: Session, user: User, assessment_id: int) -> tuple[Assessment, Review]:
    """The assessment and its review, if the user may see them (404 otherwise)."""
    a = readable_assessment(db, user, assessment_id)
    review = review_of(db, a.id)
    if review is None:
        raise NotFound(_NO_REVIEW)
    return a, review


@router.get("/review", name="review_queue")
@router.get("/review.json", name="review_queue_json")
@reads_only
def queue(
    request: Request,
    user: Reviewer,
    db: SessionDep,
    show: Annotated[str, Query(max_length=10)] = "open",
) -> Response:
    view = views.queue_view(db, user, china_today(), show)
    if wants_json(request):
        return JSONResponse(audit.plain(plain(view)))
    return htmx.render(request, "review_queue.html", {"v": view})


def _workspace(
    request: Request,
    db: Session,
    a: Assessment,
    review: Review,
    user: User,
    problems: list[Problem] | None = None,
    status: int = 200,
) -> Response:
    view = views.workspace_view(db, a, review, user)
    ctx = {
        "v": view,
        "a": a,
        "problems": problems or [],
        "number_text": filling.number_text,
    }
    return htmx.render(request, "review.html", ctx, status=status)


@router.get("/review/{assessment_id}", name="review")
@reads_only
def workspace(
    request: Request, assessment_id: AssessmentId, user: Reviewer, db: SessionDep
) -> Response:
    a, review = _reviewed(db, user, assessment_id)
    return _workspace(request, db, a, review, user)


def _act(
    request: Request,
    db: Session,
    user: User,
    assessment_id: int,
    work: Any,
) -> Response:
    """Run one review action; on refusal, the workspace again with its message."""
    a, review = _reviewed(db, user, assessment_id)
    try:
        target = work(a, review)  # a page to go to next, or anything else: the workspace
        db.commit()
    except ServiceError as exc:
        db.rollback()
        a, review = _reviewed(db, user, assessment_id)
        return _workspace(request, db, a, review, user, exc.problems, exc.status)
    if not isinstance(target, str):
        target = request.app.url_path_for("review", assessment_id=str(assessment_id))
    return htmx.redirect(request, target)


@router.post("/review/{assessment_id}/assign", name="review_assign")
def assign(
    request: Request,
    assessment_id: AssessmentId,
    user: Reviewer,
    db: SessionDep,
    certifier: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    return _act(request, db, user, assessment_id, lambda a, r: rv.assign(db, r, certifier, user))


@router.post("/review/{assessment_id}/start", name="review_start")
def start(
    request: Request, assessment_id: AssessmentId, user: Reviewer, db: SessionDep
) -> Response:
    return _act(request, db, user, assessment_id, lambda a, r: rv.start_review(db, a, r, user))


@router.post("/review/{assessment_id}/answers/{question}", name="review_decide")
def decide(
    request: Request,
    assessment_id: AssessmentId,
    question: str,
    user: Reviewer,
    db: SessionDep,
    fields: FormFields,
) -> Response:
    """One decision on one answer: the question's block again, with the preview (out of band)."""
    a, review = _reviewed(db, user, assessment_id)
    problems: list[Problem] = []
    status = 200
    try:
        rv.decide_from_form(db, a, review, user, question, fields)
        db.commit()
    except ServiceError as exc:
        db.rollback()
        a, review = _reviewed(db, user, assessment_id)
        problems, status = exc.problems, exc.status
    view = views.workspace_view(db, a, review, user)
    item = next((i for s in view.sections for i in s.items if i.qid == question), None)
    if item is None:
        raise NotFound(Problem("unknown_question", "问卷中没有该题", "no such question", question))
    if not htmx.is_htmx(request):
        if problems:
            return _workspace(request, db, a, review, user, problems, status)
        return htmx.redirect(request, request.app.url_path_for("review", assessment_id=str(a.id)))
    ctx = {"v": view, "a": a, "i": item, "problems": problems, "oob": True}
    ctx["number_text"] = filling.number_text
    return htmx.partial(request, "_review_item.html", ctx, status=status)


@router.post("/review/{assessment_id}/return", name="review_return")
def return_(
    request: Request,
    assessment_id: AssessmentId,
    user: Reviewer,
    db: SessionDep,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        db,
        user,
        assessment_id,
        lambda a, r: rv.return_to_enterprise(db, a, r, user, note),
    )


@router.post("/review/{assessment_id}/certify", name="review_certify")
def certify(
    request: Request, assessment_id: AssessmentId, user: Reviewer, db: SessionDep
) -> Response:
    settings = request.app.state.settings

    def work(a: Assessment, r: Review) -> str:
        cert = rv.certify_and_issue(db, a, r, user, settings, china_today())
        return request.app.url_path_for("certificate", certificate_id=str(cert.id))

    return _act(request, db, user, assessment_id, work)


@router.post("/review/{assessment_id}/reject", name="review_reject")
def reject(
    request: Request,
    assessment_id: AssessmentId,
    user: Reviewer,
    db: SessionDep,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(request, db, user, assessment_id, lambda a, r: rv.reject(db, a, r, user, reason))


# --- The enterprise's side ----------------------------------------------------------------


@router.post("/assessments/{assessment_id}/certification", name="ask_certification")
def ask_certification(
    request: Request,
    assessment_id: AssessmentId,
    user: UserDep,
    db: SessionDep,
    body: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    """Ask a body to certify a submitted assessment (its enterprise, or an administrator)."""
    a = readable_assessment(db, user, assessment_id)
    if user.role == Role.enterprise:
        a = fillable_assessment(db, user, assessment_id)
    settings = request.app.state.settings
    rv.request_certification(
        db, a, body, user, review_days=settings.review_days, today=china_today()
    )
    db.commit()
    return htmx.redirect(request, request.app.url_path_for("report", assessment_id=str(a.id)))


def _resubmit_ctx(db: Session, a: Assessment, problems: list[Problem]) -> dict[str, Any]:
    return {"a": a, "asked": views.to_act_on(db, a), "problems": problems}


@router.get("/assessments/{assessment_id}/resubmit", name="resubmit_page")
@reads_only
def resubmit_page(
    request: Request, assessment_id: AssessmentId, user: UserDep, db: SessionDep
) -> Response:
    a = fillable_assessment(db, user, assessment_id)
    if not can(Action.resubmit, a.status):
        raise Locked(
            Problem(
                "not_returned",
                "只有被退回的评估可以重新提交",
                "only an assessment returned for action can be resubmitted",
            )
        )
    return htmx.render(request, "resubmit.html", _resubmit_ctx(db, a, []))


@router.post("/assessments/{assessment_id}/resubmit", name="resubmit")
def resubmit(
    request: Request, assessment_id: AssessmentId, user: UserDep, db: SessionDep
) -> Response:
    a = fillable_assessment(db, user, assessment_id)
    review = review_of(db, a.id)
    if review is None:
        raise NotFound(_NO_REVIEW)
    try:
        rv.resubmit(db, a, review, user)
        db.commit()
    except ServiceError as exc:
        db.rollback()
        a = fillable_assessment(db, user, assessment_id)
        ctx = _resubmit_ctx(db, a, exc.problems)
        return htmx.render(request, "resubmit.html", ctx, status=exc.status)
    return htmx.redirect(request, request.app.url_path_for("report", assessment_id=str(a.id)))
