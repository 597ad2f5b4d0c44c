"""Stage rules explained: which conditions held, which failed, and by how much."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from scoring.spec import METRICS, Spec


class ConditionResult(BaseModel):
    metric: str
    op: str
    value: float
    actual: float | None
    held: bool
    gap: float | None = None


class RuleResult(BaseModel):
    stage: str
    held: bool
    conditions: list[ConditionResult]


def explain_rules(spec: Spec, metrics: np.ndarray, held: np.ndarray) -> list[RuleResult]:
    """Every stage rule with each condition's actual value, for one assessment's metrics row."""
    out = []
    for r, rule in enumerate(spec.stage_rules):
        conds = []
        for c in rule.conditions:
            actual = float(metrics[METRICS.index(c.metric)])
            ok = holds(c.op, actual, c.value)
            gap = None
            if not ok and not math.isnan(actual) and c.op in (">=", ">"):
                gap = c.value - actual
            conds.append(
                ConditionResult(
                    metric=c.metric,
                    op=c.op,
                    value=c.value,
                    actual=None if math.isnan(actual) else actual,
                    held=ok,
                    gap=gap,
                )
            )
        out.append(RuleResult(stage=rule.stage, held=bool(held[r]), conditions=conds))
    return out


def holds(op: str, actual: float, value: float) -> bool:
    """Whether ``actual op value``; a missing (NaN) actual never holds."""
    if math.isnan(actual):
        return False
    return {
        ">=": actual >= value,
        ">": actual > value,
        "<=": actual <= value,
        "<": actual < value,
        "==": actual == value,
    }[op]


def next_stage(spec: Spec, stage: str) -> str | None:
    """The stage one rung up the ladder, or None at the top (or when undetermined)."""
    if stage not in spec.stage_ladder:
        return None
    i = spec.stage_ladder.index(stage)
    return spec.stage_ladder[i + 1] if i + 1 < len(spec.stage_ladder) else None
