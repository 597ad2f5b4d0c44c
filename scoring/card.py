"""The ScoreCard of one assessment: scores, stage with its reasons, adoption, trace, roadmap."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, model_serializer

from scoring.answers import AnswerArrays, decode_value, encode_answers
from scoring.engine import _clause, _weighted_rows, check_failures, evaluate, normalise, visibility
from scoring.roadmap import NextStage, RoadmapItem, build
from scoring.spec import ASPECTS, GROUPS, LINKS, MULTI, NON_LINK_ASPECTS, SINGLE, YESNO, Spec
from scoring.stages import RuleResult, explain_rules


class IndicatorTrace(BaseModel):
    """How one scored question contributed to the overall level."""

    question: str
    group: str
    weight: float
    status: str  # answered | unanswered | na | hidden
    answer: Any
    score: float  # normalised 0..1
    points: float  # contribution to the overall level
    possible: float  # what it would contribute at its best answer


class Flag(BaseModel):
    """A check the answers failed: something for the reviewer (certifier) to look at."""

    check: str
    questions: list[str]  # the questions the check reads, the one it is about first
    key_system: bool  # True: the key system was not counted as in use
    zh: str
    en: str


class Exemption(BaseModel):
    """An answer that takes scored questions out of the score: an N/A, or a context answer
    (a "no" that hides questions, or a firm without a production shop) that leaves questions
    out. It needs a reason and is shown to the reviewer."""

    question: str
    kind: str  # na | exemption
    answer: Any
    leaves_out: list[str]  # scored questions it takes out (for an N/A, the question itself)


class ExemptionEffect(BaseModel):
    """Scores as they are, and as they would be with every exempted question counted at 0."""

    overall: tuple[float, float]
    groups: dict[str, tuple[float | None, float | None]]  # changed links and aspects only


#: ScoreCard fields added with questionnaire version 2; left out of the JSON when empty, so a
#: card of a version 1 assessment is byte for byte what it was.
_OPTIONAL = ("applicable_links", "flags", "exemptions", "exemption_effect")


class ScoreCard(BaseModel):
    questionnaire: str
    version: int
    content_hash: str
    overall: float
    links: dict[str, float | None]
    aspects: dict[str, float | None]
    stage: str
    stage_name: dict[str, str]
    provisional_stage: str
    stage_rules: list[RuleResult]
    it_adopter: bool
    it_links: list[str]
    adoption_min_links: int
    missing_required: list[str]
    trace: list[IndicatorTrace]
    roadmap: list[RoadmapItem]
    next_stage: NextStage | None
    applicable_links: list[str] | None = None  # None: every link applies
    flags: list[Flag] = []
    exemptions: list[Exemption] = []
    exemption_effect: ExemptionEffect | None = None

    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        for key in _OPTIONAL:
            if data.get(key) in (None, []):
                data.pop(key, None)
        return data


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def score(spec: Spec, answers: Mapping[str, Any] | AnswerArrays, roadmap_top: int = 5) -> ScoreCard:
    """Score one assessment. Raw answers are validated first (AnswerErrors lists every problem)."""
    enc = answers if isinstance(answers, AnswerArrays) else encode_answers(spec, answers)
    if enc.n != 1:
        raise ValueError("score() takes one assessment; use score_batch for many")
    ev = evaluate(spec, enc)
    values, na = enc.values, enc.na
    visible = visibility(spec, values, na)[0]
    norm = normalise(spec, values)[0]
    stage = spec.stage_rules[int(ev.stage_rule[0])].stage
    rules = explain_rules(spec, ev.metrics[0], ev.rule_held[0])
    missing = [
        q.id
        for i, q in enumerate(spec.questions)
        if q.required and visible[i] and math.isnan(values[0, i]) and not na[0, i]
    ]
    items, nxt = build(spec, enc, ev, visible, top=roadmap_top)
    zh, en = spec.stage_names.get(stage, (stage, stage))
    applicable = [k for i, k in enumerate(LINKS) if not math.isnan(ev.links[0, i])]
    exemptions = exemptions_of(spec, values[0], na[0], visible) if spec.reasons_required else []
    return ScoreCard(
        questionnaire=spec.questionnaire,
        version=spec.version,
        content_hash=spec.content_hash,
        overall=float(ev.overall[0]),
        links={k: _num(ev.links[0, i]) for i, k in enumerate(LINKS)},
        aspects={k: _num(ev.aspects[0, i]) for i, k in enumerate(ASPECTS)},
        stage=stage,
        stage_name={"zh": zh, "en": en},
        provisional_stage=_provisional(spec, ev.rule_held[0]),
        stage_rules=rules,
        it_adopter=bool(ev.it_adopter[0]),
        it_links=[k for i, k in enumerate(LINKS) if ev.it_links[0, i]],
        adoption_min_links=spec.adoption_min_links,
        missing_required=missing,
        trace=_trace(spec, values[0], na[0], visible, norm, ev.links[0], ev.aspects[0]),
        roadmap=items,
        next_stage=nxt,
        applicable_links=None if len(applicable) == len(LINKS) else applicable,
        flags=_flags(spec, values, na, visible),
        exemptions=exemptions,
        exemption_effect=_effect(
            spec, exemptions, visible, na[0], ev.links[0], ev.aspects[0], float(ev.overall[0])
        )
        if exemptions
        else None,
    )


def _flags(spec: Spec, values: np.ndarray, na: np.ndarray, visible: np.ndarray) -> list[Flag]:
    if not spec.checks:
        return []
    shown = {col: visible[None, col] for col in spec.arrays.gated_cols}
    failed = check_failures(spec, values, na, shown)[0]
    out = []
    for k, check in enumerate(spec.checks):
        if failed[k]:
            cols = [c.column for c in (*check.when, *check.expect)]
            out.append(
                Flag(
                    check=check.id,
                    questions=list(dict.fromkeys(spec.questions[c].id for c in cols)),
                    key_system=check.key_column is not None,
                    zh=check.message_zh,
                    en=check.message_en,
                )
            )
    return out


def exemptions_of(
    spec: Spec, values: np.ndarray, na: np.ndarray, visible: np.ndarray
) -> list[Exemption]:
    """N/A answers, and context answers that leave scored questions out (see Exemption).

    A context answer is an exemption when it hides scored questions and is one of: a "no"; an
    answer that makes a whole link not apply; a single-choice answer that hides scored
    questions and shows none in their place; an empty multiple choice (or its "none of these").
    Other context answers choose between branches (e.g. melt or solution spinning). A derived
    value left without inputs is charged to the answer that hid its inputs.
    """
    out: list[Exemption] = []
    gates: dict[int, list[str]] = {}
    scored = spec.arrays.scored
    gone = {
        link
        for link in LINKS
        if not any(
            visible[i] and scored[i] and q.group == link for i, q in enumerate(spec.questions)
        )
    }
    lone = _lone_options(spec)

    def gate_of(i: int) -> int | None:
        """The context question whose answer hides question i, if that answer is a choice
        that exempts (see above); None when i is hidden otherwise or by nobody's choice."""
        q = spec.questions[i]
        for c in q.show_if:
            if c.test == "never":
                return None  # not valid yet in the assessment year: nobody's choice
            if visible[c.column] and _clause(c, values[None, :], na[None, :])[0]:
                continue
            g = spec.questions[c.column]
            x = values[c.column]
            if not visible[c.column] or np.isnan(x):
                return None  # hidden by a hidden or unanswered question: no choice made
            if g.kind == YESNO:
                return c.column
            if c.column in spec.link_gates:
                return c.column if q.group in gone else None
            if g.kind == SINGLE:
                return c.column if (c.column, int(x)) in lone else None
            if g.kind == MULTI:
                chosen = [k for k in range(len(g.options)) if int(x) >> k & 1]
                return c.column if all(g.exclusive[k] for k in chosen) else None
            return None
        if q.formula is not None:  # hidden because every input is
            for col in q.formula.columns():
                found = gate_of(col)
                if found is not None:
                    return found
        return None

    for i, q in enumerate(spec.questions):
        if q.scored and na[i] and visible[i]:
            out.append(Exemption(question=q.id, kind="na", answer="na", leaves_out=[q.id]))
        if q.scored and not visible[i]:
            g = gate_of(i)
            if g is not None:
                gates.setdefault(g, []).append(q.id)
    for col, hidden in gates.items():
        gate = spec.questions[col]
        out.append(
            Exemption(
                question=gate.id,
                kind="exemption",
                answer=decode_value(gate, values[col]),
                leaves_out=hidden,
            )
        )
    return out


