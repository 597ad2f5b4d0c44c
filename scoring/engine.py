"""The scoring kernel: encoded answers in, scores, stages and adoption out.

``evaluate`` works on N assessments at once with numpy and is the only place scores are
computed; ``score`` (one assessment, with trace and roadmap) and ``score_batch`` both call it.

Per indicator i of group g (a link or a non-link aspect) with weight w_i and normalised answer
x_i in [0, 1], applicable a_i (visible, scored, not N/A):

    S_g      = 100 · Σ a_i w_i x_i / Σ a_i w_i
    单项应用  = Σ_links lw_l S_l / Σ lw_l           (links with no applicable indicator drop out)
    overall  = Σ_aspects AW_a S_a / Σ AW_a
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from scoring.answers import AnswerArrays, encode_frame
from scoring.spec import ASPECTS, LINKS, METRICS, NON_LINK_ASPECTS, Clause, Spec

#: Rows per chunk; keeps the (chunk × questions) temporaries inside the CPU caches.
CHUNK = 2048

_OPS = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
    "==": np.equal,
}


@dataclass(frozen=True)
class Evaluation:
    """Scores of N assessments. Stage codes index ``spec.stage_rules``."""

    overall: np.ndarray  # (N,)
    links: np.ndarray  # (N, 4)
    aspects: np.ndarray  # (N, 5)
    it_links: np.ndarray  # (N, 4) bool
    missing: np.ndarray  # (N,) count of missing required answers
    metrics: np.ndarray  # (N, len(METRICS))
    rule_held: np.ndarray  # (N, R) bool: each stage rule's verdict
    stage_rule: np.ndarray  # (N,) index of the first rule that held
    adoption_min_links: int

    @property
    def it_adopter(self) -> np.ndarray:
        return self.it_links.sum(axis=1) >= self.adoption_min_links


def normalise(spec: Spec, values: np.ndarray) -> np.ndarray:
    """Each scored answer mapped to 0..1; unanswered and unscored columns give 0."""
    a = spec.arrays
    n = values.shape[0]
    out = np.zeros((n, a.n))
    if a.lookup_cols.size:
        x = values[:, a.lookup_cols]
        idx = np.fmax(x, -1.0, out=x).astype(np.intp)  # fmax maps NaN (unanswered) to -1
        idx += a.lookup_offsets
        out[:, a.lookup_cols] = a.lookup_flat[idx]
    for col, table in zip(a.multi_cols, a.multi_tables, strict=True):
        if table is not None:  # every subset's capped sum, indexed by the bit mask
            out[:, col] = table[np.fmax(values[:, col], 0.0).astype(np.intp)]
            continue
        q = spec.questions[col]
        mask = np.fmax(values[:, col], 0.0).astype(np.int64)
        total = np.zeros(n)
        for k, s in enumerate(q.option_scores):
            if s:
                total += ((mask >> k) & 1) * s
        out[:, col] = np.minimum(total, 1.0)
    for col in a.numeric_cols:
        q = spec.questions[col]
        x = values[:, col]
        out[:, col] = np.nan_to_num(np.interp(x, q.curve_x, q.curve_y), nan=0.0)
    return out


def visibility(spec: Spec, values: np.ndarray, na: np.ndarray) -> np.ndarray:
    """(N, I) bool: whether each question is shown, from its show_if clauses."""
    visible = np.ones(values.shape, dtype=bool)
    for col in spec.arrays.gated_cols:
        shown = np.ones(values.shape[0], dtype=bool)
        for clause in spec.questions[col].show_if:
            shown &= _clause(clause, values, na) & visible[:, clause.column]
        visible[:, col] = shown
    return visible


def _clause(c: Clause, values: np.ndarray, na: np.ndarray) -> np.ndarray:
    x = values[:, c.column]
    given = ~np.isnan(x) & ~na[:, c.column]
    safe = np.where(given, x, -1.0)
    if c.test == "equals" and c.flag is not None:
        hit = safe == (1.0 if c.flag else 0.0)
    elif c.test in ("equals", "any_of"):
        hit = np.isin(safe, np.array(c.options, dtype=float))
    elif c.test == "includes":
        hit = (np.where(given, x, 0).astype(np.int64) >> c.options[0]) & 1 == 1
    elif c.test == "at_least":
        hit = safe >= (c.threshold if c.threshold is not None else np.inf)
    else:  # pragma: no cover - compile rejects other tests
        raise ValueError(c.test)
    return given & hit


def evaluate(spec: Spec, answers: AnswerArrays, chunk: int = CHUNK) -> Evaluation:
    """Score N encoded assessments; vectorised over rows, processed in cache-sized chunks."""
    n = answers.n
    parts: list[Evaluation] = []
    # The per-chunk matrix products are small; a multi-threaded BLAS spends more time waking
    # its threads than multiplying, so a batch of several chunks runs them on one thread.
    limit = threadpool_limits(1, user_api="blas") if n > chunk else nullcontext()
    with limit:
        for start in range(0, max(n, 1), chunk):
            rows = slice(start, min(start + chunk, n))
            parts.append(_evaluate_chunk(spec, answers.values[rows], answers.na[rows]))
    if len(parts) == 1:
        return parts[0]
    return Evaluation(
        overall=np.concatenate([p.overall for p in parts]),
        links=np.concatenate([p.links for p in parts]),
        aspects=np.concatenate([p.aspects for p in parts]),
        it_links=np.concatenate([p.it_links for p in parts]),
        missing=np.concatenate([p.missing for p in parts]),
        metrics=np.concatenate([p.metrics for p in parts]),
        rule_held=np.concatenate([p.rule_held for p in parts]),
        stage_rule=np.concatenate([p.stage_rule for p in parts]),
        adoption_min_links=spec.adoption_min_links,
    )


def _evaluate_chunk(spec: Spec, values: np.ndarray, na: np.ndarray) -> Evaluation:
    a = spec.arrays
    norm = normalise(spec, values)
    unanswered = np.isnan(values) & ~na
    if a.gated_cols:
        visible = visibility(spec, values, na)
        applicable = visible & ~na & a.scored
        missing = (a.required & visible & unanswered).sum(axis=1)
    else:
        applicable = ~na & a.scored
        missing = (a.required & unanswered).sum(axis=1)
    applicable_f = applicable.astype(float)
    group_num = (norm * applicable_f) @ a.membership
    group_den = applicable_f @ a.membership
    if a.key_cols.size:
        used = values[:, a.key_cols] >= a.key_thresholds  # NaN compares False
        it_links = (used.astype(np.int8) @ a.key_links.astype(np.int8)) > 0
    else:
        it_links = np.zeros((len(values), len(LINKS)), dtype=bool)
    return _combine(spec, group_num, group_den, missing.astype(float), it_links)


def _weighted(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over columns, re-normalising over the columns that are defined."""
    defined = ~np.isnan(scores)
    w = np.where(defined, weights, 0.0)
    total = w.sum(axis=1)
    num = np.where(defined, scores, 0.0) @ weights
    return np.divide(num, total, out=np.full(len(total), np.nan), where=total > 0)


