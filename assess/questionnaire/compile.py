"""Compile a composed questionnaire into the scoring engine's spec."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from assess.questionnaire.catalog import Catalog, Questionnaire, load_catalog
from assess.questionnaire.schema import (
    DEFAULT_WEIGHTS,
    Derived,
    MultipleChoice,
    Number,
    Percentage,
    QuestionBase,
    Ratio,
    SingleChoice,
    YesNo,
)
from assess.questionnaire.schema import (
    Condition as ShowIf,
)
from assess.questionnaire.schema import (
    Formula as FormulaDef,
)
from scoring import LINKS, Clause, Condition, Question, Spec, StageRule
from scoring.spec import Check, Formula

#: A clause that never holds: hides a question in years before it applies.
_NEVER = Clause(0, "never")


def _clause(c: ShowIf, q: Questionnaire, index: dict[str, int]) -> Clause:
    ref = q.by_id[c.question]
    option_ids = [o.id for o in getattr(ref, "options", [])]
    col = index[c.question]
    if c.equals is not None:
        if isinstance(c.equals, bool):
            return Clause(col, "equals", flag=c.equals)
        return Clause(col, "equals", options=(option_ids.index(c.equals),))
    if c.any_of is not None:
        return Clause(col, "any_of", options=tuple(option_ids.index(o) for o in c.any_of))
    if c.includes is not None:
        return Clause(col, "includes", options=(option_ids.index(c.includes),))
    if c.at_most is not None:
        return Clause(col, "at_most", threshold=c.at_most)
    return Clause(col, "at_least", threshold=c.at_least)


def _formula(f: FormulaDef, index: dict[str, int]) -> Formula:
    ops = tuple(index[x] if isinstance(x, str) else _formula(x, index) for x in f.operands)
    return Formula(f.op, ops, f.scale)


def _valid(valid_from: int | None, year: int | None) -> bool:
    return valid_from is None or year is None or year >= valid_from


def _question(
    src: QuestionBase, q: Questionnaire, index: dict[str, int], year: int | None = None
) -> Question:
    show_if = [_clause(c, q, index) for c in src.show_if]
    link = q.methodology.links[LINK_INDEX[src.link]] if src.link else None
    if link is not None:
        show_if.extend(_clause(c, q, index) for c in link.applies_if)
    if not _valid(src.valid_from, year):
        show_if.append(_NEVER)
    common: dict[str, Any] = dict(
        id=src.id,
        kind=str(getattr(src, "type", "")),
        text_zh=src.text.zh,
        text_en=src.text.en,
        group=src.group,
        scored=src.is_scored,
        weight=src.weight,
        required=src.required,
        allow_na=src.allow_na,
        show_if=tuple(show_if),
        max_length=getattr(src, "max_length", 0),
    )
    if isinstance(src, SingleChoice | MultipleChoice):
        ids = [o.id for o in src.options]
        key = src.key_system if isinstance(src, SingleChoice) else None
        withheld = tuple(i for i, o in enumerate(src.options) if not _valid(o.valid_from, year))
        scores = [o.score for o in src.options]
        if withheld and src.scored:
            # The best answer offered in this year scores 1: a firm is not marked down for
            # something that did not exist yet.
            offered = [x for i, x in enumerate(scores) if i not in withheld]
            best = max(offered) if isinstance(src, SingleChoice) else min(1.0, sum(offered))
            scores = [min(1.0, x / best) for x in scores]
        return Question(
            **common,
            options=tuple(ids),
            option_scores=tuple(scores),
            exclusive=tuple(o.exclusive for o in src.options),
            key_in_use=ids.index(key.in_use_at) if key else None,
            withheld=withheld,
        )
    if isinstance(src, Derived):
        curve = src.curve.points if src.curve else [(0.0, 0.0), (1.0, 1.0)]
        return Question(
            **{**common, "required": False},  # required through its inputs
            curve_x=tuple(p[0] for p in curve),
            curve_y=tuple(p[1] for p in curve),
            formula=_formula(src.formula, index),
        )
    if isinstance(src, Percentage | Number | Ratio):
        xs = tuple(p[0] for p in src.curve.points)
        ys = tuple(p[1] for p in src.curve.points)
        if isinstance(src, Percentage):
            lower, upper, scale = 0.0, 100.0, 1.0
        elif isinstance(src, Number):
            lower, upper, scale = src.min, src.max, 1.0
        else:
            lower, upper, scale = 0.0, src.max, src.scale
        return Question(**common, lower=lower, upper=upper, curve_x=xs, curve_y=ys, scale=scale)
    if isinstance(src, YesNo):
        return Question(**common, score_yes=src.score_yes, score_no=src.score_no)
    return Question(**common)


LINK_INDEX = {link: i for i, link in enumerate(LINKS)}


def valid_from_years(q: Questionnaire) -> tuple[int, ...]:
    """The years from which some question or option of ``q`` applies, ascending."""
    key = q.content_hash
    if key not in _VALID_FROM:
        _VALID_FROM[key] = _valid_from_years(q)
    return _VALID_FROM[key]


_VALID_FROM: dict[str, tuple[int, ...]] = {}


def _valid_from_years(q: Questionnaire) -> tuple[int, ...]:
    years: set[int] = set()
    for x in q.questions:
        if x.valid_from:
            years.add(x.valid_from)
        years.update(o.valid_from for o in getattr(x, "options", []) if o.valid_from)
    return tuple(sorted(years))


def era(q: Questionnaire, year: int | None) -> tuple[int | None, int | None]:
    """The span of assessment years that score exactly like ``year`` (None: the latest span)."""
    starts = valid_from_years(q)
    if year is None:
        return (starts[-1] if starts else None, None)
    first = max((y for y in starts if y <= year), default=None)
    last = min((y - 1 for y in starts if y > year), default=None)
    return (first, last)


def compile_spec(q: Questionnaire, year: int | None = None) -> Spec:
    """The scoring spec for a composed questionnaire, for assessments of ``year``.

    Items valid only from a later year are left out for that year (see ``valid_from``); with
    no year, every item counts.
    """
    index = {x.id: i for i, x in enumerate(q.questions)}
    m = q.methodology
    lw = m.link_weights.get(q.sector.id) or m.link_weights[DEFAULT_WEIGHTS]
    return Spec(
        questionnaire=q.id,
        version=q.version,
        content_hash=q.content_hash,
        questions=tuple(_question(x, q, index, year) for x in q.questions),
        link_weights=(lw.rd, lw.production, lw.management, lw.marketing),
        aspect_weights=tuple(a.weight for a in m.aspects),  # type: ignore[arg-type]
        adoption_min_links=m.it_adoption.min_links,
        stage_rules=tuple(
            StageRule(r.stage, tuple(Condition(c.metric, c.op, c.value) for c in r.all))
            for r in m.stages.rules
        ),
        stage_ladder=tuple(m.stages.ladder),
        stage_names={n.id: (n.name.zh, n.name.en) for n in m.stages.names},
        checks=tuple(
            Check(
                id=c.id,
                when=tuple(_clause(x, q, index) for x in c.when),
                expect=tuple(_clause(x, q, index) for x in c.expect),
                key_column=index[c.when[0].question] if c.confirms_key else None,
                message_zh=c.message.zh,
                message_en=c.message.en,
            )
            for c in q.checks
        ),
        min_link_level=m.it_adoption.min_link_level,
        years=era(q, year),
        reasons_required=m.reasons_required,
        link_gates=tuple(sorted({index[c.question] for lk in m.links for c in lk.applies_if})),
    )


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    """The catalog shipped with the package, loaded once per process."""
    return load_catalog()


def spec_for(sector: str, version: int | None = None, year: int | None = None) -> Spec:
    """The compiled spec of a shipped questionnaire version (latest when version is None), for
    assessments of ``year`` (every item when None). Years that score alike share one spec."""
    q = composed(sector, version)
    return _spec_for_era(sector, q.version, era(q, year))


@lru_cache(maxsize=64)
def composed(sector: str, version: int | None) -> Questionnaire:
    """A shipped questionnaire version, composed once per process (latest when None)."""
    return shipped_catalog().compose(sector, version)


@lru_cache(maxsize=128)
def _spec_for_era(sector: str, version: int, span: tuple[int | None, int | None]) -> Spec:
    # Any year of the span scores alike; the span's last year stands for it (None: the latest).
    return compile_spec(composed(sector, version), span[1])
