"""Improvement roadmap: the single answer changes that raise the level most.

For each scored, visible, applicable question we propose its realistic next step (the next rung
of a ladder, the next breakpoint of a curve, one more option, yes instead of no), plus, for a
key-system question below "in use", the in-use rung. All candidates are scored together in one
batch through the same kernel, so each gain is exact rather than estimated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from scoring.answers import AnswerArrays, decode_value
from scoring.engine import Evaluation, evaluate
from scoring.spec import METRICS, MULTI, NUMERIC_KINDS, SINGLE, YESNO, Question, Spec
from scoring.stages import holds

EPS = 1e-9


class RoadmapItem(BaseModel):
    question: str
    text_zh: str
    text_en: str
    group: str
    current: Any
    to: Any
    gain: float
    overall_after: float
    stage_after: str
    lifts_stage: bool


class Help(BaseModel):
    question: str
    to: Any
    metric_after: float


class Need(BaseModel):
    metric: str
    op: str
    value: float
    actual: float | None
    gap: float | None
    helps: list[Help]


class NextStage(BaseModel):
    stage: str
    needs: list[Need]


@dataclass(frozen=True)
class Candidate:
    column: int
    encoded: float
    to: Any


def _next_single(q: Question, x: float) -> list[Candidate]:
    current = q.option_scores[int(x)] if not math.isnan(x) else 0.0
    better = [(s, i) for i, s in enumerate(q.option_scores) if s > current + EPS]
    out: list[Candidate] = []
    if better:
        _, i = min(better)
        out.append(Candidate(-1, float(i), q.options[i]))
    if q.key_in_use is not None and (math.isnan(x) or x < q.key_in_use):
        i = q.key_in_use
        if not out or out[0].encoded != i:
            out.append(Candidate(-1, float(i), q.options[i]))
    return out


def _next_multi(q: Question, x: float) -> list[Candidate]:
    mask = 0 if math.isnan(x) else int(x)
    chosen = [i for i in range(len(q.options)) if mask >> i & 1 and not q.exclusive[i]]
    if sum(q.option_scores[i] for i in chosen) >= 1 - EPS:
        return []
    free = [
        (q.option_scores[i], -i)
        for i in range(len(q.options))
        if not q.exclusive[i] and i not in chosen and q.option_scores[i] > 0
    ]
    if not free:
        return []
    _, neg = max(free)
    picked = sorted([*chosen, -neg])
    return [Candidate(-1, float(sum(1 << i for i in picked)), [q.options[i] for i in picked])]


def _next_numeric(q: Question, x: float) -> list[Candidate]:
    current = 0.0 if math.isnan(x) else float(np.interp(x, q.curve_x, q.curve_y))
    ahead = [(y, px) for px, y in zip(q.curve_x, q.curve_y, strict=True) if y > current + EPS]
    if not ahead:
        return []
    _, px = min(ahead, key=lambda t: (t[0], abs(t[1] - (0 if math.isnan(x) else x))))
    # A realistic next step: the next breakpoint, but never more than a quarter of the curve.
    here = q.curve_x[0] if math.isnan(x) else x
    step = (q.curve_x[-1] - q.curve_x[0]) / 4
    target = min(px, here + step) if px > here else max(px, here - step)
    if float(np.interp(target, q.curve_x, q.curve_y)) <= current + EPS:
        target = px
    return [Candidate(-1, float(target), float(target))]


def _next_yesno(q: Question, x: float) -> list[Candidate]:
    current = 0.0 if math.isnan(x) else (q.score_yes if x == 1 else q.score_no)
    best_yes = q.score_yes >= q.score_no
    best = q.score_yes if best_yes else q.score_no
    return [] if current >= best - EPS else [Candidate(-1, 1.0 if best_yes else 0.0, best_yes)]


_NEXT = {SINGLE: _next_single, MULTI: _next_multi, YESNO: _next_yesno}


def candidates(
    spec: Spec, values: np.ndarray, na: np.ndarray, visible: np.ndarray
) -> list[Candidate]:
    """Proposed single changes for one assessment (1-D rows)."""
    out: list[Candidate] = []
    for col, q in enumerate(spec.questions):
        if not q.scored or na[col] or not visible[col]:
            continue
        if q.required and math.isnan(values[col]):
            continue  # a missing required answer is listed on its own, not as an improvement
        make = _NEXT.get(q.kind) or (_next_numeric if q.kind in NUMERIC_KINDS else None)
        if make is None:
            continue
        out.extend(Candidate(col, c.encoded, c.to) for c in make(q, values[col]))
    return out


def build(
    spec: Spec,
    answers: AnswerArrays,
    base: Evaluation,
    visible: np.ndarray,
    top: int = 5,
) -> tuple[list[RoadmapItem], NextStage | None]:
    """The top changes by points gained, and what the next stage still needs."""
    values, na = answers.values[0], answers.na[0]
    cands = candidates(spec, values, na, visible)
    if not cands:
        return [], _next_stage(spec, base, [], None)
    trial = np.repeat(values[None, :], len(cands), axis=0)
    for k, c in enumerate(cands):
        trial[k, c.column] = c.encoded
    ev = evaluate(spec, AnswerArrays(trial, np.repeat(na[None, :], len(cands), axis=0)))
    base_overall = float(base.overall[0])
    base_rank = spec.stage_rank(spec.stage_rules[int(base.stage_rule[0])].stage)
    best: dict[int, RoadmapItem] = {}
    for k, c in enumerate(cands):
        q = spec.questions[c.column]
        stage_after = spec.stage_rules[int(ev.stage_rule[k])].stage
        item = RoadmapItem(
            question=q.id,
            text_zh=q.text_zh,
            text_en=q.text_en,
            group=q.group or "",
            current=decode_value(q, values[c.column]),
            to=c.to,
            gain=float(ev.overall[k]) - base_overall,
            overall_after=float(ev.overall[k]),
            stage_after=stage_after,
            lifts_stage=spec.stage_rank(stage_after) > base_rank,
        )
        kept = best.get(c.column)
        if kept is None or (item.lifts_stage, item.gain) > (kept.lifts_stage, kept.gain):
            best[c.column] = item
    ranked = sorted(
        (i for i in best.values() if i.gain > EPS or i.lifts_stage),
        key=lambda i: (-round(i.gain, 9), i.question),  # equal gains: by question id
    )
    return ranked[:top], _next_stage(spec, base, cands, ev)


def _next_stage(
    spec: Spec, base: Evaluation, cands: list[Candidate], ev: Evaluation | None
) -> NextStage | None:
    stage = spec.stage_rules[int(base.stage_rule[0])].stage
    if stage not in spec.stage_ladder:
        return None
    i = spec.stage_ladder.index(stage)
    if i + 1 >= len(spec.stage_ladder):
        return None
    target = spec.stage_ladder[i + 1]
    rule = next(r for r in spec.stage_rules if r.stage == target)
    needs = []
    for c in rule.conditions:
        m = METRICS.index(c.metric)
        actual = float(base.metrics[0, m])
        if holds(c.op, actual, c.value):
            continue
        helps: list[Help] = []
        if ev is not None:
            delta = ev.metrics[:, m] - actual
            order = np.argsort(-np.nan_to_num(delta, nan=-np.inf), kind="stable")
            for k in order[:3]:
                if delta[k] > EPS:
                    q = spec.questions[cands[k].column]
                    helps.append(
                        Help(question=q.id, to=cands[k].to, metric_after=float(ev.metrics[k, m]))
                    )
        needs.append(
            Need(
                metric=c.metric,
                op=c.op,
                value=c.value,
                actual=None if math.isnan(actual) else actual,
                gap=None if math.isnan(actual) else c.value - actual,
                helps=helps,
            )
        )
    return NextStage(stage=target, needs=needs)
