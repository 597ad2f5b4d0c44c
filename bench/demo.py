"""Time ``assess.demo.build_demo`` on a fresh database (prints figures; not a test).

What is measured, each on a new migrated database (a SQLite file in a temporary folder unless
--url names another):

* build   - the first ``build_demo`` call and its commit: region, population, scores, accounts,
            wall time and CPU time (this process, and its worker processes);
* rerun   - a second call on the same database, which must find everything and write nothing;

and the summary it returns: firms, assessments, and IT adoption per year and per cluster in 2020.
--processes sets how many processes draw and score the firms (default: one per CPU; 1 compares
with all of it in one process). --profile prints where one process's time goes (cProfile).

    python bench/demo.py [--enterprises 420] [--seed 2014] [--repeat 1] [--url URL] [--json]
                         [--processes N] [--profile [--top 30]]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# bench/scoring.py would shadow the scoring package: drop this folder from the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

from sqlmodel import Session, col, select  # noqa: E402

from assess.demo import build_demo  # noqa: E402
from assess.store import db  # noqa: E402
from assess.store.models import Assessment, Cluster, Enterprise, ScoreRecord  # noqa: E402


def _cluster_adoption(session: Session, year: int) -> dict[str, float]:
    rows = session.exec(
        select(Cluster.code, ScoreRecord.it_adopter)
        .join(Enterprise, col(Enterprise.cluster_id) == col(Cluster.id))
        .join(Assessment, col(Assessment.enterprise_id) == col(Enterprise.id))
        .join(ScoreRecord, col(ScoreRecord.assessment_id) == col(Assessment.id))
        .where(Assessment.year == year)
    ).all()
    flags: dict[str, list[bool]] = defaultdict(list)
    for code, adopter in rows:
        flags[code].append(bool(adopter))
    return {k: round(sum(v) / len(v), 3) for k, v in sorted(flags.items())}


def _cpu() -> tuple[float, float]:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def _once(url: str | None, enterprises: int, seed: int, processes: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'demo.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        try:
            cpu0, t0 = _cpu(), time.perf_counter()
            with Session(engine) as s:
                first = build_demo(s, seed=seed, enterprises=enterprises, processes=processes)
                s.commit()
            t1, cpu1 = time.perf_counter(), _cpu()
            with Session(engine) as s:
                again = build_demo(s, seed=seed, enterprises=enterprises)
                s.commit()
                by_cluster = _cluster_adoption(s, 2020)
            t2 = time.perf_counter()
        finally:
            engine.dispose()
    assert again.created is False and again.assessments == first.assessments
    return {
        "build_s": t1 - t0,
        "build_cpu_s": cpu1[0] - cpu0[0],
        "build_workers_cpu_s": cpu1[1] - cpu0[1],
        "processes": first.processes,
        "rerun_s": t2 - t1,
        "enterprises": first.enterprises,
        "assessments": first.assessments,
        "adoption": {y: round(v, 3) for y, v in first.adoption.items()},
        "adoption_2020_by_cluster": by_cluster,
    }


def _profile(url: str | None, enterprises: int, seed: int, top: int) -> None:
    """One build in this process under cProfile: cumulative, then own time."""
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'demo.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        prof = cProfile.Profile()
        try:
            with Session(engine) as s:
                prof.enable()
                build_demo(s, seed=seed, enterprises=enterprises, processes=1)
                s.commit()
                prof.disable()
        finally:
            engine.dispose()
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=420)
    ap.add_argument("--seed", type=int, default=2014)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--url", default=None, help="an empty database (default: a new SQLite file)")
    ap.add_argument("--processes", type=int, default=None, help="default: one per CPU")
    ap.add_argument("--profile", action="store_true", help="cProfile one build (1 process)")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.profile:
        _profile(args.url, args.enterprises, args.seed, args.top)
        return
    runs = [
        _once(args.url, args.enterprises, args.seed, args.processes) for _ in range(args.repeat)
    ]
    out = {
        **runs[-1],
        "build_s": statistics.median(r["build_s"] for r in runs),
        "build_cpu_s": statistics.median(r["build_cpu_s"] for r in runs),
        "build_workers_cpu_s": statistics.median(r["build_workers_cpu_s"] for r in runs),
        "rerun_s": statistics.median(r["rerun_s"] for r in runs),
        "repeat": args.repeat,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"build   {out['build_s']:.1f} s (median of {args.repeat}), "
        f"{out['processes']} process(es); "
        f"CPU {out['build_cpu_s']:.1f} s here + {out['build_workers_cpu_s']:.1f} s in workers "
        f"({os.cpu_count()} CPUs)"
    )
    print(f"rerun   {out['rerun_s']:.2f} s")
    print(f"firms   {out['enterprises']}, assessments {out['assessments']}")
    print("adoption " + "  ".join(f"{y}: {v:.0%}" for y, v in out["adoption"].items()))
    print("2020 by cluster:")
    for code, rate in out["adoption_2020_by_cluster"].items():
        print(f"  {code:<18} {rate:.0%}")


if __name__ == "__main__":
    main()
