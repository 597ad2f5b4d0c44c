"""A slow, loop-based reference scorer written straight from docs/methodology.md.

It reads the composed questionnaire models (not the compiled spec) and shares no code with
the ``scoring`` package, so agreement between the two is evidence that both follow the rules.

Version 2 adds, all read from the questionnaire and methodology files:

- derived values (``type: derived``): a formula over earlier answers, scored through its curve;
- links whose methodology ``applies_if`` fails: every question of the link is hidden and the
  link has no score;
- ``valid_from`` on a question (hidden before that year) and on an option (not offered before
  that year; the ladder is rescaled to the best option offered);
- module checks: a failed check is flagged, and one with ``confirms_key`` takes the key system
  it names out of the IT count;
- a key system counts only in a link scoring at least ``it_adoption.min_link_level``.

A version 1 questionnaire has none of these, and is scored exactly as before.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from assess.questionnaire.catalog import Questionnaire

LINKS = ["rd", "production", "management", "marketing"]
ASPECTS = ["infrastructure", "single_app", "integration", "collaboration", "competitiveness"]
NA = "na"


def interp(x: float, points: list[tuple[float, float]]) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def valid(valid_from: int | None, year: int | None) -> bool:
    """Whether an item marked ``valid_from`` exists in the assessment year (no year: all do)."""
    return valid_from is None or year is None or year >= valid_from


def offered_best(q: Any, year: int | None) -> float:
    """What the best answer offered in ``year`` is worth before rescaling (1 with no year)."""
    scores = [o.score for o in q.options if valid(o.valid_from, year)]
    if q.type == "single_choice":
        return max(scores)
    return min(1.0, sum(scores))


def number(q: Any, value: Any) -> float | None:
    """The number a numeric answer stands for: a ratio is numerator / denominator × scale."""
    if value is None or value == NA:
        return None
    if q.type == "ratio":
        if value["denominator"] == 0:
            return None
        return value["numerator"] / value["denominator"] * q.scale
    return float(value)


def norm(q: Any, value: Any, year: int | None = None) -> float:
    """An answer's normalised value 0..1 (a derived question's value is its computed number)."""
    kind = q.type
    if value is None:
        return 0.0
    if kind == "single_choice":
        raw = next(o.score for o in q.options if o.id == value)
        return min(1.0, raw / offered_best(q, year))
    if kind == "multiple_choice":
        raw = sum(o.score for o in q.options if o.id in value)
        return min(1.0, raw / offered_best(q, year))
    if kind in ("percentage", "number", "derived"):
        return interp(float(value), q.curve.points)
    if kind == "ratio":
        x = number(q, value)
        return 0.0 if x is None else interp(x, q.curve.points)
    if kind == "yes_no":
        return q.score_yes if value else q.score_no
    raise AssertionError(kind)


def holds(c: Any, seen: dict[str, Any], by_id: dict) -> bool:
    """One clause (show_if, applies_if, check) on what a question effectively holds.

    ``seen`` maps a question to its effective value: None when hidden or unanswered, "na" for
    N/A, the computed number for a derived question. Such a question never meets a clause.
    """
    v = seen.get(c.question)
    if v is None or (isinstance(v, str) and v == NA):
        return False
    if c.equals is not None:
        return v == c.equals
    if c.any_of is not None:
        return v in c.any_of
    if c.includes is not None:
        return c.includes in v
    x = number(by_id[c.question], v)
    if x is None:
        return False
    if c.at_least is not None:
        return x >= c.at_least
    if c.at_most is not None:
        return x <= c.at_most
    raise AssertionError(c)


def compute(f: Any, seen: dict[str, Any], by_id: dict) -> float | None:
    """A formula's value; None (empty) when an operand it needs is empty or a denominator is 0.

    A hidden, N/A or unanswered operand is empty; ``mean`` averages the operands that are not.
    """
    values = []
    for x in f.operands:
        if isinstance(x, str):
            values.append(number(by_id[x], seen.get(x)))
        else:
            values.append(compute(x, seen, by_id))
    op = f.op
    if op == "ratio":
        a, b = values
        if a is None or b is None or b == 0:
            return None
        return a / b * f.scale
    if op == "mean":
        have = [v for v in values if v is not None]
        return sum(have) / len(have) if have else None
    if any(v is None for v in values):
        return None
    if op == "sum":
        return sum(values)
    if op == "min":
        return min(values)
    if op == "max":
        return max(values)
    raise AssertionError(op)


def reference_score(
    q: Questionnaire, answers: dict[str, Any], year: int | None = None
) -> dict[str, Any]:
    """Overall, links, aspects, stage, IT links, missing answers and failed checks, the slow way.

    ``year`` is the assessment year (for ``valid_from``); None treats every item as valid.
    """
    m = q.methodology
    applies_if = {lk.id: list(lk.applies_if) for lk in m.links}
    visible: dict[str, bool] = {}
    seen: dict[str, Any] = {}  # effective values: hidden and unanswered are None
    for x in q.questions:
        shown = valid(x.valid_from, year)
        if shown and x.link:
            shown = all(holds(c, seen, q.by_id) for c in applies_if.get(x.link, []))
        if shown:
            shown = all(holds(c, seen, q.by_id) for c in x.show_if)
        if shown and x.type == "derived":
            inputs = x.formula.inputs()
            # A derived value of conditional inputs only is not applicable when none is asked.
            # (A question without any condition is always shown, so "all hidden" implies it.)
            if all(not visible[i] for i in inputs):
                shown = False
        visible[x.id] = shown
        if not shown:
            seen[x.id] = None
        elif x.type == "derived":
            seen[x.id] = compute(x.formula, seen, q.by_id)
        else:
            seen[x.id] = answers.get(x.id)

    missing = [
        x.id
        for x in q.questions
        if x.required and x.type != "derived" and visible[x.id] and answers.get(x.id) is None
    ]

    sums: dict[str, list[float]] = {}
    for x in q.questions:
        value = seen[x.id]
        if not x.is_scored or not visible[x.id] or (isinstance(value, str) and value == NA):
            continue
        num_den = sums.setdefault(x.group, [0.0, 0.0])
        num_den[0] += x.weight * norm(x, value, year)
        num_den[1] += x.weight
    group = {g: 100 * n / d for g, (n, d) in sums.items() if d > 0}

    failed = []
    denied = set()
    for check in q.checks:
        if not all(holds(c, seen, q.by_id) for c in check.when):
            continue
        broken = False
        for c in check.expect:
            v = seen.get(c.question)
            answered = v is not None and not (isinstance(v, str) and v == NA)
            if answered and not holds(c, seen, q.by_id):
                broken = True
        if broken:
            failed.append(check.id)
            if check.confirms_key:
                denied.add(check.when[0].question)

    level = m.it_adoption.min_link_level
    it_links = set()
    for x in q.questions:
        ks = getattr(x, "key_system", None)
        value = seen[x.id]
        if not ks or not visible[x.id] or value is None or value == NA or x.id in denied:
            continue
        ids = [o.id for o in x.options]
        score = group.get(x.link)
        if ids.index(value) >= ids.index(ks.in_use_at) and score is not None and score >= level:
            it_links.add(x.link)

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
        "applicable_links": len(defined),
        "links_without_it": len(defined) - len(it_links),
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
        "applicable_links": defined,
        "failed_checks": failed,
        "key_denied": sorted(denied),
        "visible": visible,
        "values": seen,
    }
