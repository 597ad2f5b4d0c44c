"""What the report and the member lists show, as plain data: the card, peers, earlier years,
the stage rules in words, the trace by question number, and the what-if over any question.

Submitted assessments are reported from their stored ScoreCard, so a report stays what was
submitted. A draft is scored live and marked provisional.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from assess.analytics.peers import PeerPosition, peer_position
from assess.assessment.filling import (
    number_text,
    questionnaire_of,
    questionnaire_of_version,
    ratio_result,
    value_text,
)
from assess.assessment.lifecycle import answers_to, check_value, spec_of, stored_values
from assess.errors import Invalid, NotFound, Problem
from assess.forms import value_from_form
from assess.questionnaire.catalog import Questionnaire
from assess.questionnaire.schema import QuestionBase
from assess.store.models import Assessment, ScoreRecord, Status
from scoring import LINKS, NA, AnswerErrors, ScoreCard, score, what_if
from scoring.roadmap import Need
from scoring.stages import ConditionResult


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
    if Status(a.status).reported:
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


def peers_of(session: Session, a: Assessment, overall: float) -> PeerPosition:
    """Where the assessment's overall level stands among the same year's other counted
    assessments of its sector and of its cluster (each shown only with enough peers)."""
    return peer_position(session, a.enterprise_id, a.questionnaire, a.year, overall)


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
    version: int = 1  # the questionnaire version that scored it
    version_changed: bool = False  # scored on another version than the year before


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
    out: list[YearScore] = []
    for a, rec in session.exec(q):
        reported = rec is not None and Status(a.status).reported
        out.append(
            YearScore(
                assessment_id=a.id or 0,
                year=a.year,
                status=a.status,
                overall=rec.overall if reported and rec else None,
                links={k: getattr(rec, f"link_{k}") for k in LINKS} if reported and rec else {},
                stage=rec.stage if reported and rec else None,
                it_adopter=rec.it_adopter if reported and rec else None,
                version=a.questionnaire_version,
                version_changed=bool(out) and out[-1].version != a.questionnaire_version,
            )
        )
    return out


@dataclass(frozen=True)
class LevelContext:
    """A published figure about the level, on another caliber than this product's level."""

    value: float
    unit: str
    caliber: Text
    date: str
    source: str


def level_context(a: Assessment) -> list[LevelContext]:
    """The methodology's level references: shown beside the level as context, never on its
    scale (they are computed on the national system's own indicators and weights)."""
    refs = questionnaire_of(a).methodology.level_references
    return [
        LevelContext(r.value, r.unit, (r.caliber.zh, r.caliber.en), r.date, r.source) for r in refs
    ]


@dataclass(frozen=True)
class ReviewLine:
    """An answer the certifier should look at: an N/A or an exemption, with its reason."""

    question: str
    number: str
    text: Text
    kind: str  # na | exemption
    answer: Text
    reason: str  # "" when none was given
    leaves_out: list[str]  # the numbers of the scored questions it leaves out


@dataclass(frozen=True)
class FlagLine:
    """A check the answers failed."""

    numbers: list[str]
    text: Text
    key_system: bool


@dataclass(frozen=True)
class Review:
    """What the certifier reviews first: failed checks, N/A and exemptions with their worth."""

    flags: list[FlagLine]
    lines: list[ReviewLine]
    overall: tuple[float, float] | None  # now, and with every exempted question counted at 0
    groups: list[tuple[str, float | None, float | None]]  # group id, now, counted at 0

    @property
    def empty(self) -> bool:
        return not self.flags and not self.lines


def review_of(session: Session, a: Assessment, card: ScoreCard) -> Review:
    """The review section of a report, from the card and the reasons stored with the answers."""
    q = questionnaire_of(a)
    rows = answers_to(session, a, [e.question for e in card.exemptions])
    lines = []
    for e in card.exemptions:
        src = q.by_id[e.question]
        row = rows.get(e.question)
        answer = (
            ("不适用", "N/A")
            if e.kind == "na"
            else (
                value_text(src, e.answer, False),
                value_text(src, e.answer, True),
            )
        )
        lines.append(
            ReviewLine(
                question=e.question,
                number=q.numbers.get(e.question, ""),
                text=(src.text.zh, src.text.en),
                kind=e.kind,
                answer=answer,
                reason=row.comment.strip() if row is not None else "",
                leaves_out=[q.numbers.get(x, x) for x in e.leaves_out],
            )
        )
    flags = [
        FlagLine([q.numbers.get(x, x) for x in f.questions], (f.zh, f.en), f.key_system)
        for f in card.flags
    ]
    effect = card.exemption_effect
    return Review(
        flags=flags,
        lines=lines,
        overall=effect.overall if effect else None,
        groups=[(g, now, after) for g, (now, after) in effect.groups.items()] if effect else [],
    )


