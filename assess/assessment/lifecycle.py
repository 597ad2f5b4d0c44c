"""The yearly assessment: start, answer (with optimistic concurrency), score, submit, withdraw.

Each function takes a Session and leaves committing to the caller, so that a refused request
writes nothing: every check runs before the first change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from assess.analytics.derived import derived_fields
from assess.assessment import filling
from assess.errors import Conflict, ConflictDetail, Forbidden, Invalid, Locked, NotFound, Problem
from assess.forms import read_int, single, value_from_form
from assess.questionnaire.compile import shipped_catalog, spec_for
from assess.store import audit
from assess.store.models import (
    EDITABLE,
    Answer,
    Assessment,
    Cluster,
    Enterprise,
    ScoreKind,
    ScoreRecord,
    Status,
    StatusChange,
    User,
    utcnow,
)
from assess.store.states import TRANSITIONS, Action
from scoring import LINKS, NA, AnswerErrors, ScoreCard, Spec, score
from scoring.answers import encode_value

#: The first year an assessment may be opened for where the enterprise's region has no profile
#: in the catalogue (the shipped region's baseline year).
FIRST_YEAR = 2013
MAX_COMMENT = 2000


def current_year() -> int:
    """The latest year an assessment may be opened for."""
    return datetime.now(UTC).year


def year_span(session: Session, enterprise: Enterprise) -> tuple[int, int]:
    """The first and last year the enterprise's region lets an assessment be opened for."""
    # The region's plan is measured against its baseline year and runs period_start–period_end,
    # but firms keep assessing themselves after the plan ends: every year up to this one stays
    # open (never a future year: it has no figures yet).
    region_id = session.exec(
        select(Cluster.region_id).where(Cluster.id == enterprise.cluster_id)
    ).first()
    region = shipped_catalog().regions.get(region_id or "")
    if region is None:
        return FIRST_YEAR, current_year()
    first = min(region.period_start, region.targets.adoption_baseline.year)
    return first, max(first, current_year())


@dataclass(frozen=True)
class YearChoice:
    """The years an enterprise may still start an assessment for, and the one to propose."""

    years: list[int]  # newest first
    default: int | None


def open_years(session: Session, enterprise: Enterprise, taken: set[int]) -> YearChoice:
    """The region's years not yet taken, proposing the first one after the latest assessment."""
    first, last = year_span(session, enterprise)
    years = [y for y in range(last, first - 1, -1) if y not in taken]
    latest = max(taken, default=None)
    after = [y for y in years if latest is not None and y > latest]
    # Nothing follows the latest (or there is none yet): the newest open year.
    default = min(after) if after else (years[0] if years else None)
    return YearChoice(years, default)


def spec_of(a: Assessment) -> Spec:
    """The questionnaire the assessment is pinned to; refuses one whose content changed."""
    spec = spec_for(a.questionnaire, a.questionnaire_version, a.year)
    if spec.content_hash != a.content_hash:  # the lock file forbids this; never score on it
        raise RuntimeError(
            f"questionnaire {a.questionnaire} v{a.questionnaire_version} no longer matches the "
            f"content hash assessment {a.id} was pinned to"
        )
    return spec


def get_assessment(session: Session, assessment_id: int) -> Assessment:
    """The assessment, or NotFound."""
    a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(Problem("not_found", "评估不存在", "no such assessment"))
    return a


def assessments_of(session: Session, enterprise_id: int) -> list[Assessment]:
    """An enterprise's assessments, newest year first."""
    q = select(Assessment).where(Assessment.enterprise_id == enterprise_id)
    return list(session.exec(q.order_by(col(Assessment.year).desc())))


def _history(
    session: Session, a: Assessment, old: str | None, new: str, by: int | None, note: str = ""
) -> None:
    session.add(
        StatusChange(assessment_id=a.id or 0, from_status=old, to_status=new, by_user=by, note=note)
    )


