"""Shared fixtures: the shipped catalog, compiled specs, and answer builders."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from assess.questionnaire.catalog import Catalog, load_catalog
from assess.questionnaire.compile import compile_spec, shipped_catalog
from scoring import Question, Spec

# Real databases (a SQLite file, a fresh PostgreSQL database) for the db/ and web/ tests.
pytest_plugins = ["tests.databases"]

ROOT = Path(__file__).resolve().parent.parent
# The sectors are the shipped module folders; tests over "every sector" follow them.
SECTORS = list(shipped_catalog().sectors)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def specs(catalog: Catalog) -> dict[str, Spec]:
    """Version 1 of every sector (the tests of version 2 compose it themselves)."""
    return {s: compile_spec(catalog.compose(s, 1)) for s in SECTORS}


def extreme_value(q: Question, best: bool) -> Any:
    """The answer scoring 1 (best) or 0 (worst) for a scored question; None for others."""
    target = 1.0 if best else 0.0
    if q.kind == "single_choice":
        return q.options[q.option_scores.index(target)]
    if q.kind == "multiple_choice":
        return [o for o, e in zip(q.options, q.exclusive, strict=True) if not e] if best else []
    if q.kind in ("percentage", "number"):
        return q.curve_x[q.curve_y.index(target)]
    if q.kind == "ratio":
        return {"numerator": q.curve_x[q.curve_y.index(target)], "denominator": q.scale}
    if q.kind == "yes_no":
        return q.score_yes == target
    return None


def context_value(q: Question, rng: random.Random) -> Any:
    """Any valid answer for an unscored question."""
    if q.kind == "single_choice":
        return rng.choice(q.options)
    if q.kind == "yes_no":
        return rng.random() < 0.5
    if q.kind == "multiple_choice":
        free = [o for o, e in zip(q.options, q.exclusive, strict=True) if not e]
        return rng.sample(free, rng.randint(0, len(free)))
    if q.kind == "text":
        return "说明"
    return None


def extreme_answers(spec: Spec, best: bool, seed: int = 0) -> dict[str, Any]:
    """Every question answered at its best or worst; context questions chosen at random."""
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    for q in spec.questions:
        v = extreme_value(q, best) if q.scored else context_value(q, rng)
        if v is not None:
            out[q.id] = v
    for q in spec.questions:
        if q.formula is not None and q.scored:
            target = q.curve_x[q.curve_y.index(1.0 if best else 0.0)]
            derived_inputs(spec, q.formula, target, out)
    for q in spec.questions:  # numbers nothing above needed: any valid value
        if not q.scored and q.kind == "number" and q.id not in out:
            out[q.id] = max(q.lower or 0.0, 1.0)
        elif not q.scored and q.kind == "percentage" and q.id not in out:
            out[q.id] = 50.0
    return out


def derived_inputs(spec: Spec, f: Any, target: float, out: dict[str, Any]) -> None:
    """Answer the inputs of a derived value so that it comes out at ``target``."""
    qid = [x.id for x in spec.questions]
    ops = f.operands
    if f.op == "ratio" and isinstance(ops[1], int):
        den = qid[ops[1]]
        out.setdefault(den, 100.0)
        out[qid[ops[0]]] = target * float(out[den]) / f.scale
    elif f.op == "ratio":  # a share of a sum the numerator is part of: a / (a + b + …)
        share = min(target / f.scale, 1.0)
        others = [x for x in ops[1].operands if x != ops[0]]
        out[qid[ops[0]]] = 1000.0 * share
        for x in others:
            out[qid[x]] = 1000.0 * (1 - share) / len(others)
    elif f.op == "sum":
        out[qid[ops[0]]] = target
        for x in ops[1:]:
            out[qid[x]] = 0.0
    else:  # mean, min, max: every operand at the target
        for x in ops:
            if not spec.questions[x].scored:
                out[qid[x]] = target


@st.composite
def raw_value(draw: st.DrawFn, q: Question) -> Any:
    """A valid raw answer for one question, N/A and unanswered included where allowed."""
    if q.allow_na and draw(st.integers(0, 9)) == 0:
        return "na"
    if not q.required and draw(st.integers(0, 9)) == 0:
        return None
    finite = {"allow_nan": False, "allow_infinity": False}
    if q.kind == "single_choice":
        return draw(st.sampled_from(q.options))
    if q.kind == "multiple_choice":
        free = [o for o, e in zip(q.options, q.exclusive, strict=True) if not e]
        return draw(st.lists(st.sampled_from(free), unique=True, max_size=len(free)))
    if q.kind == "percentage":
        return draw(st.floats(0, 100, **finite))
    if q.kind == "number":
        return draw(st.floats(q.lower, q.upper, **finite))
    if q.kind == "ratio":
        den = draw(st.integers(1, 5000))
        ratio = draw(st.floats(0, min((q.upper or 1) * 0.999, q.curve_x[-1] * 1.5), **finite))
        return {"numerator": ratio * den / q.scale, "denominator": den}
    if q.kind == "yes_no":
        return draw(st.booleans())
    if q.kind == "text":
        return draw(st.text(max_size=20))
    return None


@st.composite
def answer_sets(draw: st.DrawFn, spec: Spec) -> dict[str, Any]:
    """A whole valid answers dict for a spec."""
    out = {}
    for q in spec.questions:
        v = draw(raw_value(q))
        if v is not None:
            out[q.id] = v
    return out


def random_arrays(spec: Spec, n: int, seed: int) -> Any:
    """N random valid encoded assessments, built column by column (blanks, N/A and all)."""
    import numpy as np

    from scoring import AnswerArrays

    rng = np.random.default_rng(seed)
    values = np.full((n, len(spec.questions)), np.nan)
    na = np.zeros(values.shape, dtype=bool)
    for col, q in enumerate(spec.questions):
        if q.kind == "single_choice":
            x = rng.integers(0, len(q.options), n).astype(float)
        elif q.kind == "multiple_choice":
            plain = np.array([0 if ex else 1 << k for k, ex in enumerate(q.exclusive)], float)
            x = (rng.random((n, len(q.options))) < 0.5) @ plain
        elif q.kind == "yes_no":
            x = rng.integers(0, 2, n).astype(float)
        elif q.kind in ("percentage", "number", "ratio"):
            lo = q.lower if q.lower is not None else 0.0
            hi = q.upper if q.upper is not None else 100.0
            x = rng.uniform(lo, hi, n)
        else:
            x = np.where(rng.random(n) < 0.5, 1.0, np.nan)
        x[rng.random(n) < 0.05] = np.nan
        if q.allow_na:
            mark = rng.random(n) < 0.1
            x[mark], na[mark, col] = np.nan, True
        values[:, col] = x
    return AnswerArrays(values, na)