def plain(value: Any) -> Any:
    """A card value as text-friendly data (lists joined, None kept)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value


# --- The stage rules in words -------------------------------------------------------------------

Text = tuple[str, str]  # (zh, en)

#: What each stage-rule metric measures, as the subject of a sentence. Links and aspects take
#: their names from the methodology; these are the others.
_METRICS: dict[str, Text] = {
    "overall": ("总体水平", "Overall level"),
    "min_link": ("各环节中最低的得分", "Lowest link score"),
    "it_links": ("关键系统已在日常使用的环节", "Links with a key system in routine use"),
    "missing_required": ("未答的必填题", "Required questions unanswered"),
    "applicable_links": ("适用于本企业的环节", "Links that apply to the firm"),
    "links_without_it": (
        "关键系统未在日常使用的适用环节",
        "Links that apply without a key system in routine use",
    ),
}
#: Metrics that count things: shown as whole numbers ("4", never "4.0").
COUNT_METRICS = frozenset({"it_links", "missing_required", "applicable_links", "links_without_it"})
_SCORE_OPS: dict[str, Text] = {
    ">=": ("不低于", "at least"),
    ">": ("高于", "above"),
    "<=": ("不高于", "at most"),
    "<": ("低于", "below"),
    "==": ("等于", "exactly"),
}
_COUNT_OPS: dict[str, Text] = {
    ">=": ("不少于", "at least"),
    ">": ("多于", "more than"),
    "<=": ("不多于", "at most"),
    "<": ("少于", "fewer than"),
    "==": ("等于", "exactly"),
}
#: The stage given while required answers are missing: the report states it as a precondition.
GATE_STAGE = "undetermined"


def metric_name(metric: str, names: Names) -> Text:
    """What a stage-rule metric measures, in words."""
    kind, _, key = metric.partition(".")
    if kind == "link" and key in names.links:
        zh, en = names.links[key]
        return f"{zh}环节得分", f"{en} link score"
    if kind == "aspect" and key in names.aspects:
        zh, en = names.aspects[key]
        return f"{zh}得分", f"{en} score"
    return _METRICS.get(metric, (metric, metric))


def metric_value(metric: str, value: float | None) -> str:
    """A metric's value as shown: counts whole, scores to one decimal."""
    if value is None:
        return "—"
    if metric in COUNT_METRICS:
        return str(round(value))
    return f"{value:.1f}"


def condition_text(metric: str, op: str, value: float, names: Names) -> Text:
    """One stage condition as a plain sentence, e.g. 总体水平不低于 75 分."""
    if metric == "links_without_it" and op in ("<=", "==") and value == 0:
        return (
            "每个适用环节的关键系统均在日常使用",
            "A key system in routine use in every link that applies",
        )
    zh, en = metric_name(metric, names)
    count = metric in COUNT_METRICS
    op_zh, op_en = (_COUNT_OPS if count else _SCORE_OPS).get(op, (op, op))
    v = number_text(value)
    if count:
        return f"{zh}{op_zh} {v} 个", f"{en}: {op_en} {v}"
    return f"{zh}{op_zh} {v} 分", f"{en} {op_en} {v}"


def _gap_text(metric: str, gap: float | None) -> Text | None:
    if not gap:
        return None
    if metric in COUNT_METRICS:
        n = str(round(gap))
        return f"差 {n} 个", f"short by {n}"
    return f"差 {gap:.1f} 分", f"short by {gap:.1f}"


@dataclass(frozen=True)
class ConditionLine:
    """One condition of a stage rule, in words, with this assessment's actual value."""

    text: Text
    actual: str
    held: bool
    gap: Text | None