def start_assessment(
    session: Session,
    enterprise: Enterprise,
    year: int,
    *,
    by_user: int | None,
    copy_last_year: bool = False,
    version: int | None = None,
) -> Assessment:
    """Open the enterprise's assessment for ``year`` on its sector's current questionnaire (the
    latest published version, unless ``version`` names another one).

    With ``copy_last_year`` the answers and comments of the latest earlier assessment are copied
    where the question still exists (same id: same question) and the answer is still valid;
    see ``version_change`` for what that leaves to answer.
    """
    first, last = year_span(session, enterprise)
    if not first <= year <= last:
        raise Invalid(
            Problem(
                "year",
                f"评估年度应在 {first}–{last} 之间",
                f"the assessment year must be between {first} and {last}",
                "year",
            )
        )
    taken = session.exec(
        select(Assessment.id).where(
            Assessment.enterprise_id == enterprise.id, Assessment.year == year
        )
    ).first()
    if taken is not None:
        raise Locked(
            Problem(
                "year_taken",
                f"{year} 年度的评估已存在",
                f"there is already an assessment for {year}",
                "year",
            ),
            assessment_id=taken,
        )
    if version is None:
        version = shipped_catalog().versions()[enterprise.sector][-1]
        # A firm never goes back to an older version than its previous year's. (Only the demo
        # has assessments on a version still in draft; a new year of it stays on that draft.)
        before = session.exec(
            select(Assessment.questionnaire_version)
            .where(
                Assessment.enterprise_id == enterprise.id,
                Assessment.questionnaire == enterprise.sector,
                Assessment.year < year,
            )
            .order_by(col(Assessment.year).desc())
        ).first()
        version = max(version, before or 0)
    spec = spec_for(enterprise.sector, version, year)
    a = Assessment(
        enterprise_id=enterprise.id or 0,
        year=year,
        questionnaire=enterprise.sector,
        questionnaire_version=version,
        content_hash=spec.content_hash,
    )
    session.add(a)
    session.flush()
    _history(session, a, None, Status.draft, by_user)
    actor = session.get(User, by_user) if by_user is not None else None
    audit.record(
        session,
        "assessment.start",
        "assessment",
        a.id,
        actor=actor,
        after={"status": Status.draft, "year": year, "version": version},
    )
    if copy_last_year:
        _copy_previous(session, a, spec, by_user)
    session.flush()
    return a


def previous_assessment(session: Session, a: Assessment) -> Assessment | None:
    """The firm's latest assessment before this one's year, if any."""
    return session.exec(
        select(Assessment)
        .where(Assessment.enterprise_id == a.enterprise_id, Assessment.year < a.year)
        .order_by(col(Assessment.year).desc())
    ).first()


def _copy_previous(session: Session, a: Assessment, spec: Spec, by_user: int | None) -> int:
    prev = previous_assessment(session, a)
    if prev is None:
        return 0
    copied = 0
    by_id = {q.id: q for q in spec.questions}
    new_version = prev.questionnaire_version != a.questionnaire_version
    for old in session.exec(select(Answer).where(Answer.assessment_id == prev.id)):
        q = by_id.get(old.question)
        if q is None or old.value is None or encode_value(q, old.value)[2] is not None:
            continue
        if new_version and old.value == NA:
            continue  # a new version says afresh when N/A is allowed: the firm answers again
        session.add(
            Answer(
                assessment_id=a.id or 0,
                question=old.question,
                value=old.value,
                comment=old.comment,
                updated_by=by_user,
            )
        )
        copied += 1
    return copied


@dataclass(frozen=True)
class VersionChange:
    """The assessment is on another questionnaire version than the firm's year before: what
    carried over from that year and which questions need an answer of their own."""

    previous_year: int
    previous_version: int
    version: int
    carried: int  # answers equal to last year's, on questions both versions ask
    to_answer: list[str]  # question ids shown now, asked differently or not at all last year


