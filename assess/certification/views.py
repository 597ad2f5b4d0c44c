"""The certifier's pages and the enterprise's side of a review, as plain data.

- ``queue_view``: the reviews of the certifier's body, sorted by the screening's ranking.
- ``workspace_view``: one assessment under review, answer by answer, with the live preview of
  the certified score.
- ``to_act_on``: what a returned assessment asks of its enterprise.
- ``certified_view``: the self-assessed and certified results side by side, with each
  adjustment and its reason (for the report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from assess.accounts.access import conflict_between, review_of
from assess.accounts.bodies import certifiers_for, choosable_bodies
from assess.analytics.screen import Reason, ranked
from assess.assessment import filling
from assess.assessment.lifecycle import (
    answers_of,
    previous_assessment,
    spec_of,
    stored_values,
)
from assess.assessment.reports import Names, names_of
from assess.certification.evidence import EvidenceFile, evidence_of, may_upload
from assess.certification.numbers import formatted
from assess.certification.review import (
    Change,
    certify_problems,
    changes_since_return,
    items_of,
    latest_round,
    reviewed_values,
    stale_items,
)
from assess.errors import Problem
from assess.questionnaire.schema import QuestionBase
from assess.store.models import (
    Answer,
    Assessment,
    Certificate,
    CertificationBody,
    Cluster,
    Decision,
    Enterprise,
    Review,
    ReviewItem,
    ReviewRound,
    Role,
    ScoreKind,
    ScoreRecord,
    Status,
    User,
)
from assess.store.states import actions_for

Pair = tuple[str, str]


# --- The queue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    assessment: int
    enterprise: str
    sector: Pair
    year: int
    status: str
    round: int
    certifier: str
    certifier_conflicted: bool  # the assigned certifier has since declared a conflict: reassign
    mine: bool
    requested_at: datetime
    due_on: date
    age_days: int
    overdue: bool
    priority: float | None
    reasons: list[Reason]


@dataclass(frozen=True)
class QueueView:
    body: str  # the certifier's body ("" for an administrator, who sees every body's)
    rows: list[QueueRow]
    show: str  # "open" | "mine" | "done"
    counts: dict[str, int]


#: The queue's filters.
QUEUE_FILTERS = ("open", "mine", "done")


def _reviews_for(session: Session, user: User) -> list[tuple[Review, Assessment, Enterprise]]:
    q = (
        select(Review, Assessment, Enterprise)
        .join(Assessment, col(Assessment.id) == Review.assessment_id)
        .join(Enterprise, col(Enterprise.id) == Assessment.enterprise_id)
    )
    if user.role == Role.certifier:
        q = q.where(Review.body_id == user.cert_body_id)
    elif user.role != Role.admin:
        return []
    rows = list(session.exec(q).all())
    if user.role == Role.certifier:  # a firm it declared a conflict with is not shown at all
        rows = [r for r in rows if conflict_between(session, user.id, r[2].id or 0) is None]
    return rows


def queue_view(session: Session, user: User, today: date, show: str = "open") -> QueueView:
    """The reviews of the certifier's body (an administrator: every body's): open ones by
    default, the certifier's own, or the finished ones. Sorted by the screening's ranking (the
    submissions that look most wrong first), then by due date."""
    show = show if show in QUEUE_FILTERS else "open"
    rows = _reviews_for(session, user)
    users = {u.id: u for u in session.exec(select(User).where(User.role == Role.certifier))}
    counts = {
        "open": sum(1 for r, a, _ in rows if not Status(a.status).final),
        "mine": sum(
            1 for r, a, _ in rows if r.certifier_id == user.id and not Status(a.status).final
        ),
        "done": sum(1 for r, a, _ in rows if Status(a.status).final),
    }
    if show == "open":
        rows = [r for r in rows if not Status(r[1].status).final]
    elif show == "mine":
        rows = [r for r in rows if r[0].certifier_id == user.id and not Status(r[1].status).final]
    else:
        rows = [r for r in rows if Status(r[1].status).final]
    regions = dict(session.exec(select(Cluster.id, Cluster.region_id)).all())
    screening = ranked(
        session, [(a.id or 0, regions.get(e.cluster_id, ""), a.year) for _, a, e in rows]
    )
    out = []
    for r, a, e in rows:
        names = names_of(a.questionnaire, a.questionnaire_version)
        s = screening.get(a.id or 0)
        requested = r.requested_at.date()
        certifier = users.get(r.certifier_id)
        out.append(
            QueueRow(
                assessment=a.id or 0,
                enterprise=e.name,
                sector=names.sector,
                year=a.year,
                status=a.status,
                round=r.round,
                certifier=(certifier.display_name or certifier.username) if certifier else "",
                certifier_conflicted=certifier is not None
                and conflict_between(session, certifier.id, e.id or 0) is not None,
                mine=r.certifier_id == user.id,
                requested_at=r.requested_at,
                due_on=r.due_on,
                age_days=max(0, (today - requested).days),
                overdue=not Status(a.status).final and today > r.due_on,
                priority=s.priority if s else None,
                reasons=s.reasons if s else [],
            )
        )
    out.sort(key=lambda x: (-(x.priority or 0.0), x.due_on, x.assessment))
    body = session.get(CertificationBody, user.cert_body_id) if user.cert_body_id else None
    return QueueView(body.name if body else "", out, show, counts)


# --- The workspace ------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    """One answer as the certifier reviews it."""

    qid: str
    number: str
    question: QuestionBase
    answer: Pair
    comment: str
    last_year: Pair | None
    files: list[EvidenceFile]
    new_files: set[int]  # the ids of files uploaded after the latest return
    item: ReviewItem | None
    adjusted: Pair | None
    stale: bool
    change: Change | None
    before: Pair | None  # the answer before the latest return, when the enterprise changed it
    state: filling.AnswerState  # the enterprise's answer, to prefill an adjustment's fields


@dataclass(frozen=True)
class SectionItems:
    id: str
    title: Pair
    items: list[ItemView]


@dataclass(frozen=True)
class WorkspaceView:
    a: Assessment
    ent: Enterprise
    review: Review
    body: CertificationBody | None
    certifier: User | None
    names: Names
    sections: list[SectionItems]
    own: filling.Preview
    reviewed: filling.Preview
    problems: list[Problem]
    rounds: list[ReviewRound]
    changes: list[Change]
    counts: dict[str, int]
    actions: list[str]
    can_decide: bool
    assignable: list[tuple[int, str, Problem | None]]  # (id, name, why not; None: eligible)
    reasons: list[Reason] = field(default_factory=list)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _last_year(session: Session, a: Assessment) -> dict[str, Any]:
    prev = previous_assessment(session, a)
    return {} if prev is None else stored_values(session, prev)


def _pair(q: QuestionBase, value: Any) -> Pair:
    return (filling.value_text(q, value, False), filling.value_text(q, value, True))


def workspace_view(session: Session, a: Assessment, review: Review, user: User) -> WorkspaceView:
    """One assessment as its certifier reviews it: every answer shown to the firm, with its
    comment, last year's answer, evidence files and the decision in force; what changed since
    the last return; the enterprise's score beside the certified score as it would be now."""
    spec = spec_of(a)
    q = filling.questionnaire_of(a)
    answers: dict[str, Answer] = answers_of(session, a)
    raw = {k: r.value for k, r in answers.items() if r.value is not None}
    own = filling.board(spec, q, raw)
    reviewed = filling.board(spec, q, reviewed_values(session, a, review)).preview
    items = items_of(session, review)
    stale = set(stale_items(session, a, review))
    rnd = latest_round(session, review)
    changes = changes_since_return(session, a, review) if a.status != Status.returned else []
    changed = {c.question: c for c in changes}
    files = evidence_of(session, a)
    since = _aware(rnd.returned_at) if rnd else None
    new = {
        f.id
        for fs in files.values()
        for f in fs
        if since is not None and _aware(f.uploaded_at) > since
    }
    last = _last_year(session, a)
    sections = []
    for s in q.sections:
        rows = []
        for x in s.questions:
            if x.id not in own.visible or getattr(x, "type", "") == "derived":
                continue
            row = answers.get(x.id)
            item = items.get(x.id)
            rows.append(
                ItemView(
                    qid=x.id,
                    number=q.numbers.get(x.id, ""),
                    question=x,
                    answer=_pair(x, row.value if row else None),
                    comment=row.comment if row else "",
                    last_year=_pair(x, last[x.id]) if x.id in last else None,
                    files=files.get(x.id, []),
                    new_files=new,
                    item=item,
                    adjusted=(
                        _pair(x, item.value)
                        if item is not None and item.decision == Decision.adjusted
                        else None
                    ),
                    stale=x.id in stale,
                    change=changed.get(x.id),
                    before=(
                        _pair(x, changed[x.id].before)
                        if x.id in changed and changed[x.id].value_changed
                        else None
                    ),
                    state=filling.state_of(row),
                )
            )
        if rows:
            sections.append(SectionItems(s.id, (s.title.zh, s.title.en), rows))
    counts = {d.value: 0 for d in Decision}
    for i in items.values():
        counts[i.decision] = counts.get(i.decision, 0) + 1
    shown = sum(len(s.items) for s in sections)
    counts["undecided"] = max(0, shown - len(items))
    rounds = list(
        session.exec(
            select(ReviewRound)
            .where(ReviewRound.review_id == review.id)
            .order_by(col(ReviewRound.round))
        )
    )
    mine = user.role == Role.certifier and review.certifier_id == user.id
    actions = [x.value for x in actions_for(a.status, user.role)] if mine else []
    ent = session.get(Enterprise, a.enterprise_id)
    assert ent is not None
    assignable: list[tuple[int, str, Problem | None]] = []
    if user.role == Role.admin or (
        user.role == Role.certifier and user.cert_body_id == review.body_id
    ):
        assignable = [
            (c.id or 0, c.display_name or c.username, why)
            for c, why in certifiers_for(session, review.body_id, ent)
        ]
    cluster = session.get(Cluster, ent.cluster_id)
    place = (a.id or 0, cluster.region_id if cluster else "", a.year)
    flagged = ranked(session, [place]).get(a.id or 0)
    return WorkspaceView(
        a=a,
        ent=ent,
        review=review,
        body=session.get(CertificationBody, review.body_id),
        certifier=session.get(User, review.certifier_id) if review.certifier_id else None,
        names=names_of(a.questionnaire, a.questionnaire_version),
        sections=sections,
        own=own.preview,
        reviewed=reviewed,
        problems=certify_problems(session, a, review) if a.status == Status.under_review else [],
        rounds=rounds,
        changes=changes,
        counts=counts,
        actions=actions,
        can_decide=mine and a.status == Status.under_review,
        assignable=assignable,
        reasons=flagged.reasons if flagged else [],
    )


