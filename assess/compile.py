"""Compile a composed questionnaire into the scoring engine's spec."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from assess.catalog import Catalog, Questionnaire, load_catalog
from assess.schema import (
    DEFAULT_WEIGHTS,
    MultipleChoice,
    Number,
    Percentage,
    QuestionBase,
    Ratio,
    SingleChoice,
    YesNo,
)
from assess.schema import (
    Condition as ShowIf,
)
from scoring import Clause, Condition, Question, Spec, StageRule


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
    return Clause(col, "at_least", threshold=c.at_least)


def _question(src: QuestionBase, q: Questionnaire, index: dict[str, int]) -> Question:
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
        show_if=tuple(_clause(c, q, index) for c in src.show_if),
        max_length=getattr(src, "max_length", 0),
    )
    if isinstance(src, SingleChoice | MultipleChoice):
        ids = [o.id for o in src.options]
        key = src.key_system if isinstance(src, SingleChoice) else None
        return Question(
            **common,
            options=tuple(ids),
            option_scores=tuple(o.score for o in src.options),
            exclusive=tuple(o.exclusive for o in src.options),
            key_in_use=ids.index(key.in_use_at) if key else None,
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


def compile_spec(q: Questionnaire) -> Spec:
    """The scoring spec for a composed questionnaire."""
    index = {x.id: i for i, x in enumerate(q.questions)}
    m = q.methodology
    lw = m.link_weights.get(q.sector.id) or m.link_weights[DEFAULT_WEIGHTS]
    return Spec(
        questionnaire=q.id,
        version=q.version,
        content_hash=q.content_hash,
        questions=tuple(_question(x, q, index) for x in q.questions),
        link_weights=(lw.rd, lw.production, lw.management, lw.marketing),
        aspect_weights=tuple(a.weight for a in m.aspects),  # type: ignore[arg-type]
        adoption_min_links=m.it_adoption.min_links,
        stage_rules=tuple(
            StageRule(r.stage, tuple(Condition(c.metric, c.op, c.value) for c in r.all))
            for r in m.stages.rules
        ),
        stage_ladder=tuple(m.stages.ladder),
        stage_names={n.id: (n.name.zh, n.name.en) for n in m.stages.names},
    )


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    """The catalog shipped with the package, loaded once per process."""
    return load_catalog()


@lru_cache(maxsize=64)
def spec_for(sector: str, version: int | None = None) -> Spec:
    """The compiled spec of a shipped questionnaire version (latest when version is None)."""
    return compile_spec(shipped_catalog().compose(sector, version))
