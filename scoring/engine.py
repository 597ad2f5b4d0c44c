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

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from scoring.answers import AnswerArrays, encode_frame
from scoring.spec import (
    ASPECTS,
    CURVE_KINDS,
    GROUPS,
    LINKS,
    METRICS,
    MULTI,
    SINGLE,
    YESNO,
    Check,
    Clause,
    Formula,
    Question,
    Spec,
    SpecArrays,
)

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
    applicable: np.ndarray  # (N,) links that apply (with at least one applicable question)
    min_link: np.ndarray  # (N,) lowest defined link score (NaN when none is defined)
    it_count: np.ndarray  # (N,) links with a key system in use
    rule_held: np.ndarray  # (N, R) bool: each stage rule's verdict
    stage_rule: np.ndarray  # (N,) index of the first rule that held
    adoption_min_links: int
    visible: np.ndarray | None = None  # (N, I) bool: shown questions, when asked for

    @property
    def it_adopter(self) -> np.ndarray:
        return self.it_count >= self.adoption_min_links

    @cached_property
    def metrics(self) -> np.ndarray:
        """(N, len(METRICS)): what the stage rules test, built only when someone asks."""
        parts = [
            self.overall,
            self.links,
            self.aspects,
            self.min_link,
            self.it_count,
            self.missing,
            self.applicable,
            self.applicable - self.it_count,
        ]
        return np.column_stack(parts)


def normalise(spec: Spec, values: np.ndarray) -> np.ndarray:
    """(N, I): each scored answer mapped to 0..1; unanswered, N/A and unscored cells give 0.

    The batch kernel (``_chunk``) goes straight to the group sums without building this
    matrix; the trace of a single ScoreCard reads it.
    """
    a = spec.arrays
    out = np.zeros((values.shape[0], a.n))
    lk = a.lookup
    x = np.fmax(values[:, lk.cols] + lk.offsets, lk.slots)  # as in _Work.group_sums
    out[:, lk.cols] = lk.table[x.astype(np.intp)]
    for col in (*a.numeric.cols, *a.multi.cols):
        out[:, col] = column_score(spec.questions[col], values[:, col])
    return out


def column_score(q: Question, x: np.ndarray) -> np.ndarray:
    """One scored question's answers (encoded, NaN for none) mapped to 0..1."""
    given = ~np.isnan(x)
    safe = np.where(given, x, 0.0)
    if q.kind == SINGLE:
        scores = np.array(q.option_scores, dtype=float)[safe.astype(np.intp)]
    elif q.kind == YESNO:
        scores = np.where(safe > 0, q.score_yes, q.score_no)
    elif q.kind == MULTI:
        scores = _option_sum(safe.astype(np.int64), q.option_scores)
    elif q.kind in CURVE_KINDS:
        scores = np.interp(safe, q.curve_x, q.curve_y)
    else:  # pragma: no cover - compile only scores the kinds above
        raise ValueError(q.kind)
    return np.where(given, scores, 0.0)


def visibility(spec: Spec, values: np.ndarray, na: np.ndarray) -> np.ndarray:
    """(N, I) bool: whether each question is shown, from its show_if clauses."""
    visible = np.ones(values.shape, dtype=bool)
    for col, shown in _shown(spec, values, na).items():
        visible[:, col] = shown
    return visible


def _shown(spec: Spec, values: np.ndarray, na: np.ndarray) -> dict[int, np.ndarray]:
    """Column → (N,) bool, for the questions that have show_if clauses (all must hold).

    A clause on a question that is itself hidden does not hold, so hiding cascades. A derived
    value whose inputs are all gated is shown while at least one of them is.
    """
    out: dict[int, np.ndarray] = {}
    for col in spec.arrays.gated_cols:
        q = spec.questions[col]
        shown = np.ones(values.shape[0], dtype=bool)
        for clause in q.show_if:
            shown &= _clause(clause, values, na)
            if clause.column in out:
                shown &= out[clause.column]
        inputs = q.formula.columns() if q.formula is not None else ()
        if inputs and all(c in out for c in inputs):
            # A derived value whose inputs are all hidden is not applicable, not a zero.
            shown &= np.logical_or.reduce([out[c] for c in inputs])
        out[col] = shown
    return out


