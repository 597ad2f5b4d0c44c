"""The ScoreCard of one assessment: scores, stage with its reasons, adoption, trace, roadmap."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel

from scoring.answers import AnswerArrays, decode_value, encode_answers
from scoring.engine import evaluate, normalise, visibility
from scoring.roadmap import NextStage, RoadmapItem, build
from scoring.spec import ASPECTS, LINKS, Spec
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
    )


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
