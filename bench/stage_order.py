"""Do the stages order the levels? The level distribution of each stage, per sector, over random
answer sets (see tests/populations.py) and over the demo's yearly assessments.

    python bench/stage_order.py [--n 100000] [--version 2] [--kind maturity|independent]
    python bench/stage_order.py --demo      # the demo population's assessments, per version

For each pair of neighbouring stages it prints the overlap: the share of firms at the higher
stage whose level is below the lower stage's median, and the share of pairs (one firm from each
stage) in which the lower-stage firm has the higher level.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from assess.questionnaire.compile import compile_spec, shipped_catalog
from scoring import score_batch
from tests.populations import population

LADDER = ("initial", "single_coverage", "integration", "innovation")


def pair_overlap(low: np.ndarray, high: np.ndarray, sample: int = 200_000) -> float:
    """P(a random firm of the lower stage has a higher level than one of the higher stage)."""
    rng = np.random.default_rng(0)
    a = rng.choice(low, sample)
    b = rng.choice(high, sample)
    return float(np.mean(a > b))


def order_table(overall: np.ndarray, stage: np.ndarray) -> list[dict]:
    rows = []
    for s in LADDER:
        x = overall[stage == s]
        rows.append(
            {
                "stage": s,
                "n": len(x),
                "p5": float(np.percentile(x, 5)) if len(x) else float("nan"),
                "median": float(np.median(x)) if len(x) else float("nan"),
                "p95": float(np.percentile(x, 95)) if len(x) else float("nan"),
                "values": x,
            }
        )
    return rows


def overlaps(rows: list[dict]) -> list[tuple[str, str, float, float]]:
    out = []
    for lo, hi in itertools.pairwise(rows):
        if len(lo["values"]) < 20 or len(hi["values"]) < 20:
            continue
        below = float(np.mean(hi["values"] < lo["median"]))
        out.append((lo["stage"], hi["stage"], below, pair_overlap(lo["values"], hi["values"])))
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--version", type=int, default=2)
    p.add_argument("--kind", default="maturity", choices=["maturity", "independent"])
    p.add_argument("--demo", action="store_true", help="the demo population instead")
    args = p.parse_args()
    if args.demo:
        demo()
        return
    cat = shipped_catalog()
    for sector in cat.sectors:
        spec = compile_spec(cat.compose(sector, args.version))
        res = score_batch(spec, population(spec, args.n, seed=1, kind=args.kind))
        show(f"{sector} v{args.version} ({args.kind}, n={args.n})", res.overall, res.stage)


def show(title: str, overall: np.ndarray, stage: np.ndarray) -> None:
    """Print each stage's level distribution and the overlap of neighbouring stages."""
    rows = order_table(overall, stage)
    print(f"\n{title}")
    for r in rows:
        print(
            f"  {r['stage']:16s} n={r['n']:6d}  p5={r['p5']:5.1f}  median={r['median']:5.1f}"
            f"  p95={r['p95']:5.1f}"
        )
    for lo, hi, below, pairs in overlaps(rows):
        print(f"  {lo} < {hi}: {below:6.2%} below the lower median; pair overlap {pairs:6.2%}")


def demo() -> None:
    from assess.demo import demo_assessments

    rows = list(demo_assessments())
    for version in sorted({r.version for r in rows}):
        mine = [r for r in rows if r.version == version]
        overall = np.array([r.overall for r in mine])
        stage = np.array([r.stage for r in mine])
        years = sorted({r.year for r in mine})
        show(f"demo, version {version} ({years[0]}–{years[-1]}, n={len(mine)})", overall, stage)


if __name__ == "__main__":
    main()