def _clause(c: Clause, values: np.ndarray, na: np.ndarray) -> np.ndarray:
    x = values[:, c.column]
    given = ~np.isnan(x) & ~na[:, c.column]
    safe = np.where(given, x, -1.0)
    if c.test == "equals" and c.flag is not None:
        hit = safe == (1.0 if c.flag else 0.0)
    elif c.test in ("equals", "any_of"):
        # A few options: comparisons are much cheaper than np.isin on short rows.
        hit = safe == float(c.options[0])
        for o in c.options[1:]:
            hit |= safe == float(o)
    elif c.test == "includes":
        hit = (np.where(given, x, 0).astype(np.int64) >> c.options[0]) & 1 == 1
    elif c.test == "at_least":
        hit = safe >= (c.threshold if c.threshold is not None else np.inf)
    elif c.test == "never":  # an item not valid yet in the assessment year
        hit = np.zeros(len(x), dtype=bool)
    elif c.test == "at_most":
        hit = np.where(given, x, np.inf) <= (c.threshold if c.threshold is not None else -np.inf)
    else:  # pragma: no cover - compile rejects other tests
        raise ValueError(c.test)
    return given & hit


def apply_formulas(spec: Spec, values: np.ndarray, na: np.ndarray) -> dict[int, np.ndarray] | None:
    """Write every derived column of ``values`` (N, I) from its formula, in place.

    An operand that is hidden or N/A counts as unanswered. Derived columns come after their
    inputs, so one pass in questionnaire order suffices. Returns the visibility it worked out
    when that still holds afterwards (no show_if reads a derived value), else None.
    """
    shown = _shown(spec, values, na) if spec.arrays.derived_gated else None
    for col in spec.arrays.derived:
        formula = spec.questions[col].formula
        assert formula is not None
        values[:, col] = _formula(formula, values, shown or {})
    return None if spec.arrays.derived_gates else shown


def _formula(f: Formula, values: np.ndarray, shown: dict[int, np.ndarray]) -> np.ndarray:
    parts = []
    for x in f.operands:
        if isinstance(x, Formula):
            parts.append(_formula(x, values, shown))
        else:
            parts.append(np.where(shown[x], values[:, x], np.nan) if x in shown else values[:, x])
    with np.errstate(invalid="ignore", divide="ignore"):
        if f.op == "ratio":
            num, den = parts
            return np.where(den > 0, num / np.where(den > 0, den, 1.0) * f.scale, np.nan)
        stack = np.vstack(parts)
        if f.op == "sum":
            return stack.sum(axis=0)  # NaN when any operand is empty
        if f.op == "min":
            return stack.min(axis=0)
        if f.op == "max":
            return stack.max(axis=0)
        if f.op == "mean":
            given = ~np.isnan(stack)
            count = given.sum(axis=0)
            total = np.where(given, stack, 0.0).sum(axis=0)
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    raise ValueError(f"unknown formula op {f.op!r}")  # pragma: no cover - compile checks ops


def check_failures(
    spec: Spec, values: np.ndarray, na: np.ndarray, shown: dict[int, np.ndarray] | None = None
) -> np.ndarray:
    """(N, C) bool: which of the spec's checks fail for each assessment.

    A check fails when all its ``when`` clauses hold (on shown questions) and an ``expect``
    clause does not hold on an answered, shown, applicable question.
    """
    if shown is None:
        shown = _shown(spec, values, na)
    out = np.zeros((values.shape[0], len(spec.checks)), dtype=bool)
    for k, check in enumerate(spec.checks):
        out[:, k] = _check_fails(check, values, na, shown)
    return out


def _check_fails(
    check: Check, values: np.ndarray, na: np.ndarray, shown: dict[int, np.ndarray]
) -> np.ndarray:
    applies = np.ones(values.shape[0], dtype=bool)
    for c in check.when:
        applies &= _clause(c, values, na)
        if c.column in shown:
            applies &= shown[c.column]
    broken = np.zeros(values.shape[0], dtype=bool)
    for c in check.expect:
        answered = ~np.isnan(values[:, c.column]) & ~na[:, c.column]
        if c.column in shown:
            answered &= shown[c.column]
        broken |= answered & ~_clause(c, values, na)
    return applies & broken


