"""What the filling page shows: the questionnaire's sections with each answer's state, which
questions are visible, progress per section, and a quick live score preview.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from assess.questionnaire.catalog import Questionnaire
from assess.questionnaire.compile import shipped_catalog
from assess.questionnaire.schema import QuestionBase
from assess.store.models import Answer, Assessment
from scoring import LINKS, NA, Spec, encode_answers
from scoring.card import exemptions_of
from scoring.engine import Evaluation, evaluate


@lru_cache(maxsize=64)
def questionnaire_of_version(questionnaire: str, version: int) -> Questionnaire:
    """A shipped questionnaire version, composed once per process."""
    return shipped_catalog().compose(questionnaire, version)


def questionnaire_of(a: Assessment) -> Questionnaire:
    """The composed questionnaire (texts, help, units, sections) the assessment is pinned to."""
    return questionnaire_of_version(a.questionnaire, a.questionnaire_version)


_DEPENDENTS: dict[str, dict[str, tuple[str, ...]]] = {}


def _dependents(spec: Spec) -> dict[str, tuple[str, ...]]:
    known = _DEPENDENTS.get(spec.content_hash)
    if known is not None:
        return known
    out: dict[str, list[str]] = {}
    for q in spec.questions:
        for c in q.show_if:
            if c.test != "never":
                out.setdefault(spec.questions[c.column].id, []).append(q.id)
        if q.formula is not None:  # a derived value is redrawn when an input changes
            for col in q.formula.columns():
                out.setdefault(spec.questions[col].id, []).append(q.id)
    # Hiding cascades: a question's dependents' dependents change with it too.
    closed: dict[str, tuple[str, ...]] = {}
    for qid in out:
        seen: list[str] = []
        todo = list(out[qid])
        while todo:
            d = todo.pop(0)
            if d not in seen:
                seen.append(d)
                todo.extend(out.get(d, []))
        closed[qid] = tuple(seen)
    _DEPENDENTS[spec.content_hash] = closed
    return closed


def dependents(spec: Spec, question: str) -> tuple[str, ...]:
    """Questions whose visibility may change when ``question``'s answer does."""
    return _dependents(spec).get(question, ())


_GATES: dict[str, dict[str, tuple[str, ...]]] = {}