_LONE: dict[str, set[tuple[int, int]]] = {}


def _lone_options(spec: Spec) -> set[tuple[int, int]]:
    """(column, option) of single-choice context answers that hide scored questions and show
    no scored question in their place: choosing one of them leaves something out."""
    known = _LONE.get(spec.content_hash + str(spec.years))
    if known is not None:
        return known
    hides: dict[tuple[int, int], bool] = {}
    shows: dict[tuple[int, int], bool] = {}
    for q in spec.questions:
        if not q.scored:
            continue
        for c in q.show_if:
            g = spec.questions[c.column] if c.test != "never" else None
            if g is None or g.kind != SINGLE or g.scored:
                continue
            held = [
                bool(
                    _clause(
                        c,
                        np.array(
                            [
                                [
                                    float(k) if j == c.column else np.nan
                                    for j in range(len(spec.questions))
                                ]
                            ]
                        ),
                        np.zeros((1, len(spec.questions)), dtype=bool),
                    )[0]
                )
                for k in range(len(g.options))
            ]
            for k, h in enumerate(held):
                if not h:
                    hides[(c.column, k)] = True
                elif not all(held):
                    shows[(c.column, k)] = True
    out = {key for key in hides if key not in shows}
    _LONE[spec.content_hash + str(spec.years)] = out
    return out