@dataclass(frozen=True)
class StageLine:
    """One stage of the ladder, whether its conditions all hold, and each condition."""

    stage: str
    name: Text
    held: bool
    current: bool
    conditions: list[ConditionLine]


@dataclass(frozen=True)
class StageWhy:
    """Why the assessment has its stage: the precondition on required answers, then the ladder."""

    gate: Text
    gate_held: bool
    lines: list[StageLine]


def _line(c: ConditionResult | Need, names: Names) -> ConditionLine:
    held = getattr(c, "held", False)
    return ConditionLine(
        condition_text(c.metric, c.op, c.value, names),
        metric_value(c.metric, c.actual),
        held,
        None if held else _gap_text(c.metric, c.gap),
    )


def stage_why(card: ScoreCard, names: Names) -> StageWhy:
    """The stage rules of the card in plain words, highest stage first."""
    missing = len(card.missing_required)
    undetermined = names.stages.get(GATE_STAGE, (GATE_STAGE, GATE_STAGE))
    if missing:
        gate = (
            f"还有 {missing} 道必填题未答，阶段为“{undetermined[0]}”；全部答完后才按下表判定阶段。",
            f"{missing} required questions are unanswered, so the stage is "
            f"“{undetermined[1]}”; it follows the table below once they are all answered.",
        )
    else:
        gate = (
            "必填题已全部作答，阶段按下表判定。",
            "Every required question is answered, so the stage follows the table below.",
        )
    lines = [
        StageLine(
            stage=r.stage,
            name=names.stages.get(r.stage, (r.stage, r.stage)),
            held=r.held,
            current=r.stage == card.stage,
            conditions=[_line(c, names) for c in r.conditions],
        )
        for r in card.stage_rules
        if r.stage != GATE_STAGE
    ]
    return StageWhy(gate, missing > 0, lines)


def next_stage_needs(card: ScoreCard, names: Names) -> list[ConditionLine]:
    """What the next stage up still needs, in words (empty at the top or when undetermined)."""
    if card.next_stage is None:
        return []
    return [_line(n, names) for n in card.next_stage.needs if not n.gap or n.gap > 0]


# --- Questions by their human number ------------------------------------------------------------


def _with_unit(x: float, unit: str) -> str:
    return f"{number_text(round(x, 2))}{'' if unit == '%' else ' '}{unit}"


def answer_text(q: QuestionBase, value: Any, stored: Any, en: bool) -> str:
    """An answer as the report shows it: options in words, numbers and ratios with their unit."""
    if value is None or value == NA:
        return value_text(q, value, en)
    kind = getattr(q, "type", "")
    if kind == "percentage" and not isinstance(value, bool):
        return _with_unit(float(value), "%")
    unit = getattr(q, "unit", None)
    if kind == "number" and unit is not None:
        return _with_unit(float(value), unit.en if en else unit.zh)
    if kind == "ratio" and unit is not None:
        # A stored answer is the two numbers: its result is shown as the filling page shows it.
        result = ratio_result(q, value) if isinstance(value, dict) else str(value)
        if not result:
            return value_text(q, value, en)
        text = _with_unit(float(result), unit.en if en else unit.zh)
        if isinstance(stored, dict):
            text += f" ({value_text(q, stored, en)})"
        return text
    return value_text(q, value, en)


@dataclass(frozen=True)
class TraceLine:
    """One scored question's part in the overall level."""

    number: str
    question: str
    text: Text
    group: str
    status: str
    answer: Text
    score: float
    points: float
    possible: float


@dataclass(frozen=True)
class TraceSection:
    """The trace lines of one questionnaire section, with its totals."""

    number: int
    title: Text
    lines: list[TraceLine]
    points: float
    possible: float