def _gates(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Question id → the questions whose answers decide whether it is shown (directly)."""
    known = _GATES.get(spec.content_hash)
    if known is None:
        known = {}
        for q in spec.questions:
            cols = {c.column for c in q.show_if if c.test != "never"}
            if cols:
                known[q.id] = tuple(spec.questions[c].id for c in sorted(cols))
        _GATES[spec.content_hash] = known
    return known


@dataclass(frozen=True)
class SectionProgress:
    """Required questions answered in one section (hidden ones do not count)."""

    id: str
    title_zh: str
    title_en: str
    answered: int
    required: int
    #: Required questions hidden only because a question that decides them has no answer yet:
    #: the section is not done, its questions are still to come.
    waiting: int = 0
    #: Required questions hidden by the answers given (they do not apply to this firm).
    not_applicable: int = 0

    @property
    def complete(self) -> bool:
        return self.answered >= self.required and not self.waiting


def asked(x: QuestionBase) -> bool:
    """Whether the firm must answer the question itself: required, and not computed."""
    return x.required and getattr(x, "type", "") != "derived"


def progress(
    q: Questionnaire,
    raw: dict[str, Any],
    visible: set[str],
    gates: dict[str, tuple[str, ...]] | None = None,
) -> list[SectionProgress]:
    """Per section: how many visible required questions have an answer (N/A counts), and how
    many hidden ones wait for an unanswered question that decides them."""
    gates = gates or {}

    def waits(qid: str, seen: frozenset[str] = frozenset()) -> bool:
        # Hidden because a deciding question is unanswered, or is itself hidden and waiting.
        for g in gates.get(qid, ()):
            if g in seen:
                continue
            if g in visible and raw.get(g) is None:
                return True
            if g not in visible and waits(g, seen | {qid}):
                return True
        return False

    out = []
    for s in q.sections:
        req = [x.id for x in s.questions if asked(x) and x.id in visible]
        done = sum(1 for qid in req if raw.get(qid) is not None)
        hidden = [x.id for x in s.questions if asked(x) and x.id not in visible]
        waiting = sum(1 for qid in hidden if waits(qid))
        prog = SectionProgress(
            s.id, s.title.zh, s.title.en, done, len(req), waiting, len(hidden) - waiting
        )
        out.append(prog)
    return out


@dataclass(frozen=True)
class Preview:
    """Headline figures of the answers as they stand; cheap enough to refresh on every save."""

    overall: float
    links: dict[str, float | None]
    stage: str
    it_adopter: bool
    it_links: int
    missing: int


def _preview(spec: Spec, ev: Evaluation) -> Preview:
    """The live score preview (no trace, no roadmap) of one evaluated assessment."""
    return Preview(
        overall=float(ev.overall[0]),
        links={
            k: (None if math.isnan(v) else float(v))
            for k, v in zip(LINKS, ev.links[0], strict=True)
        },
        stage=spec.stage_rules[int(ev.stage_rule[0])].stage,
        it_adopter=bool(ev.it_adopter[0]),
        it_links=int(ev.it_count[0]),
        missing=int(ev.missing[0]),
    )


@dataclass(frozen=True)
class Board:
    """What the filling page shows that depends on all the answers at once."""

    visible: set[str]
    progress: list[SectionProgress]
    preview: Preview
    #: Derived values as shown ("12.5"), "" while an input is missing.
    derived: dict[str, str]
    #: Questions whose answer needs a reason: "na" (an N/A) or "exemption" (an answer that
    #: leaves scored questions out), with the questions it leaves out.
    reasons: dict[str, tuple[str, tuple[str, ...]]]
    #: Options not offered in the assessment's year (they describe something that came later).
    withheld: dict[str, set[str]]


def board(spec: Spec, q: Questionnaire, raw: dict[str, Any]) -> Board:
    """Visible questions, progress per section and the score preview, from one encoding."""
    enc = encode_answers(spec, raw)
    ev = evaluate(spec, enc, with_visibility=True)
    assert ev.visible is not None
    shown = ev.visible[0].tolist()
    visible = {qs.id for qs, v in zip(spec.questions, shown, strict=True) if v}
    derived = {
        spec.questions[c].id: derived_text(float(enc.values[0, c])) for c in spec.arrays.derived
    }
    reasons: dict[str, tuple[str, tuple[str, ...]]] = {}
    if spec.reasons_required:
        for e in exemptions_of(spec, enc.values[0], enc.na[0], ev.visible[0]):
            reasons[e.question] = (e.kind, tuple(e.leaves_out))
    return Board(
        visible,
        progress(q, raw, visible, _gates(spec)),
        _preview(spec, ev),
        derived,
        reasons,
        withheld_options(spec),
    )


def derived_text(x: float) -> str:
    """A derived value as shown: two decimals at most, "" when it cannot be computed yet."""
    if math.isnan(x):
        return ""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def withheld_options(spec: Spec) -> dict[str, set[str]]:
    """Question id → the option ids not offered in the year the spec is for."""
    return {x.id: {x.options[i] for i in x.withheld} for x in spec.questions if x.withheld}


@dataclass(frozen=True)
class AnswerState:
    """One question's stored answer as the form shows it."""

    value: Any = None
    na: bool = False
    comment: str = ""
    version: int = 0  # 0: nothing stored yet
    updated_at: Any = None


def state_of(row: Answer | None) -> AnswerState:
    """The form state of a stored answer row (or of none)."""
    if row is None:
        return AnswerState()
    na = row.value == NA
    return AnswerState(
        value=None if na else row.value,
        na=na,
        comment=row.comment,
        version=row.version,
        updated_at=row.updated_at,
    )


def number_text(x: Any) -> str:
    """A stored number as a person would type it (12, not 12.0)."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return ""
    f = float(x)
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else f"{f:.15g}"


def value_text(question: QuestionBase, value: Any, en: bool) -> str:
    """A stored answer in words, for the conflict message and the report."""
    if value is None:
        return "—"
    if value == NA:
        return "N/A" if en else "不适用"
    options = {o.id: (o.text.en if en else o.text.zh) for o in getattr(question, "options", [])}
    if isinstance(value, bool):
        return ("yes" if value else "no") if en else ("是" if value else "否")
    if isinstance(value, list):
        return "; ".join(str(options.get(v, v)) for v in value)
    if isinstance(value, dict):
        return f"{number_text(value.get('numerator'))} / {number_text(value.get('denominator'))}"
    if isinstance(value, str):
        return options.get(value, value)
    f = float(value)
    return str(int(f)) if f.is_integer() else f"{f:.6g}"  # a computed ratio: 1.32353, not more


def ratio_result(question: QuestionBase, value: Any) -> str:
    """A stored ratio's computed value as shown beside its unit ("4", "56.25"), or ""."""
    # web/static/js/app.js (updateRatio) rounds a value being typed the same way.
    if not isinstance(value, dict):
        return ""
    try:
        num, den = float(value["numerator"]), float(value["denominator"])
    except (KeyError, TypeError, ValueError):
        return ""
    if den == 0 or not (math.isfinite(num) and math.isfinite(den)):
        return ""
    x = num / den * float(getattr(question, "scale", 1.0))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def section_of(q: Questionnaire) -> dict[str, str]:
    """Each question's section id (to open the right part of the filling page)."""
    return {x.id: s.id for s in q.sections for x in s.questions}


def current_section(q: Questionnaire, wanted: str | None) -> str:
    """The section the filling page opens on: the one asked for if it exists, else the first."""
    ids = [s.id for s in q.sections]
    return wanted if wanted in ids else ids[0]


@dataclass(frozen=True)
class MissingAnswer:
    """A required question still unanswered, as the submit page lists it."""

    question: str
    number: str
    section: str
    zh: str
    en: str
    section_title_zh: str
    section_title_en: str


def missing_answers(q: Questionnaire, missing: list[dict[str, str]]) -> list[MissingAnswer]:
    """The missing required answers with their human numbers and sections, in page order."""
    where = section_of(q)
    order = {qid: i for i, qid in enumerate(q.numbers)}
    titles = {s.id: s.title for s in q.sections}
    first = q.sections[0].id
    rows = []
    for m in missing:
        section = where.get(m["question"], first)
        number = q.numbers.get(m["question"], "")
        title = titles[section]
        rows.append(
            MissingAnswer(m["question"], number, section, m["zh"], m["en"], title.zh, title.en)
        )
    return sorted(rows, key=lambda m: order.get(m.question, len(order)))