def _effect(spec, exemptions, visible, na, links, aspects, overall) -> ExemptionEffect:
    """Scores as they are, and as they would be with every exempted question counted at 0
    (in the denominator, scoring nothing): what the N/A and exemption answers are worth."""
    a = spec.arrays
    den = (visible & ~na & a.scored).astype(float) @ a.membership  # current weights per group
    extra = np.zeros(len(GROUPS))
    for qid in {q for e in exemptions for q in e.leaves_out}:
        extra += a.membership[spec.index[qid]]
    now = np.array([*links, *(aspects[ASPECTS.index(x)] for x in NON_LINK_ASPECTS)])
    counted = now.copy()
    for g in np.flatnonzero(extra):
        earned = 0.0 if math.isnan(now[g]) else now[g] * den[g]  # 100 × Σ w·x
        counted[g] = earned / (den[g] + extra[g])
    nl = len(LINKS)
    single = _weighted_rows(counted[:nl, None], a.link_weights)[0]
    after_aspects = np.array(
        [single if x == "single_app" else counted[nl + NON_LINK_ASPECTS.index(x)] for x in ASPECTS]
    )
    after_overall = float(
        np.nan_to_num(_weighted_rows(after_aspects[:, None], a.aspect_weights)[0])
    )
    groups: dict[str, tuple[float | None, float | None]] = {
        name: (_num(now[g]), _num(counted[g])) for g, name in enumerate(GROUPS) if extra[g]
    }
    single_now = aspects[ASPECTS.index("single_app")]
    if any(extra[:nl]):
        groups["single_app"] = (_num(single_now), _num(single))
    return ExemptionEffect(overall=(overall, after_overall), groups=groups)


def _provisional(spec: Spec, held: np.ndarray) -> str:
    """The stage the answers given so far reach, setting aside rules about missing answers."""
    for r, rule in enumerate(spec.stage_rules):
        if any(c.metric == "missing_required" for c in rule.conditions):
            continue
        if held[r]:
            return rule.stage
    return spec.stage_rules[-1].stage


def _trace(spec, values, na, visible, norm, links, aspects) -> list[IndicatorTrace]:
    a = spec.arrays
    applicable = visible & ~na & a.scored
    den = applicable.astype(float) @ a.membership
    aw = np.where(np.isnan(aspects), 0.0, a.aspect_weights)
    aw = aw / aw.sum() if aw.sum() > 0 else aw
    lw = np.where(np.isnan(links), 0.0, a.link_weights)
    lw = lw / lw.sum() if lw.sum() > 0 else lw
    out = []
    for i, q in enumerate(spec.questions):
        if not q.scored:
            continue
        g = list(a.membership[i] > 0).index(True)
        if q.group in LINKS:
            share = aw[ASPECTS.index("single_app")] * lw[LINKS.index(q.group)]
        else:
            share = aw[ASPECTS.index(q.group)]
        effective = 100.0 * share * q.weight / den[g] if applicable[i] and den[g] > 0 else 0.0
        if not visible[i]:
            status = "hidden"
        elif na[i]:
            status = "na"
        elif math.isnan(values[i]):
            status = "unanswered"
        else:
            status = "answered"
        out.append(
            IndicatorTrace(
                question=q.id,
                group=q.group or "",
                weight=q.weight,
                status=status,
                answer="na" if na[i] else decode_value(q, values[i]),
                score=float(norm[i]) if applicable[i] else 0.0,
                points=effective * float(norm[i]),
                possible=effective,
            )
        )
    return out


def what_if(
    spec: Spec, answers: Mapping[str, Any], changes: Mapping[str, Any], roadmap_top: int = 5
) -> ScoreCard:
    """The ScoreCard the answers would get with ``changes`` applied; nothing is stored."""
    merged = dict(answers)
    merged.update(changes)
    return score(spec, merged, roadmap_top=roadmap_top)