def trace_of(card: ScoreCard, q: Questionnaire, stored: Mapping[str, Any]) -> list[TraceSection]:
    """The card's indicator trace by questionnaire section, each question by its number."""
    by_question = {t.question: t for t in card.trace}
    out = []
    for number, section in enumerate(q.sections, start=1):
        lines = []
        for qd in section.questions:
            t = by_question.get(qd.id)
            if t is None:
                continue
            answered = t.status == "answered"
            lines.append(
                TraceLine(
                    number=q.numbers[qd.id],
                    question=qd.id,
                    text=(qd.text.zh, qd.text.en),
                    group=t.group,
                    status=t.status,
                    answer=(
                        answer_text(qd, t.answer, stored.get(qd.id), False),
                        answer_text(qd, t.answer, stored.get(qd.id), True),
                    )
                    if answered
                    else ("", ""),
                    score=t.score,
                    points=t.points,
                    possible=t.possible,
                )
            )
        if lines:
            out.append(
                TraceSection(
                    number,
                    (section.title.zh, section.title.en),
                    lines,
                    sum(x.points for x in lines),
                    sum(x.possible for x in lines),
                )
            )
    return out


# --- What-if over any question ------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A question the what-if may change, by its number and text."""

    question: str
    number: str
    text: Text


@dataclass(frozen=True)
class ChoiceGroup:
    """The what-if choices of one questionnaire section."""

    number: int
    title: Text
    choices: list[Choice]


def what_if_choices(a: Assessment) -> list[ChoiceGroup]:
    """Every scored question of the assessment's questionnaire, grouped by section."""
    q = questionnaire_of(a)
    spec = spec_of(a)
    out = []
    for number, section in enumerate(q.sections, start=1):
        choices = [
            Choice(x.id, q.numbers[x.id], (x.text.zh, x.text.en))
            for x in section.questions
            if x.is_scored and x.id in spec.index
        ]
        if choices:
            out.append(ChoiceGroup(number, (section.title.zh, section.title.en), choices))
    return out


@dataclass(frozen=True)
class WhatIfField:
    """One question offered for a what-if change, with the value to start from."""

    question: QuestionBase
    number: str
    value: Any


def what_if_field(session: Session, a: Assessment, question: str) -> WhatIfField:
    """A scored question to change in a what-if, starting from its stored answer."""
    q = questionnaire_of(a)
    qd = q.by_id.get(question)
    if qd is None or not qd.is_scored or question not in spec_of(a).index:
        raise NotFound(
            Problem("unknown_question", "问卷中没有该计分题", "no such scored question", question)
        )
    value = stored_values(session, a).get(question)
    return WhatIfField(qd, q.numbers[question], None if value == NA else value)


def roadmap_fields(card: ScoreCard, a: Assessment) -> list[WhatIfField]:
    """The roadmap's suggested changes, offered as what-if fields set to their next step."""
    q = questionnaire_of(a)
    out = []
    for item in card.roadmap:
        qd = q.by_id.get(item.question)
        if qd is None:
            continue
        to = item.to
        if getattr(qd, "type", "") == "ratio" and not isinstance(to, dict):
            to = {"numerator": to, "denominator": qd.scale}  # type: ignore[attr-defined]
        out.append(WhatIfField(qd, q.numbers[item.question], to))
    return out


@dataclass(frozen=True)
class Move:
    """One score before and after a what-if change."""

    kind: str  # overall | stage | link | aspect
    key: str
    name: Text
    before: Text
    after: Text
    delta: float | None
    moved: bool


def _score_move(kind: str, key: str, name: Text, before: float | None, after: float | None) -> Move:
    b, f = metric_value(kind, before), metric_value(kind, after)
    delta = None if before is None or after is None else after - before
    return Move(kind, key, name, (b, b), (f, f), delta, b != f)


def moves_of(w: WhatIf, names: Names) -> list[Move]:
    """Every headline score before and after the what-if: overall, stage, links, aspects."""
    out = [
        _score_move("overall", "overall", _METRICS["overall"], w.now.overall, w.card.overall),
        Move(
            "stage",
            "stage",
            ("发展阶段", "Development stage"),
            (w.now.stage_name["zh"], w.now.stage_name["en"]),
            (w.card.stage_name["zh"], w.card.stage_name["en"]),
            None,
            w.now.stage != w.card.stage,
        ),
    ]
    for k in LINKS:
        out.append(_score_move("link", k, names.links[k], w.now.links.get(k), w.card.links.get(k)))
    for k in w.now.aspects:
        out.append(
            _score_move("aspect", k, names.aspects[k], w.now.aspects[k], w.card.aspects.get(k))
        )
    return out