def _combine(spec, group_num, group_den, missing, it_links) -> Evaluation:
    a = spec.arrays
    with np.errstate(invalid="ignore", divide="ignore"):
        groups = np.where(group_den > 0, 100.0 * group_num / group_den, np.nan)
    links = groups[:, : len(LINKS)]
    single_app = _weighted(links, a.link_weights)
    by_aspect = {k: groups[:, len(LINKS) + i] for i, k in enumerate(NON_LINK_ASPECTS)}
    by_aspect["single_app"] = single_app
    aspects = np.column_stack([by_aspect[k] for k in ASPECTS])
    overall = np.nan_to_num(_weighted(aspects, a.aspect_weights), nan=0.0)
    min_link = np.fmin.reduce(links, axis=1)  # fmin skips NaN; all-NaN stays NaN
    # Metrics and rule verdicts are built column-major: each condition reads one contiguous row.
    metrics_t = np.stack([overall, *links.T, *aspects.T, min_link, it_links.sum(axis=1), missing])
    held_t = np.ones((len(spec.stage_rules), len(overall)), dtype=bool)
    for r, rule in enumerate(spec.stage_rules):
        for c in rule.conditions:
            held_t[r] &= _OPS[c.op](metrics_t[METRICS.index(c.metric)], c.value)  # NaN fails
    metrics, held = metrics_t.T, held_t.T
    first = np.argmax(held, axis=1)
    return Evaluation(
        overall=overall,
        links=links,
        aspects=aspects,
        it_links=it_links,
        missing=missing,
        metrics=metrics,
        rule_held=held,
        stage_rule=first,
        adoption_min_links=spec.adoption_min_links,
    )


@dataclass(frozen=True)
class BatchResult:
    """Scores of N assessments as arrays, with a DataFrame view."""

    spec: Spec
    evaluation: Evaluation

    @property
    def overall(self) -> np.ndarray:
        return self.evaluation.overall

    @property
    def stage(self) -> np.ndarray:
        """Stage id per assessment."""
        names = np.array([r.stage for r in self.spec.stage_rules], dtype=object)
        return names[self.evaluation.stage_rule]

    @property
    def it_adopter(self) -> np.ndarray:
        return self.evaluation.it_adopter

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """One row per assessment: overall, links, aspects, stage, adoption, missing count."""
        ev = self.evaluation
        data: dict[str, np.ndarray] = {"overall": ev.overall}
        for i, k in enumerate(LINKS):
            data[f"link.{k}"] = ev.links[:, i]
        for i, k in enumerate(ASPECTS):
            data[f"aspect.{k}"] = ev.aspects[:, i]
        data["stage"] = self.stage
        for i, k in enumerate(LINKS):
            data[f"it.{k}"] = ev.it_links[:, i]
        data["it_adopter"] = ev.it_adopter
        data["missing_required"] = ev.missing.astype(int)
        return pd.DataFrame(data, index=index)


def score_batch(spec: Spec, answers: AnswerArrays | pd.DataFrame) -> BatchResult:
    """Score many assessments at once; a DataFrame of raw answers is validated first."""
    if isinstance(answers, pd.DataFrame):
        answers = encode_frame(spec, answers)
    if answers.values.shape[1] != len(spec.questions):
        raise ValueError(
            f"answers have {answers.values.shape[1]} columns, the spec has {len(spec.questions)}"
        )
    return BatchResult(spec, evaluate(spec, answers))
