"""What the report and the member lists show, as plain data: the card, peers, earlier years.

Submitted assessments are reported from their stored ScoreCard, so a report stays what was
submitted. A draft is scored live and marked provisional.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from assess.assessments import check_value, spec_of, stored_values
from assess.errors import Invalid, Problem
from assess.filling import questionnaire_of_version
from assess.forms import value_from_form
from assess.models import Assessment, ScoreRecord, Status
from scoring import LINKS, AnswerErrors, ScoreCard, score, what_if

#: The fewest peers whose median may be shown: fewer would nearly reveal single firms.
MIN_PEERS = 5
REPORTED = (Status.submitted,)


@dataclass(frozen=True)
class Names:
    """Display names of the links, aspects and stages (zh, en) of a questionnaire."""

    links: dict[str, tuple[str, str]]
    aspects: dict[str, tuple[str, str]]
    stages: dict[str, tuple[str, str]]
    title: tuple[str, str]
    sector: tuple[str, str]


@lru_cache(maxsize=64)
def names_of(questionnaire: str, version: int) -> Names:
    """The display names a report of this questionnaire version uses."""
    q = questionnaire_of_version(questionnaire, version)
    m = q.methodology
    return Names(
        links={x.id: (x.name.zh, x.name.en) for x in m.links},
        aspects={x.id: (x.name.zh, x.name.en) for x in m.aspects},
        stages={x.id: (x.name.zh, x.name.en) for x in m.stages.names},
        title=(q.title.zh, q.title.en),
        sector=(q.sector.name.zh, q.sector.name.en),
    )


def card_for_report(session: Session, a: Assessment) -> tuple[ScoreCard, bool]:
    """The card to report and whether it is live (a draft) rather than the stored one."""
    if a.status != Status.draft:
        rec = session.exec(
            select(ScoreRecord).where(ScoreRecord.assessment_id == a.id, ScoreRecord.kind == "self")
        ).first()
        if rec is not None:
            return ScoreCard.model_validate(rec.card), False
    return score(spec_of(a), stored_values(session, a)), True


@dataclass(frozen=True)
class WhatIf:
    """Scores with some answers changed: computed to be shown, never saved."""

    now: ScoreCard  # the card the report shows
    card: ScoreCard  # the card with the changes
    changes: dict[str, Any]
    problems: list[Problem]


def what_if_of(session: Session, a: Assessment, fields: Mapping[str, list[str]]) -> WhatIf:
    """Score the assessment with the answers a what-if form proposes.

    The form names the questions to change in ``apply``; each one's fields are prefixed with
    its id (``core.rd.digital_share.value``). A proposed value that is not a valid answer is
    listed as a problem and left out; the others are scored together.
    """
    now, _ = card_for_report(session, a)
    spec = spec_of(a)
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    for qid in fields.get("apply", []):
        if qid not in spec.index:
            continue
        prefix = f"{qid}."
        sub = {k[len(prefix) :]: list(v) for k, v in fields.items() if k.startswith(prefix)}
        try:
            value = value_from_form(spec.questions[spec.index[qid]], sub)
            if value is not None:
                value = check_value(spec, qid, value)
        except Invalid as exc:
            problems.append(exc.first)
            continue
        if value is not None:
            changes[qid] = value
    try:
        card = what_if(spec, stored_values(session, a), changes)
    except AnswerErrors as exc:  # e.g. options a multiple choice cannot combine
        problems.extend(Problem(e.code, e.zh, e.en, e.question) for e in exc.errors)
        card = now
    return WhatIf(now, card, changes, problems)


@dataclass(frozen=True)
class Peers:
    """The same sector and year's other reported assessments, summarised."""

    count: int
    shown: bool
    links: dict[str, float | None] = field(default_factory=dict)
    overall: float | None = None
    rank: int | None = None  # 1 = best overall, among peers plus this one


def peers_of(session: Session, a: Assessment, overall: float) -> Peers:
    """Median link scores of the peers, only when there are at least MIN_PEERS of them."""
    # Only the headline columns: decoding every peer's stored card would cost far more.
    columns = [col(ScoreRecord.overall), *(col(getattr(ScoreRecord, f"link_{k}")) for k in LINKS)]
    q = (
        select(*columns)
        .join(Assessment, col(Assessment.id) == ScoreRecord.assessment_id)
        .where(
            Assessment.questionnaire == a.questionnaire,
            Assessment.year == a.year,
            Assessment.enterprise_id != a.enterprise_id,
            col(Assessment.status).in_(REPORTED),
            ScoreRecord.kind == "self",
        )
    )
    rows = list(session.exec(q))
    if len(rows) < MIN_PEERS:
        return Peers(count=len(rows), shown=False)
    links: dict[str, float | None] = {}
    for i, k in enumerate(LINKS, start=1):
        vals = [r[i] for r in rows if r[i] is not None]
        links[k] = statistics.median(vals) if vals else None
    return Peers(
        count=len(rows),
        shown=True,
        links=links,
        overall=statistics.median(r[0] for r in rows),
        rank=1 + sum(1 for r in rows if r[0] > overall),
    )


@dataclass(frozen=True)
class YearScore:
    """One year's headline figures of an enterprise."""

    assessment_id: int
    year: int
    status: str
    overall: float | None
    links: dict[str, float | None]
    stage: str | None
    it_adopter: bool | None


def years_of(session: Session, enterprise_id: int) -> list[YearScore]:
    """The enterprise's assessments, oldest first, with stored scores where there are any."""
    q = (
        select(Assessment, ScoreRecord)
        .join(
            ScoreRecord,
            (col(ScoreRecord.assessment_id) == Assessment.id) & (ScoreRecord.kind == "self"),
            isouter=True,
        )
        .where(Assessment.enterprise_id == enterprise_id)
        .order_by(col(Assessment.year))
    )
    out = []
    for a, rec in session.exec(q):
        reported = rec is not None and a.status != Status.draft
        out.append(
            YearScore(
                assessment_id=a.id or 0,
                year=a.year,
                status=a.status,
                overall=rec.overall if reported and rec else None,
                links={k: getattr(rec, f"link_{k}") for k in LINKS} if reported and rec else {},
                stage=rec.stage if reported and rec else None,
                it_adopter=rec.it_adopter if reported and rec else None,
            )
        )
    return out


@dataclass(frozen=True)
class Latest:
    """An enterprise's most recent reported assessment."""

    assessment_id: int
    year: int
    overall: float
    stage: str
    it_adopter: bool


def latest_scores(session: Session, enterprise_ids: list[int]) -> dict[int, Latest]:
    """Enterprise id → its latest reported assessment's headline figures."""
    if not enterprise_ids:
        return {}
    q = (
        select(Assessment, ScoreRecord)
        .join(ScoreRecord, col(ScoreRecord.assessment_id) == Assessment.id)
        .where(
            col(Assessment.enterprise_id).in_(enterprise_ids),
            col(Assessment.status).in_(REPORTED),
            ScoreRecord.kind == "self",
        )
        .order_by(col(Assessment.year))
    )
    out: dict[int, Latest] = {}
    for a, rec in session.exec(q):
        out[a.enterprise_id] = Latest(a.id or 0, a.year, rec.overall, rec.stage, rec.it_adopter)
    return out


def plain(value: Any) -> Any:
    """A card value as text-friendly data (lists joined, None kept)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value
