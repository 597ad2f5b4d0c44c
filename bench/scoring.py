"""Benchmark of the scoring engine on the petrochemicals questionnaire (prints figures; not a test).

What is measured:

* batch   - ``scoring.score_batch(spec, arrays)`` on N random valid, already-encoded answer sets
            (one warm-up, then the median of --repeat runs);
* single  - ``scoring.score(spec, answers_dict)`` one assessment at a time (validation, scores,
            trace, roadmap) on --sample of those rows, decoded back into raw answer dicts;
* floor   - a bare ``values_filled @ membership`` matmul of the same N x I shape: the least any
            batch path that reads every answer once has to pay.

Targets: batch_s <= 1.0 at n=200000, speedup (batch rate / single rate) >= 50, and
floor_ratio (batch_s / floor_s) <= 5. The batch overall scores of the sampled rows must equal the
single path's to 1e-9, otherwise the script exits with status 1.

    python bench/scoring.py [--n 200000] [--json] [--repeat 5] [--sample 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np

# This file is named scoring.py: drop its folder from the path so `import scoring` is the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import scoring  # noqa: E402
from assess.questionnaire.compile import spec_for  # noqa: E402
from scoring.spec import (  # noqa: E402
    DERIVED,
    EVIDENCE,
    MULTI,
    NUMBER,
    PERCENT,
    RATIO,
    SINGLE,
    TEXT,
    YESNO,
)


def generate(spec: scoring.Spec, n: int, rng: np.random.Generator) -> scoring.AnswerArrays:
    """N random valid answer sets, encoded column by column (never row by row)."""
    values = np.full((n, len(spec.questions)), np.nan)
    na = np.zeros(values.shape, dtype=bool)
    for col, q in enumerate(spec.questions):
        if q.kind == SINGLE:
            x = rng.integers(0, len(q.options), n).astype(float)
        elif q.kind == MULTI:
            bits = np.array([0 if ex else 1 << k for k, ex in enumerate(q.exclusive)], dtype=float)
            x = (rng.random((n, len(q.options))) < 0.5) @ bits  # any subset of the plain options
            for k in np.flatnonzero(q.exclusive):  # ~10%: one exclusive option, alone
                x[rng.random(n) < 0.1] = float(1 << k)
        elif q.kind == PERCENT:
            x = rng.uniform(0.0, 100.0, n)
        elif q.kind == NUMBER:
            x = rng.uniform(q.lower, q.upper, n)
        elif q.kind == RATIO:
            x = rng.uniform(0.0, q.upper, n)
        elif q.kind == YESNO:
            x = rng.integers(0, 2, n).astype(float)
        elif q.kind in (TEXT, EVIDENCE):
            x = np.where(rng.random(n) < 0.5, 1.0, np.nan)
        elif q.kind == DERIVED:
            continue  # computed by the engine from its inputs (version 2), never given
        else:
            raise AssertionError(q.kind)
        if not q.required:
            x[rng.random(n) < 0.03] = np.nan
        if q.allow_na:
            mark = rng.random(n) < 0.10
            x[mark], na[mark, col] = np.nan, True
        values[:, col] = x
    return scoring.AnswerArrays(values, na)


def decode(spec: scoring.Spec, values: np.ndarray, na: np.ndarray) -> dict:
    """One encoded row back into the raw answers dict that ``scoring.score`` validates."""
    out: dict = {}
    for q, x, is_na in zip(spec.questions, values.tolist(), na.tolist(), strict=True):
        if q.kind == DERIVED:
            continue  # filled in by the batch scoring, never part of the answers
        if is_na:
            out[q.id] = scoring.NA
        elif x != x:  # NaN: unanswered, omitted
            continue
        elif q.kind == SINGLE:
            out[q.id] = q.options[int(x)]
        elif q.kind == MULTI:
            out[q.id] = [o for k, o in enumerate(q.options) if int(x) >> k & 1]
        elif q.kind == RATIO:
            out[q.id] = {"numerator": x / q.scale, "denominator": 1}
        elif q.kind == YESNO:
            out[q.id] = bool(x)
        elif q.kind in (TEXT, EVIDENCE):
            out[q.id] = "已提供"
        else:
            out[q.id] = x
    return out


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    ap.add_argument(
        "--questionnaire-version", type=int, default=None, help="default: the latest published"
    )
    args = ap.parse_args()

    spec = spec_for("petrochemicals", args.questionnaire_version)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    arrays = generate(spec, args.n, rng)
    encode_s = time.perf_counter() - t0

    scoring.score_batch(spec, arrays)  # warm-up
    batch_s = median_time(lambda: scoring.score_batch(spec, arrays), args.repeat)
    batch = scoring.score_batch(spec, arrays)

    rows = np.sort(rng.choice(args.n, size=min(args.sample, args.n), replace=False))
    dicts = [decode(spec, arrays.values[r], arrays.na[r]) for r in rows]
    t0 = time.perf_counter()
    cards = [scoring.score(spec, d) for d in dicts]
    passes = [time.perf_counter() - t0]
    while len(passes) < 3 and passes[0] < 10:  # median of 3 passes, unless one pass is slow
        passes.append(median_time(lambda: [scoring.score(spec, d) for d in dicts], 1))
    single_s = statistics.median(passes)
    single_per_s = len(rows) / single_s

    filled = np.nan_to_num(arrays.values, nan=0.0)
    membership = spec.arrays.membership
    filled @ membership  # warm-up
    floor_s = median_time(lambda: filled @ membership, args.repeat)

    single_overall = np.array([c.overall for c in cards])
    worst = float(np.max(np.abs(batch.overall[rows] - single_overall), initial=0.0))
    ok = worst <= 1e-9

    fig = {
        "n": args.n,
        "questions": len(spec.questions),
        "batch_s": batch_s,
        "single_per_s": single_per_s,
        "speedup": (args.n / batch_s) / single_per_s,
        "floor_s": floor_s,
        "floor_ratio": batch_s / floor_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "repeat": args.repeat,
        "sample": len(rows),
        "encode_s": encode_s,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if args.json:
        print(json.dumps(fig))
        if not ok:
            print(f"MISMATCH: batch vs single overall differ by {worst:.3g}", file=sys.stderr)
        return 0 if ok else 1

    def met(good: bool) -> str:
        return "met" if good else "NOT met"

    shape = f"{args.n}x{fig['questions']} @ {membership.shape[0]}x{membership.shape[1]}"
    at_n = met(batch_s <= 1.0) if args.n == 200_000 else f"n/a at n={args.n}"
    print(f"scoring benchmark: petrochemicals, python {fig['python']}, numpy {fig['numpy']}")
    print(
        f"  n            {args.n:>10,} assessments x {fig['questions']} questions"
        f" (generated in {encode_s:.2f} s)"
    )
    print(
        f"  batch        {batch_s:>10.3f} s   {args.n / batch_s:>10,.0f} /s"
        f"  (median of {args.repeat})"
    )
    print(
        f"  single       {single_s / len(rows) * 1e3:>10.3f} ms  {single_per_s:>10,.0f} /s"
        f"  ({len(rows)} sampled, median of {len(passes)} pass(es))"
    )
    print(f"  floor        {floor_s:>10.4f} s   (values_filled @ membership, {shape})")
    print(f"  peak RSS     {fig['peak_rss_mb']:>10.0f} MB")
    print("targets:")
    print(f"  batch_s <= 1.0 at n=200000  {batch_s:>8.3f} s   {at_n}")
    print(f"  speedup >= 50               {fig['speedup']:>8,.0f} x   {met(fig['speedup'] >= 50)}")
    print(
        f"  floor_ratio <= 5            {fig['floor_ratio']:>8.1f}     "
        f"{met(fig['floor_ratio'] <= 5)}"
    )
    print(
        f"sanity: batch overall == single overall on {len(rows)} sampled rows "
        f"(max |diff| {worst:.2g}, tol 1e-9): {'OK' if ok else 'MISMATCH'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
