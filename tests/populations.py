"""Random but complete answer sets for whole populations, for properties of the stage rules.

Two kinds:
- ``independent``: every answer drawn on its own, uniformly over its scores;
- ``maturity``: each firm has a maturity m in [0, 1], and each answer's score is drawn around m
  (m plus normal noise of sd ``spread``), as real firms answer: a firm good at one thing tends
  to be good at the next, but not uniformly so.

Every required question is answered (blanks would only make firms undetermined); context
questions are drawn uniformly; N/A is chosen now and then where it is allowed. Derived values are
reached through their inputs.
"""

from __future__ import annotations

import numpy as np

from scoring import AnswerArrays, Spec
from scoring.spec import Formula, Question


def population(
    spec: Spec, n: int, seed: int, *, kind: str = "maturity", spread: float = 0.2
) -> AnswerArrays:
    rng = np.random.default_rng(seed)
    cols = len(spec.questions)
    values = np.full((n, cols), np.nan)
    na = np.zeros((n, cols), dtype=bool)
    maturity = rng.random(n)

    def target() -> np.ndarray:
        if kind == "independent":
            return rng.random(n)
        return np.clip(maturity + rng.normal(0.0, spread, n), 0.0, 1.0)

    inputs = {c for q in spec.questions if q.formula for c in q.formula.columns()}
    for col, q in enumerate(spec.questions):
        if q.formula is not None:
            if q.scored:
                _reach(q, q.formula, target(), values, rng)
            continue
        if col in inputs and not q.scored:
            values[:, col] = _context(q, rng, n)  # refined by the derived value below
            continue
        if not q.scored:
            values[:, col] = _context(q, rng, n)
            continue
        values[:, col] = _scored(q, target(), rng)
        if q.allow_na:
            mark = rng.random(n) < 0.05
            values[mark, col], na[mark, col] = np.nan, True
    return AnswerArrays(values, na)


def _context(q: Question, rng: np.random.Generator, n: int) -> np.ndarray:
    if q.kind == "single_choice":
        offered = [i for i in range(len(q.options)) if i not in q.withheld]
        return rng.choice(offered, n).astype(float)
    if q.kind == "yes_no":
        return rng.integers(0, 2, n).astype(float)
    if q.kind == "multiple_choice":
        plain = np.array(
            [0 if ex or k in q.withheld else 1 << k for k, ex in enumerate(q.exclusive)], float
        )
        return (rng.random((n, len(q.options))) < 0.5) @ plain
    if q.kind in ("percentage", "number", "ratio"):
        lo = q.lower if q.lower is not None else 0.0
        hi = min(q.upper if q.upper is not None else 100.0, max(lo * 10, 1000.0))
        return rng.uniform(lo, hi, n)
    return np.where(rng.random(n) < 0.5, 1.0, np.nan)  # text, evidence


def _scored(q: Question, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(t)
    if q.kind == "single_choice":
        scores = np.array(q.option_scores, dtype=float)
        scores[list(q.withheld)] = np.inf  # never chosen
        noise = rng.random((n, len(scores))) * 1e-6  # ties broken at random
        return np.argmin(np.abs(scores[None, :] - t[:, None]) + noise, axis=1).astype(float)
    if q.kind == "yes_no":
        yes = rng.random(n) < t
        return np.where(yes == (q.score_yes > q.score_no), 1.0, 0.0)
    if q.kind == "multiple_choice":
        plain = np.array(
            [0 if ex or k in q.withheld else 1 << k for k, ex in enumerate(q.exclusive)], float
        )
        return (rng.random((n, len(q.options))) < t[:, None]) @ plain
    return _inverse_curve(q, t)


def _inverse_curve(q: Question, t: np.ndarray) -> np.ndarray:
    xs, ys = np.array(q.curve_x), np.array(q.curve_y)
    if ys[-1] < ys[0]:  # a falling curve: lower is better
        xs, ys = xs[::-1], ys[::-1]
    x = np.interp(t, ys, xs)
    if q.kind == "percentage":
        x = np.clip(x, 0.0, 100.0)
    elif q.upper is not None:
        x = np.clip(x, q.lower or 0.0, q.upper)
    return x


def _reach(q: Question, f: Formula, t: np.ndarray, values: np.ndarray, rng) -> None:
    """Set a scored derived value's inputs so that it lands near its target on the curve."""
    want = _inverse_curve(q, t)
    ops = f.operands
    if f.op == "ratio" and all(isinstance(x, int) for x in ops):
        num, den = ops
        assert isinstance(num, int) and isinstance(den, int)
        values[:, den] = np.maximum(values[:, den], 1.0)
        values[:, num] = want * values[:, den] / f.scale
        return
    if f.op in ("mean", "min", "max") and all(isinstance(x, int) for x in ops):
        for x in ops:
            assert isinstance(x, int)
            values[:, x] = want
        return
    if f.op == "ratio":  # e.g. a / (b + a): set the plain inputs to give the share wanted
        num, den = ops
        if isinstance(num, int) and isinstance(den, Formula) and den.op == "sum":
            others = [x for x in den.operands if isinstance(x, int) and x != num]
            share = np.clip(want / f.scale, 0.0, 0.999)
            total = rng.uniform(100, 10000, len(t))
            values[:, num] = share * total
            for x in others:
                values[:, x] = (1 - share) * total / len(others)
            return
    for x in f.columns():  # anything else: plausible inputs, wherever they land
        if np.isnan(values[:, x]).all():
            values[:, x] = rng.uniform(1, 1000, len(t))
