"""The enterprise's yearly assessments: list and start, fill in with autosave, submit, withdraw."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from assess.accounts.access import fillable_assessment, own_enterprise, readable_assessment
from assess.accounts.bodies import choosable_bodies
from assess.assessment import filling, fillview
from assess.assessment.fillview import QuestionsView
from assess.assessment.lifecycle import (
    card_of,
    missing_reasons,
    missing_required,
    open_years,
    save_from_form,
    spec_of,
    start_assessment,
    withdraw,
)
from assess.assessment.reports import names_of, years_of
from assess.certification import review as rv
from assess.certification.views import fill_extras
from assess.errors import Conflict, Invalid, Locked, NotFound, Problem, ServiceError
from assess.forms import read_int
from assess.questionnaire.compile import shipped_catalog
from assess.questionnaire.schema import QuestionBase
from assess.settings import china_today
from assess.store.models import Assessment, Enterprise
from web import htmx, i18n
from web.deps import (
    EnterpriseUser,
    FormFields,
    SessionDep,
    UserDep,
    in_session,
    reads_only,
    signed_in_user,
)
from web.params import AssessmentId, FormYear

router = APIRouter()


def _list_ctx(db: Session, ent: Enterprise, problems: list[Problem]) -> dict[str, Any]:
    years = years_of(db, ent.id or 0)
    version = shipped_catalog().versions()[ent.sector][-1]
    return {
        "ent": ent,
        "years": list(reversed(years)),
        "free_years": open_years(db, ent, {y.year for y in years}),
        "has_previous": bool(years),
        "problems": problems,
        "names": names_of(ent.sector, version),
    }


@router.get("/assessments", name="assessments")
@reads_only
def assessment_list(request: Request, user: EnterpriseUser, db: SessionDep) -> Response:
    ent = own_enterprise(db, user)
    return htmx.render(request, "assessments.html", _list_ctx(db, ent, []))


@router.post("/assessments", name="start_assessment")
def start(
    request: Request,
    user: EnterpriseUser,
    db: SessionDep,
    year: FormYear,
    copy_last_year: Annotated[bool, Form()] = False,
) -> Response:
    ent = own_enterprise(db, user)
    try:
        a = start_assessment(db, ent, year, by_user=user.id, copy_last_year=copy_last_year)
        db.commit()
    except (Invalid, Locked) as exc:
        db.rollback()
        ctx = _list_ctx(db, ent, exc.problems)
        return htmx.render(request, "assessments.html", ctx, status=exc.status)
    return htmx.redirect(request, request.app.url_path_for("fill", assessment_id=str(a.id)))


def _page(view: QuestionsView) -> dict[str, Any]:
    """A view of the filling page, with the number formatting its template uses."""
    return {
        **view.as_context(),
        "number_text": filling.number_text,
        "ratio_result": filling.ratio_result,
        "oob": False,
        "status_kind": "",
    }


@router.get("/assessments/{assessment_id}", name="fill")
@reads_only
def fill_page(
    request: Request,
    assessment_id: AssessmentId,
    user: UserDep,
    db: SessionDep,
    section: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    a = readable_assessment(db, user, assessment_id)
    ctx = _page(fillview.fill_page(db, a, user, section))
    ctx["cert"] = fill_extras(db, a, user)
    return htmx.render(request, "fill.html", ctx)


def _question_of(a: Assessment, question: str) -> QuestionBase:
    q = filling.questionnaire_of(a).by_id.get(question)
    if q is None:
        raise NotFound(Problem("unknown_question", "问卷中没有该题", "no such question", question))
    return q


@router.get("/assessments/{assessment_id}/answers/{question}", name="question")
@reads_only
def question_block(
    request: Request, assessment_id: AssessmentId, question: str, user: UserDep, db: SessionDep
) -> Response:
    """One question as stored now (the "use the other value" choice after a conflict)."""
    a = readable_assessment(db, user, assessment_id)
    qdef = _question_of(a, question)
    ctx = _page(fillview.question_view(db, a, user))
    ctx["question"] = qdef
    return htmx.partial(request, "_question.html", ctx)


@router.post("/assessments/{assessment_id}/answers/{question}", name="save_answer")
async def autosave(
    request: Request, assessment_id: AssessmentId, question: str, fields: FormFields
) -> Response:
    """Save one answer; answer with its status line and what the change moved elsewhere.

    This is the busiest request of the product: it runs without a worker thread on SQLite
    (see in_session), and reads only what the answer needs: every stored value in one aggregate
    row for the preview, and whole rows only of the questions whose visibility the change may
    flip. One transaction, a handful of statements.
    """
    return await in_session(request, lambda db: _save(request, db, assessment_id, question, fields))


def _save(
    request: Request,
    db: Session,
    assessment_id: int,
    question: str,
    fields: dict[str, list[str]],
) -> Response:
    user = signed_in_user(request, db)
    a = fillable_assessment(db, user, assessment_id)
    qdef = _question_of(a, question)
    ctx: dict[str, Any] = {"a": a, "question": qdef}
    try:
        done = save_from_form(db, a, question, fields, by_user=user.id)
        db.commit()
    except Conflict as exc:
        db.rollback()
        theirs = exc.current
        ctx.update(
            status_kind="conflict",
            problem=exc.first,
            theirs=theirs,
            theirs_text=filling.value_text(qdef, theirs.value, i18n.is_en()),
        )
        return htmx.partial(request, "_question_status.html", ctx, status=409)
    except ServiceError as exc:
        db.rollback()
        ctx.update(status_kind="error", problem=exc.first)
        return htmx.partial(request, "_question_status.html", ctx, status=exc.status)
    full = _page(fillview.saved_view(db, a, user, done))
    full.update(status_kind="saved", oob=True)
    return htmx.partial(request, "_saved.html", full)


def _submit_ctx(db: Session, a: Assessment, problems: list[Problem]) -> dict[str, Any]:
    card = card_of(db, a)
    missing = missing_required(spec_of(a), card) + missing_reasons(db, a, card)
    return {
        "a": a,
        "missing": filling.missing_answers(filling.questionnaire_of(a), missing),
        "problems": problems,
        "card": card,
        "names": names_of(a.questionnaire, a.questionnaire_version),
        "bodies": choosable_bodies(db),
    }


@router.get("/assessments/{assessment_id}/submit", name="submit_page")
@reads_only
def submit_page(
    request: Request, assessment_id: AssessmentId, user: EnterpriseUser, db: SessionDep
) -> Response:
    a = fillable_assessment(db, user, assessment_id)
    return htmx.render(request, "submit.html", _submit_ctx(db, a, []))


@router.post("/assessments/{assessment_id}/submit", name="submit")
def submit_post(
    request: Request,
    assessment_id: AssessmentId,
    user: EnterpriseUser,
    db: SessionDep,
    pledge: Annotated[bool, Form()] = False,
    body: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Submit, and ask the chosen certification body to certify (none: a self-assessment)."""
    a = fillable_assessment(db, user, assessment_id)
    try:
        body_id = (
            read_int(body, "body", "评定机构", "certification body", least=1) if body else None
        )
        rv.submit_assessment(
            db,
            a,
            user,
            pledge=pledge,
            body_id=body_id,
            review_days=request.app.state.settings.review_days,
            today=china_today(),
        )
        db.commit()
    except (Invalid, Locked, NotFound) as exc:
        db.rollback()
        a = fillable_assessment(db, user, assessment_id)
        ctx = _submit_ctx(db, a, exc.problems)
        return htmx.render(request, "submit.html", ctx, status=exc.status)
    return htmx.redirect(request, request.app.url_path_for("report", assessment_id=str(a.id)))


@router.get("/assessments/{assessment_id}/withdraw", name="withdraw_page")
@reads_only
def withdraw_page(
    request: Request, assessment_id: AssessmentId, user: EnterpriseUser, db: SessionDep
) -> Response:
    """The confirmation step before a withdrawal (the withdrawal itself is the POST)."""
    a = fillable_assessment(db, user, assessment_id)
    return htmx.render(request, "withdraw.html", {"a": a})


@router.post("/assessments/{assessment_id}/withdraw", name="withdraw")
def withdraw_post(
    request: Request, assessment_id: AssessmentId, user: EnterpriseUser, db: SessionDep
) -> Response:
    a = fillable_assessment(db, user, assessment_id)
    withdraw(db, a, by_user=user.id)
    db.commit()
    return htmx.redirect(request, request.app.url_path_for("fill", assessment_id=str(a.id)))
