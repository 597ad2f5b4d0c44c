"""The certification review of one assessment, as services: ask a body, assign a certifier,
review answer by answer, return to the enterprise, resubmit, certify or refuse.

Each service takes a Session and leaves committing to the caller; every check runs before the
first change, so a refused request writes nothing. Status moves go through the state machine
(``lifecycle.transition``); each decision is also kept in the audit trail.

The certified score is the same engine on the same pinned questionnaire version as the
enterprise's own: the stored answers with the certifier's adjusted values put in their place
(``reviewed_values``). Nothing is computed a second way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from assess.accounts.access import conflict_between
from assess.accounts.bodies import why_not
from assess.assessment.lifecycle import (
    answers_of,
    check_value,
    spec_of,
    store_card,
    stored_values,
    transition,
)
from assess.assessment.lifecycle import (
    submit as lifecycle_submit,
)
from assess.certification.certificates import issue
from assess.errors import Conflict, ConflictDetail, Forbidden, Invalid, Locked, NotFound, Problem
from assess.forms import read_int, single, value_from_form
from assess.settings import Settings
from assess.store import audit
from assess.store.models import (
    Assessment,
    Certificate,
    CertificationBody,
    Decision,
    Enterprise,
    Evidence,
    Review,
    ReviewItem,
    ReviewRound,
    Role,
    ScoreKind,
    ScoreRecord,
    Status,
    User,
    utcnow,
)
from assess.store.states import Action, can
from scoring import AnswerErrors, ScoreCard, score

MAX_REASON = 2000


def _problem(code: str, zh: str, en: str, field: str = "") -> Problem:
    return Problem(code, zh, en, field)


# --- Asking a body, assigning a certifier --------------------------------------------------


def request_certification(
    session: Session,
    a: Assessment,
    body_id: int,
    by: User | None,
    *,
    review_days: int,
    today: date,
) -> Review:
    """Ask ``body_id`` to certify a submitted assessment (its enterprise, when it submits, or an
    administrator). The review is due ``review_days`` later."""
    if by is not None and by.role not in (Role.enterprise, Role.admin):
        raise Forbidden(
            _problem(
                "role",
                "只有企业本身或管理员可以申请评定",
                "only the enterprise itself or an administrator can ask for certification",
            )
        )
    if Status(a.status) is not Status.submitted:
        raise Locked(
            _problem(
                "not_submitted",
                "只有已提交、尚未申请评定的评估可以申请评定",
                "only a submitted assessment not yet sent for certification can be sent",
            )
        )
    if session.exec(select(Review.id).where(Review.assessment_id == a.id)).first() is not None:
        raise Locked(
            _problem(
                "already_requested",
                "此评估已申请评定",
                "certification has already been asked for this assessment",
            )
        )
    body = session.get(CertificationBody, body_id)
    if body is None or not body.is_active:
        raise Invalid(
            _problem(
                "body",
                "请选择一家在册的评定机构",
                "choose one of the listed certification bodies",
                "body",
            )
        )
    review = Review(
        assessment_id=a.id or 0,
        body_id=body.id or 0,
        requested_by=by.id if by else None,
        due_on=today + timedelta(days=review_days),
    )
    session.add(review)
    session.flush()
    audit.record(
        session,
        "review.request",
        "assessment",
        a.id,
        actor=by,
        after={"body": body.code, "due_on": review.due_on},
    )
    return review


def submit_assessment(
    session: Session,
    a: Assessment,
    user: User,
    *,
    pledge: bool,
    body_id: int | None,
    review_days: int,
    today: date,
) -> ScoreCard:
    """The enterprise submits its assessment and, if it chose a body, asks it to certify the
    submission, in one step (one transaction: if the body is refused, nothing is submitted)."""
    card = lifecycle_submit(session, a, pledge=pledge, by_user=user.id)
    if body_id is not None:
        request_certification(session, a, body_id, user, review_days=review_days, today=today)
    return card


def assignment_problem(session: Session, review: Review, certifier: User | None) -> Problem | None:
    """Why ``certifier`` may not be assigned to the review (None when they may): the rules of
    assess.accounts.bodies.why_not, for the review's body and firm."""
    a = session.get(Assessment, review.assessment_id)
    ent = session.get(Enterprise, a.enterprise_id) if a is not None else None
    if ent is None:
        return Problem("not_found", "评估不存在", "no such assessment")
    return why_not(session, certifier, ent, review.body_id)