# --- The enterprise's side ------------------------------------------------------------------


@dataclass(frozen=True)
class ActItem:
    qid: str
    number: str
    section: str
    text: Pair
    decision: str
    reason: str
    adjusted: Pair | None


@dataclass(frozen=True)
class ToActOn:
    """What a returned assessment asks of its enterprise."""

    round: int
    note: str
    returned_at: datetime
    items: list[ActItem]
    body: str


def to_act_on(session: Session, a: Assessment) -> ToActOn | None:
    """The latest return's note and items, while the assessment is returned (None otherwise)."""
    if a.status != Status.returned:
        return None
    review = review_of(session, a.id)
    if review is None:
        return None
    rnd = latest_round(session, review)
    if rnd is None:
        return None
    q = filling.questionnaire_of(a)
    sections = filling.section_of(q)
    items = []
    for i in rnd.items or []:
        x = q.by_id.get(i["question"])
        if x is None:
            continue
        items.append(
            ActItem(
                qid=x.id,
                number=q.numbers.get(x.id, ""),
                section=sections.get(x.id, ""),
                text=(x.text.zh, x.text.en),
                decision=i["decision"],
                reason=i.get("reason", ""),
                adjusted=_pair(x, i.get("value")) if i["decision"] == Decision.adjusted else None,
            )
        )
    body = session.get(CertificationBody, review.body_id)
    return ToActOn(rnd.round, rnd.note, rnd.returned_at, items, body.name if body else "")


