"""The report of one assessment: level, stage and why, peers, trace, roadmap, what-if, years."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from assess import filling
from assess.access import readable_assessment
from assess.assessments import answers_of, raw_answers, spec_of
from assess.enterprises import get_enterprise
from assess.errors import Invalid, Problem
from assess.forms import value_from_form
from assess.models import Assessment
from assess.reports import card_for_report, names_of, peers_of, years_of
from scoring import LINKS, AnswerErrors, ScoreCard, what_if
from web import htmx, i18n, labels
from web.deps import FormFields, SessionDep, UserDep

router = APIRouter()


def _chart_data(card: ScoreCard, names: Any, peers: Any, years: list[Any]) -> dict[str, Any]:
    return {
        "links": [i18n.pick(*names.links[k]) for k in LINKS],
        "self": [card.links[k] for k in LINKS],
        "peer": [peers.links.get(k) for k in LINKS] if peers.shown else None,
        "selfLabel": i18n.gettext("This enterprise"),
        "peerLabel": i18n.gettext("Peer median"),
        "aspects": [i18n.pick(*names.aspects[k]) for k in card.aspects],
        "aspectValues": list(card.aspects.values()),
        "years": [y.year for y in years if y.overall is not None],
        "yearOverall": [y.overall for y in years if y.overall is not None],
        "overallLabel": i18n.gettext("Overall level"),
    }


def _report_ctx(db: Session, a: Assessment) -> dict[str, Any]:
    card, live = card_for_report(db, a)
    names = names_of(a.questionnaire, a.questionnaire_version)
    peers = peers_of(db, a, card.overall)
    years = years_of(db, a.enterprise_id)
    q = filling.questionnaire_of(a)
    return {
        "a": a,
        "ent": get_enterprise(db, a.enterprise_id),
        "card": card,
        "live": live,
        "names": names,
        "peers": peers,
        "years": years,
        "qdefs": q.by_id,
        "chart": _chart_data(card, names, peers, years),
        "metric_label": lambda m: labels.metric(m, names.links, names.aspects),
        "value_text": lambda qid, v: filling.value_text(q.by_id[qid], v, i18n.is_en()),
        "number_text": filling.number_text,
        "whatif": None,
    }


@router.get("/assessments/{assessment_id}/report", name="report")
def report(request: Request, assessment_id: int, user: UserDep, db: SessionDep) -> Response:
    a = readable_assessment(db, user, assessment_id)
    return htmx.render(request, "report.html", _report_ctx(db, a))


@router.post("/assessments/{assessment_id}/what-if", name="what_if")
def what_if_post(
    request: Request, assessment_id: int, user: UserDep, db: SessionDep, fields: FormFields
) -> Response:
    """Scores with some answers changed, computed and shown, never saved."""
    a = readable_assessment(db, user, assessment_id)
    spec = spec_of(a)
    raw = raw_answers(answers_of(db, a))
    ctx = _report_ctx(db, a)
    changes: dict[str, Any] = {}
    problems = []
    for qid in fields.get("apply", []):
        if qid not in spec.index:
            continue
        prefix = f"{qid}."
        sub = {k[len(prefix) :]: v for k, v in fields.items() if k.startswith(prefix)}
        try:
            value = value_from_form(spec.questions[spec.index[qid]], sub)
        except Invalid as exc:
            problems.append(exc.first)
            continue
        if value is not None:
            changes[qid] = value
    try:
        card = what_if(spec, raw, changes)
    except AnswerErrors as exc:  # e.g. an option a multiple choice cannot combine
        problems.extend(Problem(e.code, e.zh, e.en, e.question) for e in exc.errors)
        card = ctx["card"]
    ctx["whatif"] = {"card": card, "changes": changes, "problems": problems}
    return htmx.render_fragment(request, "report.html", ["whatif_result"], ctx)