def assign(session: Session, review: Review, certifier_id: int, by: User) -> Review:
    """Give the review to a certifier of its body (a certifier of that body or an administrator
    assigns). Refused, with the reason, for a certifier of another body, an inactive one, or one
    with a declared conflict with the firm. Possible until the review ends."""
    if not (
        by.role == Role.admin or (by.role == Role.certifier and by.cert_body_id == review.body_id)
    ):
        raise Forbidden(
            _problem(
                "role",
                "只有受理机构的评定人员或管理员可以分配评审",
                "only a certifier of the body or an administrator can assign the review",
            )
        )
    a = session.get(Assessment, review.assessment_id)
    if a is None or Status(a.status).final:
        raise Locked(_problem("review_closed", "评审已结束", "the review has ended"))
    certifier = session.get(User, certifier_id)
    problem = assignment_problem(session, review, certifier)
    if problem is not None:
        raise Invalid(problem)
    before = review.certifier_id
    review.certifier_id = certifier_id
    review.version += 1
    session.add(review)
    session.flush()
    audit.record(
        session,
        "review.assign",
        "assessment",
        review.assessment_id,
        actor=by,
        before={"certifier": before},
        after={"certifier": certifier_id, "username": certifier.username if certifier else ""},
    )
    return review


def _require_reviewer(session: Session, a: Assessment, review: Review, user: User) -> None:
    """The review is this certifier's, and no conflict was declared since it was assigned."""
    if user.role != Role.certifier or review.certifier_id != user.id:
        raise Forbidden(
            _problem(
                "not_assigned",
                "此评估未分配给您评审",
                "this assessment is not assigned to you for review",
            )
        )
    if conflict_between(session, user.id, a.enterprise_id) is not None:
        raise Forbidden(
            _problem(
                "conflict_of_interest",
                "您已申报与此企业存在利益冲突，不能评审此评估",
                "you have declared a conflict of interest with this enterprise and cannot "
                "review it",
            )
        )


def start_review(session: Session, a: Assessment, review: Review, user: User) -> None:
    """Take a submitted (or resubmitted) assessment into review. From here the enterprise can
    no longer withdraw it."""
    _require_reviewer(session, a, review, user)
    transition(session, a, Action.start_review, user.id, records={"round": review.round})
    if review.started_at is None:
        review.started_at = utcnow()
    review.version += 1
    session.add(review)
    session.flush()


# --- Decisions on answers ------------------------------------------------------------------


def items_of(session: Session, review: Review) -> dict[str, ReviewItem]:
    """Question id → the decision in force on it."""
    rows = session.exec(
        select(ReviewItem)
        .where(ReviewItem.review_id == review.id)
        .execution_options(populate_existing=True)
    )
    return {r.question: r for r in rows}


