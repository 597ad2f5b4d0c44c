"""The report of one assessment: level, stage and why, peers, trace, roadmap, what-if, years."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from assess.accounts.access import readable_assessment
from assess.accounts.enterprises import get_enterprise
from assess.assessment import filling
from assess.assessment.lifecycle import stored_values
from assess.assessment.reports import (
    WhatIf,
    answer_text,
    card_for_report,
    level_context,
    moves_of,
    names_of,
    next_stage_needs,
    peers_of,
    review_of,
    roadmap_fields,
    stage_why,
    trace_of,
    what_if_choices,
    what_if_field,
    what_if_of,
    years_of,
)
from assess.certification.views import report_panel
from assess.store.models import Assessment, User
from scoring import LINKS, ScoreCard
from web import htmx, i18n, labels
from web.deps import FormFields, SessionDep, UserDep, reads_only
from web.params import AssessmentId

router = APIRouter()


def _one(x: float | None) -> float | None:
    # Charts show what the tables show: one decimal, never the float's full tail.
    return None if x is None else round(x, 1)


def _chart_data(
    a: Assessment, ent: Any, card: ScoreCard, names: Any, peers: Any, years: list[Any]
) -> dict[str, Any]:
    return {
        "links": [i18n.pick(*names.links[k]) for k in LINKS],
        "self": [_one(card.links[k]) for k in LINKS],
        "peer": [_one(peers.sector.links.get(k)) for k in LINKS] if peers.sector.shown else None,
        "selfLabel": i18n.gettext("This enterprise"),
        "peerLabel": i18n.gettext("Peer median"),
        "aspects": [i18n.pick(*names.aspects[k]) for k in card.aspects],
        "aspectValues": [_one(v) for v in card.aspects.values()],
        "years": [y.year for y in years if y.overall is not None],
        "yearOverall": [_one(y.overall) for y in years if y.overall is not None],
        "overallLabel": i18n.gettext("Overall level"),
        # The running header and footer of the printed pages (CSS page-margin boxes).
        "printHead": i18n.gettext("%(enterprise)s · %(year)s integration report")
        % {"enterprise": ent.name, "year": a.year},
        "printStatus": i18n.gettext("Self-assessment · %(status)s")
        % {"status": labels.status(a.status)},
        "printDate": i18n.gettext("Printed %(date)s"),
        "printPage": i18n.gettext("Page %(page)s of %(pages)s"),
    }


def _report_ctx(db: Session, a: Assessment, user: User) -> dict[str, Any]:
    card, live = card_for_report(db, a)
    names = names_of(a.questionnaire, a.questionnaire_version)
    peers = peers_of(db, a, card.overall)
    years = years_of(db, a.enterprise_id)
    q = filling.questionnaire_of(a)
    ent = get_enterprise(db, a.enterprise_id)
    stored = stored_values(db, a)
    return {
        "a": a,
        "ent": ent,
        "card": card,
        "live": live,
        "names": names,
        "peers": peers,
        "years": years,
        "numbers": q.numbers,
        "why": stage_why(card, names),
        "review": review_of(db, a, card),
        "level_context": level_context(a),
        "needs": next_stage_needs(card, names),
        "trace": trace_of(card, q, stored),
        "choices": what_if_choices(a),
        "suggested": roadmap_fields(card, a),
        "chart": _chart_data(a, ent, card, names, peers, years),
        "value_text": lambda qid, v: answer_text(q.by_id[qid], v, None, i18n.is_en()),
        "number_text": filling.number_text,
        # The what-if starts from the report's own scores, nothing changed yet.
        "moves": moves_of(WhatIf(card, card, {}, []), names),
        "problems": [],
        "changes": {},
        "cert": report_panel(db, a, user),
    }


@router.get("/assessments/{assessment_id}/report", name="report")
@reads_only
def report(
    request: Request, assessment_id: AssessmentId, user: UserDep, db: SessionDep
) -> Response:
    a = readable_assessment(db, user, assessment_id)
    return htmx.render(request, "report.html", _report_ctx(db, a, user))


@router.post("/assessments/{assessment_id}/what-if", name="what_if")
def what_if_post(
    request: Request, assessment_id: AssessmentId, user: UserDep, db: SessionDep, fields: FormFields
) -> Response:
    """Scores with some answers changed, computed and shown, never saved."""
    a = readable_assessment(db, user, assessment_id)
    w = what_if_of(db, a, fields)
    names = names_of(a.questionnaire, a.questionnaire_version)
    ctx = {"moves": moves_of(w, names), "problems": w.problems, "changes": w.changes}
    return htmx.render(request, "_whatif_result.html", ctx)


@router.get("/assessments/{assessment_id}/what-if/field", name="what_if_field")
@reads_only
def what_if_field_get(
    request: Request,
    assessment_id: AssessmentId,
    user: UserDep,
    db: SessionDep,
    question: str = Query("", max_length=200),
) -> Response:
    """The input for one more question to change in the what-if, set to its stored answer."""
    a = readable_assessment(db, user, assessment_id)
    if not question:  # the picker's empty choice: nothing to add
        return Response(status_code=204)
    f = what_if_field(db, a, question)
    ctx = {"f": f, "checked": True, "number_text": filling.number_text}
    return htmx.render(request, "_whatif_field.html", ctx)