def version_change(session: Session, a: Assessment) -> VersionChange | None:
    """How this assessment's questionnaire differs from the one of the firm's previous year."""
    prev = previous_assessment(session, a)
    if prev is None or prev.questionnaire_version == a.questionnaire_version:
        return None
    old = {r.question: r.value for r in answers_of(session, prev).values()}
    now = {r.question: r.value for r in answers_of(session, a).values()}
    spec = spec_of(a)
    before = spec_of(prev).index
    carried = sum(1 for qid, v in now.items() if v is not None and old.get(qid) == v)
    # New or changed: not asked last year, or answered last year in a way this version no
    # longer takes (so it was not carried over); and not answered yet.
    to_answer = [
        q.id
        for q in spec.questions
        if q.formula is None
        and (q.scored or q.required)
        and now.get(q.id) is None
        and (q.id not in before or old.get(q.id) is not None)
    ]
    return VersionChange(
        prev.year, prev.questionnaire_version, a.questionnaire_version, carried, to_answer
    )


def answers_of(session: Session, a: Assessment) -> dict[str, Answer]:
    """Question id → stored answer row (value None means cleared).

    Rows already in the session are refreshed: answers are saved with plain UPDATEs.
    """
    rows = session.exec(
        select(Answer).where(Answer.assessment_id == a.id).execution_options(populate_existing=True)
    )
    return {r.question: r for r in rows}


def answers_to(session: Session, a: Assessment, questions: Iterable[str]) -> dict[str, Answer]:
    """The stored answer rows of some questions only (question id → row)."""
    ids = list(questions)
    if not ids:
        return {}
    rows = session.exec(
        select(Answer)
        .where(Answer.assessment_id == a.id, col(Answer.question).in_(ids))
        .execution_options(populate_existing=True)
    )
    return {r.question: r for r in rows}


def raw_answers(answers: dict[str, Answer]) -> dict[str, Any]:
    """The answers as the scoring engine takes them (cleared ones left out)."""
    return {k: r.value for k, r in answers.items() if r.value is not None}


def card_of(session: Session, a: Assessment) -> ScoreCard:
    """The ScoreCard of the answers as they stand now."""
    return score(spec_of(a), stored_values(session, a))


def _not_editable(status: str | None = None) -> Locked:
    """Locked, saying why the answers cannot change in ``status`` (the submitted case when the
    status is not known: the row changed under the request)."""
    st = Status(status) if status else Status.submitted
    if st.in_review:
        return Locked(
            Problem(
                "not_editable",
                "评估正在评定评审中，答案已锁定；评定人员退回后方可修改",
                "this assessment is under certification review and its answers are locked until "
                "the certifier returns it",
            )
        )
    if st.final:
        return Locked(
            Problem(
                "not_editable",
                "评估的评定已结束，答案不能再修改",
                "this assessment's certification has ended; its answers can no longer change",
            )
        )
    return Locked(
        Problem(
            "not_editable",
            "评估已提交，答案已锁定；如需修改请先撤回",
            "this assessment has been submitted and its answers are locked; withdraw it first",
        )
    )


def _require_editable(a: Assessment) -> None:
    if not Status(a.status).editable:
        raise _not_editable(a.status)


@dataclass(frozen=True)
class Saved:
    """The stored answer after a save."""

    question: str
    value: Any
    comment: str
    version: int


def check_value(spec: Spec, question: str, value: Any) -> Any:
    """The value if it is a valid answer to ``question``; Invalid with the reason otherwise.

    Numbers arrive from forms as text; they are read here so that "12.5" means 12.5.
    """
    q = spec.questions[spec.index[question]] if question in spec.index else None
    if q is None:
        raise NotFound(Problem("unknown_question", "问卷中没有该题", "no such question", question))
    if value is None:
        return None
    _, _, err = encode_value(q, value)
    if err is not None:
        raise Invalid(Problem(err.code, err.zh, err.en, question))
    return value