def _reason(text: str, zh: str, en: str, field: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid(_problem("reason", zh, en, field))
    if len(text) > MAX_REASON:
        raise Invalid(
            _problem(
                "reason_too_long",
                f"理由不超过 {MAX_REASON} 个字符",
                f"a reason has at most {MAX_REASON} characters",
                field,
            )
        )
    return text


def decide(
    session: Session,
    a: Assessment,
    review: Review,
    user: User,
    question: str,
    decision: Decision,
    *,
    value: Any = None,
    reason: str = "",
    base_version: int,
) -> ReviewItem:
    """Record the certifier's decision on one answer: accept it; adjust it (a valid new value
    that differs from the enterprise's, and a reason; the enterprise's answer is kept); or ask
    for evidence (with a note). ``base_version`` is the version of the decision the page showed
    (0: none); a stale one is refused with Conflict rather than overwriting a decision made in
    another tab."""
    _require_reviewer(session, a, review, user)
    if Status(a.status) is not Status.under_review:
        raise Locked(
            _problem(
                "not_in_review",
                "只有评审中的评估可以逐题评审；请先开始评审",
                "answers can be reviewed only while the assessment is under review; start the "
                "review first",
            )
        )
    spec = spec_of(a)
    if question not in spec.index or spec.questions[spec.index[question]].formula is not None:
        raise NotFound(_problem("unknown_question", "问卷中没有该题", "no such question", question))
    answers = answers_of(session, a)
    row = answers.get(question)
    stored = row.value if row is not None else None
    kept_value: Any = None
    if decision is Decision.adjusted:
        if value is None:
            raise Invalid(_problem("value", "请填写核定值", "give the adjusted value", "value"))
        kept_value = check_value(spec, question, value)
        if kept_value == stored:
            raise Invalid(
                _problem(
                    "same_value",
                    "核定值与企业的答案相同；如认可该答案，请选择“认可”",
                    "the adjusted value is the enterprise's own answer; accept it instead",
                    "value",
                )
            )
        reason = _reason(reason, "调整答案须说明理由", "an adjustment needs a reason")
    elif decision is Decision.evidence:
        reason = _reason(
            reason, "请说明需要企业补充哪些证明材料", "say which evidence the enterprise should add"
        )
    else:
        reason = (reason or "").strip()[:MAX_REASON]
    items = items_of(session, review)
    item = items.get(question)
    if (item.version if item else 0) != base_version:
        raise Conflict(
            _problem(
                "conflict",
                "该题的评审意见已在其他页面中被修改，请刷新后再试",
                "the decision on this answer was changed in another tab; reload and try again",
                question,
            ),
            ConflictDetail(
                question=question,
                value=item.value if item else None,
                comment=item.reason if item else "",
                version=item.version if item else 0,
                updated_at=item.at.isoformat() if item and item.at else "",
            ),
        )
    before = (
        None
        if item is None
        else {"decision": item.decision, "value": item.value, "reason": item.reason}
    )
    if item is None:
        item = ReviewItem(review_id=review.id or 0, question=question, decision=decision)
    else:
        item.version += 1
    item.decision = decision
    item.value = kept_value
    item.reason = reason
    item.answer_version = row.version if row is not None else 0
    item.round = review.round
    item.by_user = user.id
    item.at = utcnow()
    session.add(item)
    session.flush()
    audit.record(
        session,
        "review.decide",
        "assessment",
        a.id,
        actor=user,
        before=before,
        after={
            "question": question,
            "decision": decision,
            "value": kept_value,
            "answer": stored,
            "reason": reason,
        },
        reason=reason,
    )
    return item


def decide_from_form(
    session: Session,
    a: Assessment,
    review: Review,
    user: User,
    question: str,
    fields: Mapping[str, Sequence[str]],
) -> ReviewItem:
    """``decide`` as the review page sends it: ``decision``, ``reason``, ``version`` and, for an
    adjustment, the question's value fields (as on the filling page)."""
    _require_reviewer(session, a, review, user)
    spec = spec_of(a)
    if question not in spec.index:
        raise NotFound(_problem("unknown_question", "问卷中没有该题", "no such question", question))
    raw = single(fields, "decision", question)
    try:
        decision = Decision(raw)
    except ValueError:
        raise Invalid(
            _problem("decision", "请选择评审意见", "choose a decision", "decision")
        ) from None
    base = read_int(single(fields, "version", question) or "0", question, "版本号", "version")
    value = None
    if decision is Decision.adjusted:
        value = value_from_form(spec.questions[spec.index[question]], fields)
    return decide(
        session,
        a,
        review,
        user,
        question,
        decision,
        value=value,
        reason=single(fields, "reason", question),
        base_version=base,
    )


def reviewed_values(session: Session, a: Assessment, review: Review) -> dict[str, Any]:
    """The answers as certified: the enterprise's stored values with each adjusted value put in
    its place."""
    values = stored_values(session, a)
    for q, item in items_of(session, review).items():
        if item.decision == Decision.adjusted:
            values[q] = item.value
    return {k: v for k, v in values.items() if v is not None}


def stale_items(session: Session, a: Assessment, review: Review) -> list[str]:
    """The questions whose decision was made on an answer the enterprise has changed since."""
    answers = answers_of(session, a)
    out = []
    for q, item in items_of(session, review).items():
        row = answers.get(q)
        if (row.version if row is not None else 0) != item.answer_version:
            out.append(q)
    return out


# --- Returning, resubmitting ---------------------------------------------------------------


def return_to_enterprise(
    session: Session, a: Assessment, review: Review, user: User, note: str
) -> ReviewRound:
    """Send the assessment back with the items to act on: the evidence requests and
    adjustments of this round, and a note. Its answers as they stand are kept, so that the next
    round shows what changed."""
    _require_reviewer(session, a, review, user)
    items = items_of(session, review)
    order = spec_of(a).index  # in the questionnaire's order
    acting = [
        {"question": q, "decision": i.decision, "reason": i.reason, "value": i.value}
        for q, i in sorted(items.items(), key=lambda qi: order.get(qi[0], len(order)))
        if i.decision in (Decision.evidence, Decision.adjusted)
    ]
    if not acting:
        raise Invalid(
            _problem(
                "nothing_to_act_on",
                "退回前请至少对一道题要求补充证明材料或调整答案",
                "before returning it, ask for evidence on, or adjust, at least one answer",
            )
        )
    note = _reason(note, "请填写退回说明", "write a note for the enterprise", "note")
    transition(
        session,
        a,
        Action.return_,
        user.id,
        reason=note,
        records={"round": review.round, "items": [i["question"] for i in acting]},
    )
    snapshot = {q: [r.value, r.comment, r.version] for q, r in answers_of(session, a).items()}
    rnd = ReviewRound(
        review_id=review.id or 0,
        round=review.round,
        note=note,
        items=audit.plain(acting),
        answers=snapshot,
        returned_by=user.id,
    )
    session.add(rnd)
    review.version += 1
    session.add(review)
    session.flush()
    return rnd


def latest_round(session: Session, review: Review) -> ReviewRound | None:
    """The latest return to the enterprise, if any."""
    q = select(ReviewRound).where(ReviewRound.review_id == review.id)
    return session.exec(q.order_by(col(ReviewRound.round).desc())).first()


@dataclass(frozen=True)
class Change:
    """An answer (or its comment, or its evidence) that changed since the last return."""

    question: str
    before: Any
    after: Any
    comment_before: str
    comment_after: str
    value_changed: bool
    comment_changed: bool
    new_files: int


def changes_since_return(session: Session, a: Assessment, review: Review) -> list[Change]:
    """What the enterprise changed after the latest return: answers, comments, new files."""
    rnd = latest_round(session, review)
    if rnd is None:
        return []
    before: dict[str, list[Any]] = rnd.answers or {}
    now = answers_of(session, a)
    files: dict[str, int] = {}
    for e in session.exec(
        select(Evidence).where(
            Evidence.assessment_id == a.id, col(Evidence.uploaded_at) > rnd.returned_at
        )
    ):
        files[e.question] = files.get(e.question, 0) + 1
    out = []
    for q in sorted(set(before) | set(now) | set(files)):
        old = before.get(q, [None, "", 0])
        row = now.get(q)
        new_value = row.value if row is not None else None
        new_comment = row.comment if row is not None else ""
        value_changed = new_value != old[0]
        comment_changed = (new_comment or "") != (old[1] or "")
        if value_changed or comment_changed or files.get(q):
            out.append(
                Change(
                    q,
                    old[0],
                    new_value,
                    old[1] or "",
                    new_comment or "",
                    value_changed,
                    comment_changed,
                    files.get(q, 0),
                )
            )
    return out


def resubmit(session: Session, a: Assessment, review: Review, user: User) -> ScoreCard:
    """The enterprise sends the returned assessment back to its certifier: its own score is
    computed again from its answers as they now stand, and the review's next round begins."""
    session.refresh(a, with_for_update=True)
    spec = spec_of(a)
    values = stored_values(session, a)
    try:
        card = score(spec, values)
    except AnswerErrors as exc:
        raise Invalid([Problem(e.code, e.zh, e.en, e.question) for e in exc.errors]) from None
    if card.missing_required:
        raise Invalid(
            _problem(
                "missing_required",
                f"还有 {len(card.missing_required)} 道必答题未作答",
                f"{len(card.missing_required)} required question(s) are still unanswered",
            )
        )
    changed = [c.question for c in changes_since_return(session, a, review)]
    transition(
        session,
        a,
        Action.resubmit,
        user.id,
        records={"round": review.round, "changed": changed},
    )
    rnd = latest_round(session, review)
    if rnd is not None:
        rnd.resubmitted_at = utcnow()
        session.add(rnd)
    review.round += 1
    review.version += 1
    session.add(review)
    store_card(session, a, card, values)
    session.flush()
    return card


# --- Certifying, refusing ------------------------------------------------------------------


def certify_problems(session: Session, a: Assessment, review: Review) -> list[Problem]:
    """What still stands in the way of certifying: open evidence requests, and decisions made
    on answers the enterprise has changed since."""
    problems = []
    open_requests = [
        q for q, i in items_of(session, review).items() if i.decision == Decision.evidence
    ]
    if open_requests:
        problems.append(
            _problem(
                "evidence_open",
                f"还有 {len(open_requests)} 项证明材料要求未处理：请认可或调整这些答案，或退回企业",
                f"{len(open_requests)} evidence request(s) are still open: accept or adjust "
                "those answers, or return the assessment to the enterprise",
            )
        )
    stale = stale_items(session, a, review)
    if stale:
        problems.append(
            _problem(
                "stale_decisions",
                f"企业修改了 {len(stale)} 道已评审的答案：请重新评审这些题",
                f"the enterprise changed {len(stale)} answer(s) after your decision: review them "
                "again",
            )
        )
    return problems


@dataclass(frozen=True)
class Certified:
    card: ScoreCard
    adjusted: int


def certify(session: Session, a: Assessment, review: Review, user: User) -> Certified:
    """Certify: the certified ScoreCard is computed from the reviewed answers and stored as its
    own kind, never to change. The caller issues the certificate in the same transaction."""
    _require_reviewer(session, a, review, user)
    if not can(Action.certify, a.status):
        raise Locked(
            _problem(
                "not_in_review",
                "只有评审中的评估可以认定",
                "only an assessment under review can be certified",
            )
        )
    problems = certify_problems(session, a, review)
    if problems:
        raise Invalid(problems)
    exists = session.exec(
        select(ScoreRecord.id).where(
            ScoreRecord.assessment_id == a.id, ScoreRecord.kind == ScoreKind.certified
        )
    ).first()
    if exists is not None:
        raise Locked(_problem("certified", "此评估已认定", "this assessment is already certified"))
    values = reviewed_values(session, a, review)
    try:
        card = score(spec_of(a), values)
    except AnswerErrors as exc:
        raise Invalid([Problem(e.code, e.zh, e.en, e.question) for e in exc.errors]) from None
    adjusted = sum(1 for i in items_of(session, review).values() if i.decision == Decision.adjusted)
    transition(
        session,
        a,
        Action.certify,
        user.id,
        records={"overall": round(card.overall, 2), "stage": card.stage, "adjusted": adjusted},
    )
    store_card(session, a, card, values, kind=ScoreKind.certified)
    review.decided_at = utcnow()
    review.version += 1
    session.add(review)
    session.flush()
    return Certified(card, adjusted)


def reject(session: Session, a: Assessment, review: Review, user: User, reason: str) -> None:
    """Refuse certification, with the reasons. The enterprise's own submission stands."""
    _require_reviewer(session, a, review, user)
    reason = _reason(reason, "不予认定须说明理由", "a refusal needs its reasons")
    transition(session, a, Action.reject, user.id, reason=reason, records={"round": review.round})
    review.reason = reason
    review.decided_at = utcnow()
    review.version += 1
    session.add(review)
    session.flush()


def certify_and_issue(
    session: Session, a: Assessment, review: Review, user: User, settings: Settings, today: date
) -> Certificate:
    """Certify the assessment and issue its certificate, in one transaction: the certificate's
    number is recorded with the certification in the audit trail."""
    done = certify(session, a, review, user)
    cert = issue(session, a, review, done.card.overall, done.card.stage, user, settings, today)
    audit.record(
        session,
        "assessment.certificate",
        "assessment",
        a.id,
        actor=user,
        after={"certificate": cert.number, "expires_on": cert.expires_on},
    )
    return cert