@dataclass(frozen=True)
class Adjustment:
    qid: str
    number: str
    text: Pair
    own: Pair
    certified: Pair
    reason: str


@dataclass(frozen=True)
class CertifiedView:
    """The certified result beside the enterprise's own, with each adjustment and its reason."""

    own: ScoreRecord | None
    certified: ScoreRecord | None
    adjustments: list[Adjustment]
    status: str
    body: str
    rejection: str


def certified_view(session: Session, a: Assessment) -> CertifiedView | None:
    """For the report: None until certification was asked for."""
    review = review_of(session, a.id)
    if review is None:
        return None
    recs = {
        r.kind: r
        for r in session.exec(select(ScoreRecord).where(ScoreRecord.assessment_id == a.id))
    }
    q = filling.questionnaire_of(a)
    own = stored_values(session, a)
    adjustments = []
    if a.status == Status.certified:
        order = spec_of(a).index  # in the questionnaire's order
        for qid, i in sorted(
            items_of(session, review).items(), key=lambda kv: order.get(kv[0], len(order))
        ):
            x = q.by_id.get(qid)
            if x is None or i.decision != Decision.adjusted:
                continue
            adjustments.append(
                Adjustment(
                    qid,
                    q.numbers.get(qid, ""),
                    (x.text.zh, x.text.en),
                    _pair(x, own.get(qid)),
                    _pair(x, i.value),
                    i.reason,
                )
            )
    body = session.get(CertificationBody, review.body_id)
    return CertifiedView(
        own=recs.get(ScoreKind.self_reported),
        certified=recs.get(ScoreKind.certified),
        adjustments=adjustments,
        status=a.status,
        body=body.name if body else "",
        rejection=review.reason if a.status == Status.rejected else "",
    )