def save_answer(
    session: Session,
    a: Assessment,
    question: str,
    value: Any,
    comment: str,
    *,
    base_version: int,
    by_user: int | None,
) -> Saved:
    """Store one answer and its comment, if nobody changed it since ``base_version``.

    ``base_version`` is the version the page showed: 0 when it showed no stored answer. A stale
    base is refused with Conflict carrying the stored answer, so nothing is overwritten unseen.
    The version check is part of the UPDATE, so two workers cannot both win; the "still a
    draft" check is part of the assessment's UPDATE, made first, so a save and a submission
    cannot overlap (see submit).
    """
    _require_editable(a)  # the page's own copy: refuse early without writing
    spec = spec_of(a)
    value = check_value(spec, question, value)
    comment = comment or ""
    if len(comment) > MAX_COMMENT:
        raise Invalid(
            Problem(
                "comment_too_long",
                f"备注不超过 {MAX_COMMENT} 个字符（当前 {len(comment)}）",
                f"a comment has at most {MAX_COMMENT} characters (this one has {len(comment)})",
                question,
            )
        )
    now = utcnow()
    # Touch the assessment first, only while it is a draft: this row lock is what submit waits
    # for, so an answer is written either before a submission reads them all, or not at all.
    _touch_draft(session, a, now)
    params = {
        "b_assessment": a.id,
        "b_question": question,
        "b_version": base_version,
        "b_value": value,
        "b_comment": comment,
        "b_by": by_user,
        "b_at": now,
    }
    # Version 0: the page showed no stored answer, so insert, unless another request came first.
    # Otherwise the version check is part of the UPDATE, so two workers cannot both win.
    insert = _INSERT_ANSWER[session.get_bind().dialect.name]
    stmt = insert if base_version == 0 else _UPDATE_ANSWER
    stored = session.execute(stmt, params).scalar_one_or_none()
    if stored is None:
        row = session.exec(
            select(Answer)
            .where(Answer.assessment_id == a.id, Answer.question == question)
            .execution_options(populate_existing=True)
        ).first()
        if row is None:  # the page showed an answer that no longer exists: cannot happen today
            raise NotFound(Problem("answer_gone", "答案不存在", "the answer no longer exists"))
        raise _conflict(row)
    return Saved(question, value, comment, int(stored))


