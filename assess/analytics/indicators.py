"""National headline indicators over any group of firms, on the definitions in the methodology.

Each firm is read through its own questionnaire version: the indicator's question (or the
module question that stands for it in the firm's sector), its threshold and the firms it covers.
A firm is left out of an indicator (and counted as such) when the indicator's link does not apply
to it, or its answer is missing, hidden or N/A. The result says which questionnaire versions
went into it, since the definitions of some indicators changed between versions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assess.questionnaire.catalog import Questionnaire
from assess.questionnaire.compile import composed, spec_for
from assess.questionnaire.schema import Condition, NationalIndicator, Reference
from scoring import LINKS, AnswerArrays, Spec, encode_answers
from scoring.engine import evaluate


@dataclass(frozen=True)
class FirmAnswers:
    """One firm's assessment, as the indicators read it."""

    sector: str
    version: int
    year: int
    answers: Mapping[str, Any]


@dataclass
class IndicatorValue:
    """An indicator over a group: a share in % or a mean, over ``n`` firms."""

    id: str
    name: tuple[str, str]
    definition: tuple[str, str] | None
    source: str | None
    measure: str
    value: float | None  # None when no firm counts
    n: int  # firms counted
    left_out: int  # firms of the group the indicator does not cover or that did not answer
    versions: list[int] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)


def firm_values(firms: Sequence[FirmAnswers]) -> list[dict[str, float | None]]:
    """Each firm's contribution to every national indicator of its methodology, in the order
    given: 1/0 for a share, the number for a mean, None when the indicator leaves it out."""
    out: list[dict[str, float | None]] = [{} for _ in firms]
    # Firms that score alike (one compiled spec) are evaluated together, in one batch.
    groups: dict[int, tuple[Questionnaire, Spec, list[int]]] = {}
    for i, firm in enumerate(firms):
        spec = spec_for(firm.sector, firm.version, firm.year)
        if id(spec) not in groups:
            groups[id(spec)] = (composed(firm.sector, firm.version), spec, [])
        groups[id(spec)][2].append(i)
    for q, spec, members in groups.values():
        encoded = [encode_answers(spec, dict(firms[i].answers)) for i in members]
        values = np.vstack([e.values for e in encoded])
        na = np.vstack([e.na for e in encoded])
        ev = evaluate(spec, AnswerArrays(values, na), with_visibility=True)
        assert ev.visible is not None
        for r, i in enumerate(members):
            row = (values[r], na[r], ev.visible[r], ev.links[r])
            out[i] = {
                ind.id: _firm_value(ind, q, spec.index, *row)
                for ind in q.methodology.national_indicators
            }
    return out


def national_indicators(firms: Iterable[FirmAnswers]) -> list[IndicatorValue]:
    """Every national indicator of the firms' methodologies, over the whole group."""
    group = list(firms)
    defs: dict[str, NationalIndicator] = {}
    versions: dict[str, set[int]] = defaultdict(set)
    for firm in group:
        for ind in composed(firm.sector, firm.version).methodology.national_indicators:
            defs.setdefault(ind.id, ind)
            versions[ind.id].add(firm.version)
    contributions = firm_values(group)
    out = []
    for iid, ind in defs.items():
        xs = [c[iid] for c in contributions if iid in c]
        counted = [x for x in xs if x is not None]
        out.append(
            IndicatorValue(
                id=iid,
                name=(ind.name.zh, ind.name.en),
                definition=(ind.definition.zh, ind.definition.en) if ind.definition else None,
                source=ind.source,
                measure=ind.measure,
                value=aggregate(ind.measure, counted),
                n=len(counted),
                left_out=len(xs) - len(counted),
                versions=sorted(versions[iid]),
                references=list(ind.references),
            )
        )
    return out


def aggregate(measure: str, contributions: Sequence[float]) -> float | None:
    """An indicator's value over the firms it counts: the mean for a mean, else the share in %."""
    if not contributions:
        return None
    return float(np.mean(contributions)) * (1 if measure == "mean" else 100)


def _firm_value(
    ind: NationalIndicator,
    q: Questionnaire,
    index: Mapping[str, int],
    values: np.ndarray,
    na: np.ndarray,
    visible: np.ndarray,
    links: np.ndarray,
) -> float | None:
    """The firm's contribution: 1/0 for a share, the number for a mean; None when left out."""
    if ind.link is not None and math.isnan(links[LINKS.index(ind.link)]):
        return None  # the link does not apply to this firm (e.g. no production shop)
    for c in ind.firms:
        asked = q.stands_for(c.question)
        if asked is None or not _holds(c, q, index[asked], values, na):
            return None  # a firm the indicator does not cover
    asked = q.stands_for(ind.question)
    if asked is None:
        return None
    col = index[asked]
    x = values[col]
    if not visible[col] or na[col] or math.isnan(x):
        return None
    src = q.by_id[asked]
    option_ids = [o.id for o in getattr(src, "options", [])]
    if ind.measure == "mean":
        return float(x)
    if ind.measure == "share_at_least":
        return float(x >= option_ids.index(ind.threshold or ""))
    if ind.measure == "share_yes":
        return float(x > 0)
    mask = int(x)
    if ind.measure == "share_includes":
        return float(mask >> option_ids.index(ind.threshold or "") & 1)
    wanted = [option_ids.index(o) for o in ind.all_of or []]
    return float(all(mask >> i & 1 for i in wanted))


def _holds(c: Condition, q: Questionnaire, col: int, values: np.ndarray, na: np.ndarray) -> bool:
    """One population clause on a firm's context answer."""
    x = values[col]
    if na[col] or math.isnan(x):
        return False
    ids = [o.id for o in getattr(q.by_id[c.question], "options", [])]
    if c.equals is not None:
        return (
            x == (1.0 if c.equals is True else 0.0)
            if isinstance(c.equals, bool)
            else ids[int(x)] == c.equals
        )
    if c.any_of is not None:
        return ids[int(x)] in c.any_of
    if c.includes is not None:
        return bool(int(x) >> ids.index(c.includes) & 1)
    if c.at_least is not None:
        return bool(x >= c.at_least)
    return bool(x <= (c.at_most if c.at_most is not None else math.inf))
