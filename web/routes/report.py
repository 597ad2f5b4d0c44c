"""The report of one assessment: level, stage and why, peers, trace, roadmap, what-if, years."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from assess import filling
from assess.access import readable_assessment
from assess.enterprises import get_enterprise
from assess.models import Assessment
from assess.reports import card_for_report, names_of, peers_of, what_if_of, years_of
from scoring import LINKS, ScoreCard
from web import htmx, i18n, labels
from web.deps import FormFields, SessionDep, UserDep, reads_only

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
@reads_only
def report(request: Request, assessment_id: int, user: UserDep, db: SessionDep) -> Response:
    a = readable_assessment(db, user, assessment_id)
    return htmx.render(request, "report.html", _report_ctx(db, a))


@router.post("/assessments/{assessment_id}/what-if", name="what_if")
def what_if_post(
    request: Request, assessment_id: int, user: UserDep, db: SessionDep, fields: FormFields
) -> Response:
    """Scores with some answers changed, computed and shown, never saved."""
    a = readable_assessment(db, user, assessment_id)
    w = what_if_of(db, a, fields)
    ctx = {
        "card": w.now,
        "names": names_of(a.questionnaire, a.questionnaire_version),
        "whatif": {"card": w.card, "changes": w.changes, "problems": w.problems},
    }
    return htmx.render_fragment(request, "report.html", ["whatif_result"], ctx)