# The statements of the autosave path, built once: it runs on every answer typed.
_ANSWER = cast(sa.Table, sa.inspect(Answer).local_table)
_A = _ANSWER.c
_ANSWER_FIELDS = {
    "value": sa.bindparam("b_value", type_=_A.value.type),
    "comment": sa.bindparam("b_comment", type_=_A.comment.type),
    "updated_by": sa.bindparam("b_by", type_=_A.updated_by.type),
    "updated_at": sa.bindparam("b_at", type_=_A.updated_at.type),
}
_UPDATE_ANSWER = (
    sa.update(_ANSWER)
    .where(
        _A.assessment_id == sa.bindparam("b_assessment", type_=_A.assessment_id.type),
        _A.question == sa.bindparam("b_question", type_=_A.question.type),
        _A.version == sa.bindparam("b_version", type_=_A.version.type),
    )
    .values(version=_A.version + 1, **_ANSWER_FIELDS)
    .returning(_A.version)
)
_INSERT_ANSWER = {
    name: dialect.insert(_ANSWER)
    .values(
        assessment_id=sa.bindparam("b_assessment", type_=_A.assessment_id.type),
        question=sa.bindparam("b_question", type_=_A.question.type),
        version=1,
        **_ANSWER_FIELDS,
    )
    .on_conflict_do_nothing(index_elements=["assessment_id", "question"])
    .returning(_A.version)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_ASSESSMENT = cast(sa.Table, sa.inspect(Assessment).local_table)
_TOUCH = (
    sa.update(_ASSESSMENT)
    .where(
        _ASSESSMENT.c.id == sa.bindparam("b_id", type_=_ASSESSMENT.c.id.type),
        _ASSESSMENT.c.status.in_(sorted(EDITABLE)),
    )
    .values(updated_at=sa.bindparam("b_at", type_=_ASSESSMENT.c.updated_at.type))
)
#: All of an assessment's answers as one JSON object (question → value), in one row: on the
#: autosave path this is much cheaper than decoding a row per answer.
_STORED_VALUES = {
    name: sa.select(sa.type_coerce(aggregate, sa.JSON)).where(
        _A.assessment_id == sa.bindparam("b_assessment", type_=_A.assessment_id.type)
    )
    for name, aggregate in (
        ("sqlite", sa.func.json_group_object(_A.question, sa.func.json(_A.value))),
        ("postgresql", sa.func.json_object_agg(_A.question, _A.value)),
    )
}


def stored_values(session: Session, a: Assessment) -> dict[str, Any]:
    """Question id → stored value, as the scoring engine takes them (cleared ones left out).

    Reads the values only, as one aggregate (the autosave path calls it on every save); use
    answers_of where comments and versions are needed too.
    """
    stmt = _STORED_VALUES[session.get_bind().dialect.name]
    values = session.execute(stmt, {"b_assessment": a.id}).scalar_one()
    return {q: v for q, v in (values or {}).items() if v is not None}


@dataclass(frozen=True)
class FormSave:
    """One autosave: the answer stored, every stored value after it (for the preview), and the
    rows of the questions whose visibility it may change (what the page redraws)."""

    saved: Saved
    values: dict[str, Any]
    dependents: tuple[str, ...]
    rows: dict[str, Answer]


def save_from_form(
    session: Session,
    a: Assessment,
    question: str,
    fields: Mapping[str, list[str]],
    *,
    by_user: int | None,
) -> FormSave:
    """Save one answer as the filling page sends it (its fields, and the version the page saw,
    or the other value it chose to overwrite), then read what the page shows next.

    Raises Invalid for a refused field or value, Conflict when the answer changed meanwhile,
    Locked when the assessment is no longer a draft. The caller commits.
    """
    spec = spec_of(a)
    override = single(fields, "version_override", question)
    sent = override or single(fields, "version", question) or "0"
    base = read_int(sent, question, "版本号", "version")
    comment = single(fields, "comment", question)
    value = value_from_form(spec.questions[spec.index[question]], fields)
    saved = save_answer(session, a, question, value, comment, base_version=base, by_user=by_user)
    follow = filling.dependents(spec, question)
    return FormSave(saved, stored_values(session, a), follow, answers_to(session, a, follow))


def _conflict(row: Answer) -> Conflict:
    return Conflict(
        Problem(
            "conflict",
            "该题已在其他页面或会话中被修改，请选择保留哪个值",
            "this answer was changed in another tab or session; choose which value to keep",
            row.question,
        ),
        ConflictDetail(
            question=row.question,
            value=row.value,
            comment=row.comment,
            version=row.version,
            updated_at=row.updated_at.isoformat() if row.updated_at else "",
        ),
    )


def _touch_draft(session: Session, a: Assessment, now: datetime) -> None:
    """Record that the assessment's answers change, if it is still a draft (Locked if not),
    without loading or flushing anything. The row stays locked until the transaction ends."""
    result = session.execute(_TOUCH, {"b_id": a.id, "b_at": now})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _not_editable()
    set_committed_value(a, "updated_at", now)


def score_fields(card: ScoreCard, year: int, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The ScoreRecord columns of a card: headline figures, what the analytics read (per-link
    adoption, failed checks, the answers' digest, national-indicator values), and the whole card
    as JSON."""
    fields: dict[str, Any] = {
        **derived_fields(card, year, answers),
        "content_hash": card.content_hash,
        "overall": card.overall,
        "stage": card.stage,
        "it_adopter": card.it_adopter,
        "it_links": len(card.it_links),
        "missing_required": len(card.missing_required),
        "card": card.model_dump(mode="json"),
    }
    for k in LINKS:
        fields[f"link_{k}"] = card.links[k]
    for k, v in card.aspects.items():
        fields[f"aspect_{k}"] = v
    return fields


def store_card(
    session: Session,
    a: Assessment,
    card: ScoreCard,
    answers: Mapping[str, Any],
    kind: str = ScoreKind.self_reported,
) -> None:
    """Keep the ScoreCard with the assessment (one per kind), headline figures as columns."""
    rec = session.exec(
        select(ScoreRecord).where(ScoreRecord.assessment_id == a.id, ScoreRecord.kind == kind)
    ).first()
    fields = {**score_fields(card, a.year, answers), "computed_at": utcnow()}
    if rec is None:
        rec = ScoreRecord(assessment_id=a.id or 0, kind=kind, **fields)
    else:
        for k, v in fields.items():
            setattr(rec, k, v)
    session.add(rec)


#: What each action says when the assessment's status does not allow it.
_REFUSED: dict[Action, tuple[str, str, str]] = {
    Action.submit: (
        "not_editable",
        "评估已提交，答案已锁定；如需修改请先撤回",
        "this assessment has been submitted and its answers are locked; withdraw it first",
    ),
    Action.withdraw: (
        "not_withdrawable",
        "只有已提交且尚未开始评审的评估可以撤回",
        "only a submitted assessment whose review has not started can be withdrawn",
    ),
    Action.start_review: (
        "not_reviewable",
        "只有已提交或已重新提交的评估可以开始评审",
        "only a submitted or resubmitted assessment can be taken into review",
    ),
    Action.return_: (
        "not_in_review",
        "只有评审中的评估可以退回企业",
        "only an assessment under review can be returned to the enterprise",
    ),
    Action.resubmit: (
        "not_returned",
        "只有被退回的评估可以重新提交",
        "only an assessment returned for action can be resubmitted",
    ),
    Action.certify: (
        "not_in_review",
        "只有评审中的评估可以认定",
        "only an assessment under review can be certified",
    ),
    Action.reject: (
        "not_in_review",
        "只有评审中的评估可以不予认定",
        "only an assessment under review can be refused certification",
    ),
}


def transition(
    session: Session,
    a: Assessment,
    action: Action,
    by_user: int | None,
    *,
    reason: str = "",
    records: Mapping[str, Any] | None = None,
) -> Status:
    """Take ``action`` on the assessment, as the state machine (assess.store.states) allows:
    refused with Locked if its status does not, Forbidden if the user's role may not. The
    status moves only if it is still what was read and the row was not changed meanwhile; the
    change is kept in the status history and the audit trail, with ``records`` (the facts the
    transition table names) and the reason. ``by_user`` None is the system itself."""
    t = TRANSITIONS[action]
    old = Status(a.status)
    if old not in t.sources:
        raise Locked(Problem(*_REFUSED[action]))
    actor = session.get(User, by_user) if by_user is not None else None
    if actor is not None and actor.role not in t.roles:
        raise Forbidden(
            Problem(
                "role",
                "您的角色无权进行此操作",
                "your role may not take this action",
            )
        )
    if t.reason_required and not reason.strip():
        raise Invalid(Problem("reason", "请填写理由", "give the reason", "reason"))
    result = session.execute(
        sa.update(Assessment)
        .where(
            col(Assessment.id) == a.id,
            col(Assessment.status) == old,
            col(Assessment.version) == a.version,
        )
        .values(status=t.target, version=a.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Locked(
            Problem(
                "status_changed",
                "评估状态已被他人更改，请刷新",
                "the assessment's status was changed meanwhile; reload the page",
            )
        )
    session.refresh(a)
    note = "withdrawn" if action is Action.withdraw else action.value
    _history(session, a, old, t.target, by_user, note)
    audit.record(
        session,
        f"assessment.{action.value}",
        "assessment",
        a.id,
        actor=actor,
        before={"status": old},
        after={"status": t.target, **(records or {})},
        reason=reason,
    )
    return t.target


def missing_required(spec: Spec, card: ScoreCard) -> list[dict[str, str]]:
    """The missing required answers, with their texts, for the submit page."""
    out = []
    for qid in card.missing_required:
        q = spec.questions[spec.index[qid]]
        out.append({"question": qid, "zh": q.text_zh, "en": q.text_en})
    return out


def missing_reasons(session: Session, a: Assessment, card: ScoreCard) -> list[dict[str, str]]:
    """The N/A and exemption answers still without a reason, for the submit page."""
    if not card.exemptions:
        return []
    rows = answers_to(session, a, [e.question for e in card.exemptions])
    spec = spec_of(a)
    out = []
    for e in card.exemptions:
        row = rows.get(e.question)
        if row is not None and row.comment.strip():
            continue
        q = spec.questions[spec.index[e.question]]
        if e.kind == "na":
            zh, en = "选择了“不适用”，需说明理由", "marked N/A: give the reason"
        else:
            n = len(e.leaves_out)
            zh = f"此答案使 {n} 道计分题不计入，需说明依据"
            en = f"this answer leaves {n} scored question(s) out: give what supports it"
        out.append(
            {"question": e.question, "zh": f"{q.text_zh}（{zh}）", "en": f"{q.text_en} ({en})"}
        )
    return out


def submit(session: Session, a: Assessment, *, pledge: bool, by_user: int | None) -> ScoreCard:
    """Submit for review: needs the truthfulness pledge and every required answer; locks them."""
    # Lock the assessment row before reading the answers: a save holding it (see save_answer)
    # is waited for and then read; a save coming later finds the assessment submitted.
    session.refresh(a, with_for_update=True)
    _require_editable(a)
    spec = spec_of(a)
    values = stored_values(session, a)
    try:
        card = score(spec, values)
    except AnswerErrors as exc:  # stored answers are validated on save; refuse, never guess
        raise Invalid([Problem(e.code, e.zh, e.en, e.question) for e in exc.errors]) from None
    problems = []
    if not pledge:
        problems.append(
            Problem(
                "pledge",
                "提交前请勾选承诺：所填信息真实、准确、完整",
                "tick the pledge that the answers are true, accurate and complete",
                "pledge",
            )
        )
    if card.missing_required:
        problems.append(
            Problem(
                "missing_required",
                f"还有 {len(card.missing_required)} 道必答题未作答",
                f"{len(card.missing_required)} required question(s) are still unanswered",
            )
        )
    reasons = missing_reasons(session, a, card)
    if reasons:
        problems.append(
            Problem(
                "missing_reason",
                f"还有 {len(reasons)} 个“不适用”或豁免答案未说明理由",
                f"{len(reasons)} N/A or exemption answer(s) still need a reason",
            )
        )
    if problems:
        raise Invalid(problems, missing=missing_required(spec, card) + reasons)
    transition(
        session, a, Action.submit, by_user, records={"pledge": True, "overall": card.overall}
    )
    a.submitted_at = utcnow()
    a.pledged_by = by_user
    session.add(a)
    store_card(session, a, card, values)
    session.flush()
    return card


def withdraw(session: Session, a: Assessment, *, by_user: int | None) -> None:
    """Take a submitted assessment back to draft, until a review has started."""
    transition(session, a, Action.withdraw, by_user)
    a.submitted_at = None
    session.add(a)
    session.flush()


def history(session: Session, a: Assessment) -> list[StatusChange]:
    """The assessment's status changes, oldest first."""
    q = select(StatusChange).where(StatusChange.assessment_id == a.id)
    return list(session.exec(q.order_by(col(StatusChange.id))))