def _option_sum(mask: np.ndarray, option_scores: tuple[float, ...]) -> np.ndarray:
    """Multiple choice: the chosen options' scores (bits of ``mask``) summed, capped at 1."""
    total = np.zeros(len(mask))
    for k, s in enumerate(option_scores):
        if s:
            total += ((mask >> k) & 1) * s
    return np.minimum(total, 1.0)


class _Work:
    """Scratch arrays for chunks of up to ``rows`` assessments, allocated once and reused.

    Every step of the kernel writes into these (``out=``), so scoring a large batch does not
    allocate, fault in and free a fresh set of temporaries for each chunk.
    """

    def __init__(self, a: SpecArrays, rows: int) -> None:
        nl, nm = len(a.lookup.cols), len(a.multi.cols)
        self.lookup_x = np.empty((rows, nl))
        self.lookup_i = np.empty((rows, nl), dtype=np.intp)
        self.lookup = np.empty((rows, nl))
        self.segments = np.empty((rows, len(a.numeric.seg_cols)))
        self.answered = np.empty((rows, len(a.numeric.cols)))
        self.multi = np.empty((rows, nm))
        self.mask = np.empty((rows, a.n), dtype=bool)
        self.unanswered = np.empty((rows, a.n), dtype=bool)
        self.mask_f = np.empty((rows, a.n))
        self.group = np.empty((rows, len(GROUPS)))
        self.group_tmp = np.empty((rows, len(GROUPS)))
        self.keys = np.empty((rows, len(a.key_cols)))
        self.key_links = np.empty((rows, len(LINKS)))

    def group_sums(self, a: SpecArrays, values: np.ndarray, out: np.ndarray) -> None:
        """(m, G) Σ weight · normalised answer per group, over every scored question.

        Unanswered and N/A cells (NaN) add nothing; hidden questions are not taken out here.
        """
        m = values.shape[0]
        tmp = self.group_tmp[:m]
        lk, x, idx, scores = a.lookup, self.lookup_x[:m], self.lookup_i[:m], self.lookup[:m]
        np.take(values, lk.cols, axis=1, out=x)
        np.add(x, lk.offsets, out=x)  # option index → position in the flat table
        np.fmax(x, lk.slots, out=x)  # fmax maps NaN (unanswered or N/A) to the 0 slot
        np.copyto(idx, x, casting="unsafe")
        np.take(lk.table, idx, out=scores)
        _matmul(scores, lk.membership, out)
        nb = a.numeric
        if len(nb.cols):
            seg = self.segments[:m]
            np.take(values, nb.seg_cols, axis=1, out=seg)
            np.subtract(seg, nb.seg_knots, out=seg)
            np.fmax(seg, 0.0, out=seg)  # fmax also maps NaN to 0: no segment for no answer
            np.fmin(seg, nb.seg_widths, out=seg)
            out += _matmul(seg, nb.seg_membership, tmp)
            answered = self.answered[:m]
            np.take(values, nb.cols, axis=1, out=answered)
            np.copyto(answered, ~np.isnan(answered))
            out += _matmul(answered, nb.y0_membership, tmp)
        if len(a.multi.cols):
            mul = self.multi[:m]
            for j, col in enumerate(a.multi.cols):
                mask = np.fmax(values[:, col], 0.0).astype(np.int64)  # NaN → the empty subset
                table = a.multi.tables[j]
                if table is not None:
                    mul[:, j] = table[mask]
                    continue
                mul[:, j] = _option_sum(mask, a.multi.option_scores[j])
            out += _matmul(mul, a.multi.membership, tmp)


#: Inner dimension of the matrix products, at most; see ``_matmul``.
_MATMUL_K = 48


