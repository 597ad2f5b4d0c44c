"""A slow, loop-based reference scorer written straight from docs/methodology.md.

It reads the composed questionnaire models (not the compiled spec) and shares no code with
the ``scoring`` package, so agreement between the two is evidence that both follow the rules.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from assess.catalog import Questionnaire

LINKS = ["rd", "production", "management", "marketing"]
ASPECTS = ["infrastructure", "single_app", "integration", "collaboration", "competitiveness"]


def interp(x: float, points: list[tuple[float, float]]) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def norm(q: Any, value: Any) -> float:
    kind = q.type
    if value is None:
        return 0.0
    if kind == "single_choice":
        return next(o.score for o in q.options if o.id == value)
    if kind == "multiple_choice":
        return min(1.0, sum(o.score for o in q.options if o.id in value))
    if kind in ("percentage", "number"):
        return interp(float(value), q.curve.points)
    if kind == "ratio":
        return interp(value["numerator"] / value["denominator"] * q.scale, q.curve.points)
    if kind == "yes_no":
        return q.score_yes if value else q.score_no
    raise AssertionError(kind)


def shown(q: Any, answers: dict, visible: dict, by_id: dict) -> bool:
    for c in q.show_if:
        v = answers.get(c.question)
        if v is None or v == "na" or not visible[c.question]:
            return False
        if c.equals is not None and v != c.equals:
            return False
        if c.any_of is not None and v not in c.any_of:
            return False
        if c.includes is not None and c.includes not in v:
            return False
        if c.at_least is not None:
            ref = by_id[c.question]
            x = v["numerator"] / v["denominator"] * ref.scale if isinstance(v, dict) else v
            if x < c.at_least:
                return False
    return True


def reference_score(q: Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """Overall, links, aspects, stage, IT links and missing answers, computed the slow way."""
    visible: dict[str, bool] = {}
    sums: dict[str, list[float]] = {}
    missing = []
    it_links = set()
    for x in q.questions:
        visible[x.id] = shown(x, answers, visible, q.by_id)
        value = answers.get(x.id)
        if x.required and visible[x.id] and value is None:
            missing.append(x.id)
        ks = getattr(x, "key_system", None)
        if ks and value is not None:
            ids = [o.id for o in x.options]
            if ids.index(value) >= ids.index(ks.in_use_at):
                it_links.add(x.link)
        if not x.is_scored or not visible[x.id] or value == "na":
            continue
        num_den = sums.setdefault(x.group, [0.0, 0.0])
        num_den[0] += x.weight * norm(x, value)
        num_den[1] += x.weight
    group = {g: 100 * n / d for g, (n, d) in sums.items() if d > 0}
    m = q.methodology
    lw = (m.link_weights.get(q.sector.id) or m.link_weights["default"]).model_dump()
    defined = [k for k in LINKS if k in group]
    single = sum(lw[k] * group[k] for k in defined) / sum(lw[k] for k in defined)
    aspect = {
        "infrastructure": group.get("infrastructure"),
        "single_app": single,
        "integration": group.get("integration"),
        "collaboration": group.get("collaboration"),
        "competitiveness": group.get("competitiveness"),
    }
    aw = {a.id: a.weight for a in m.aspects}
    have = [a for a in ASPECTS if aspect[a] is not None]
    overall = sum(aw[a] * aspect[a] for a in have) / sum(aw[a] for a in have)
    metric = {
        "overall": overall,
        "min_link": min(group[k] for k in defined),
        "it_links": len(it_links),
        "missing_required": len(missing),
    }
    metric.update({f"link.{k}": group.get(k) for k in LINKS})
    metric.update({f"aspect.{a}": aspect[a] for a in ASPECTS})
    ops = {
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
        "==": lambda a, b: a == b,
    }
    stage = next(
        r.stage
        for r in m.stages.rules
        if all(metric[c.metric] is not None and ops[c.op](metric[c.metric], c.value) for c in r.all)
    )
    return {
        "overall": overall,
        "links": {k: group.get(k) for k in LINKS},
        "aspects": aspect,
        "stage": stage,
        "it_links": [k for k in LINKS if k in it_links],
        "it_adopter": len(it_links) >= m.it_adoption.min_links,
        "missing_required": missing,
    }