@dataclass(frozen=True)
class FillExtras:
    """What certification adds to the filling page: each answer's evidence files, whether the
    user may add some, and (once returned) what the certifier asks."""

    evidence: dict[str, list[EvidenceFile]]
    can_upload: bool
    asked: ToActOn | None
    asked_by_question: dict[str, ActItem]


def fill_extras(session: Session, a: Assessment, user: User) -> FillExtras:
    """The filling page's certification parts (the page itself is assess.assessment.fillview)."""
    asked = to_act_on(session, a)
    return FillExtras(
        evidence=evidence_of(session, a),
        can_upload=may_upload(user, a),
        asked=asked,
        asked_by_question={i.qid: i for i in asked.items} if asked else {},
    )


@dataclass(frozen=True)
class ReportPanel:
    """The report's certification part: the results side by side (once asked), the form to ask
    a body (a submitted assessment not yet sent), and the certificate's link."""

    side: CertifiedView | None
    bodies: list[CertificationBody]
    certificate_id: int | None
    certificate_number: str


def report_panel(session: Session, a: Assessment, user: User) -> ReportPanel:
    """What the report shows of certification to ``user``."""
    side = certified_view(session, a)
    may_ask = (
        side is None
        and a.status == Status.submitted
        and (
            user.role == Role.admin
            or (user.role == Role.enterprise and user.enterprise_id == a.enterprise_id)
        )
    )
    cert = session.exec(select(Certificate).where(Certificate.assessment_id == a.id)).first()
    return ReportPanel(
        side=side,
        bodies=choosable_bodies(session) if may_ask else [],
        certificate_id=cert.id if cert else None,
        certificate_number=formatted(cert.number) if cert else "",
    )