def _matmul(x: np.ndarray, w: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``x @ w`` into ``out``, in slices of at most _MATMUL_K columns of x.

    With a chunk's thin matrices (2048 × K by K × 8) the BLAS takes a path for K ≤ ~55 that is
    about three times quicker per column than for larger K; slicing keeps every product on it.
    """
    k = x.shape[1]
    if k <= _MATMUL_K:
        return np.matmul(x, w, out=out)
    np.matmul(x[:, :_MATMUL_K], w[:_MATMUL_K], out=out)
    for start in range(_MATMUL_K, k, _MATMUL_K):
        out += x[:, start : start + _MATMUL_K] @ w[start : start + _MATMUL_K]
    return out


def evaluate(
    spec: Spec,
    answers: AnswerArrays,
    chunk: int = CHUNK,
    workers: int | None = None,
    *,
    with_visibility: bool = False,
) -> Evaluation:
    """Score N encoded assessments; vectorised over rows, processed in cache-sized chunks.

    Chunks are independent, so a large batch is split between ``workers`` threads (default:
    the CPUs this process may use, at most 4); numpy releases the GIL inside each step.
    ``with_visibility`` also keeps which questions are shown (``Evaluation.visible``), which
    scoring works out anyway, so that a caller needing both does not work it out twice.
    """
    a = spec.arrays
    values, na = answers.values, answers.na
    known = None
    if a.derived:
        # In place, derived columns only: repeating it is harmless.
        known = apply_formulas(spec, values, na)
    n = answers.n
    group_sum = np.empty((len(GROUPS), n))  # one row per group: see _combine
    group_den = np.empty((len(GROUPS), n))
    missing = np.empty(n)
    it_links = np.empty((n, len(LINKS)), dtype=bool)
    it_count = np.empty(n)
    visible = np.ones(values.shape, dtype=bool) if with_visibility else None
    starts = list(range(0, n, chunk))

    def run(part: list[int]) -> None:
        work = _Work(a, min(chunk, n))
        for start in part:
            rows = slice(start, min(start + chunk, n))
            _chunk(
                spec,
                work,
                values[rows],
                na[rows],
                group_sum[:, rows],
                group_den[:, rows],
                missing[rows],
                it_links[rows],
                it_count[rows],
                None if visible is None else visible[rows],
                None if known is None else {c: v[rows] for c, v in known.items()},
            )

    if workers is None:
        workers = min(len(os.sched_getaffinity(0)), 4) if hasattr(os, "sched_getaffinity") else 1
    workers = max(1, min(workers, len(starts) // 4))
    if len(starts) <= 1:
        run(starts)
    else:
        # The per-chunk matrix products are small; a multi-threaded BLAS spends more time
        # waking its threads than multiplying, so each worker runs them on its own thread.
        with threadpool_limits(1, user_api="blas"):
            if workers == 1:
                run(starts)
            else:
                size = -(-len(starts) // workers)
                parts = [starts[k : k + size] for k in range(0, len(starts), size)]
                with ThreadPoolExecutor(workers) as pool:
                    for f in [pool.submit(run, p) for p in parts]:
                        f.result()
    ev = _combine(spec, group_sum, group_den, missing, it_links, it_count)
    return ev if visible is None else replace(ev, visible=visible)


def _chunk(
    spec,
    work,
    values,
    na,
    group_sum,
    group_den,
    missing,
    it_links,
    it_count,
    visible=None,
    known=None,
) -> None:
    """Group sums, applicable weights, missing count and IT links of one chunk, in place.

    ``group_sum`` and ``group_den`` are (G, m) column slices of the batch's (G, N) arrays;
    ``visible``, when given, an (m, I) slice to mark the hidden questions in; ``known``, the
    visibility of the gated questions when apply_formulas already worked it out.
    """
    a = spec.arrays
    m = values.shape[0]
    total, tmp = work.group[:m], work.group_tmp[:m]
    work.group_sums(a, values, total)
    unanswered, mask, mask_f = work.unanswered[:m], work.mask[:m], work.mask_f[:m]
    np.isnan(values, out=unanswered)
    if np.greater(na, unanswered, out=mask).any():
        raise ValueError("an answer marked N/A must hold NaN in values")
    np.logical_not(na, out=mask)  # applicable: not N/A ...
    if a.gated_cols:
        shown = known if known is not None else _shown(spec, values, na)
        for col, s in shown.items():
            mask[:, col] &= s  # ... and shown
            if visible is not None:
                visible[:, col] = s
        for col in a.gated_scored:  # a hidden question's answer scores nothing
            hidden = column_score(spec.questions[col], values[:, col]) * ~shown[col]
            total -= hidden[:, None] * a.membership[col]
    group_sum[...] = total.T
    np.copyto(mask_f, mask)
    group_den[...] = _matmul(mask_f, a.membership, tmp).T
    np.logical_and(unanswered, mask, out=unanswered)  # unanswered, shown and not N/A
    np.copyto(mask_f, unanswered)
    np.matmul(mask_f, a.required_f, out=missing)
    if len(a.key_cols):
        keys = work.keys[:m]
        np.take(values, a.key_cols, axis=1, out=keys)
        np.copyto(keys, keys >= a.key_thresholds)  # NaN compares False
        if a.gated_cols:
            keys *= mask[:, a.key_cols]  # a key system counts only where its link applies
        if spec.checks:
            fails = check_failures(spec, values, na, shown if a.gated_cols else {})
            for k, check in enumerate(spec.checks):
                if check.key_column is not None:
                    j = int(np.searchsorted(a.key_cols, check.key_column))
                    keys[:, j] *= ~fails[:, k]  # contradicted by the module's own answers
        np.greater(np.matmul(keys, a.key_links, out=work.key_links[:m]), 0.0, out=it_links)
        np.sum(it_links, axis=1, out=it_count)
    else:
        it_links[:] = False
        it_count[:] = 0.0


def _weighted_rows(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of the rows of a (K, N) array, over the rows that are defined (not NaN).

    NaN where no row is defined. Works row by row: each step reads one contiguous row of N.
    """
    num = np.zeros(rows.shape[1])
    total = np.zeros(rows.shape[1])
    for row, w in zip(rows, weights.tolist(), strict=True):
        defined = ~np.isnan(row)
        total += defined * w
        num += np.where(defined, row, 0.0) * w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.divide(num, total, out=np.full(len(total), np.nan), where=total > 0)


def _combine(spec, group_num, group_den, missing, it_links, it_count) -> Evaluation:
    """Scores, metrics and stage verdicts from the group sums of N assessments.

    ``group_num`` and ``group_den`` are (G, N): one contiguous row per group, so every step
    below is an operation on whole rows of N rather than a reduction across short rows.
    """
    a = spec.arrays
    n = group_num.shape[1]
    nl = len(LINKS)
    # One (4 + 5, N) array: the link rows, then the aspect rows, so that ``links`` and
    # ``aspects`` are views of it; each group's score is divided straight into its row.
    scores = np.empty((nl + len(ASPECTS), n))
    row_of = {g: (i if i < nl else nl + ASPECTS.index(g)) for i, g in enumerate(GROUPS)}
    with np.errstate(invalid="ignore", divide="ignore"):
        for g, row in enumerate(row_of.values()):
            out = scores[row]
            np.divide(group_num[g], group_den[g], out=out)
            out[group_den[g] <= 0] = np.nan  # a group with no applicable question has no score
            out *= 100.0
    links_t, aspects_t = scores[:nl], scores[nl:]
    aspects_t[ASPECTS.index("single_app")] = _weighted_rows(links_t, a.link_weights)
    overall = np.nan_to_num(_weighted_rows(aspects_t, a.aspect_weights), nan=0.0)
    min_link = links_t[0].copy()
    for row in links_t[1:]:
        np.fmin(min_link, row, out=min_link)  # fmin skips NaN; all-NaN stays NaN
    applicable = (~np.isnan(links_t)).sum(axis=0).astype(float)
    if spec.min_link_level > 0:
        # A key system in routine use counts only in a link that scores at least the level.
        it_links &= (links_t >= spec.min_link_level).T  # NaN compares False
        it_count = it_links.sum(axis=1).astype(float)
    rows = [
        overall,
        *links_t,
        *aspects_t,
        min_link,
        it_count,
        missing,
        applicable,
        applicable - it_count,
    ]  # in METRICS order
    held_t = np.ones((len(spec.stage_rules), n), dtype=bool)
    for r, rule in enumerate(spec.stage_rules):
        for c in rule.conditions:
            held_t[r] &= _OPS[c.op](rows[METRICS.index(c.metric)], c.value)  # NaN fails
    first = np.zeros(n, dtype=np.intp)  # the first rule that held (0 when none did)
    for r in range(len(spec.stage_rules) - 1, -1, -1):
        first[held_t[r]] = r
    return Evaluation(
        overall=overall,
        links=links_t.T,
        aspects=aspects_t.T,
        it_links=it_links,
        missing=missing,
        applicable=applicable,
        min_link=min_link,
        it_count=it_count,
        rule_held=held_t.T,
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
