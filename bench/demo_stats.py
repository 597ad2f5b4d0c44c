"""The demo population's yearly series beside the national reference values (prints; not a test).

For each demo year: the number of assessments, the mean overall level and its growth, and the
national headline indicators computed on the methodology's own definitions
(assess.analytics.indicators) over the year's firms: 经营管理数字化普及率 (version 1: ERP in
routine use; version 2: all five of finance, procurement, sales, inventory and HR on digital
systems), ERP uptake, the mean
key-process NC rate (firms with a production shop of their own only), industrial-internet
platform uptake and digital R&D design tools. Then the IT-adoption rate per cluster in the last
year, and the national reference values with their caliber and date (from the methodology
files' national_indicators). The national level (54.5, 2019) is on the national method's own
scale: it is printed as context, never beside our level.

The population is drawn in memory exactly as ``assess demo`` writes it (no database).

    python bench/demo_stats.py [--seed 2014] [--enterprises 420] [--processes N]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict

# bench/scoring.py would shadow the scoring package: drop this folder from the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

from assess.analytics.indicators import FirmAnswers, national_indicators  # noqa: E402
from assess.demo import DemoAssessment, demo_assessments  # noqa: E402
from assess.questionnaire.compile import shipped_catalog  # noqa: E402

COLUMNS = (
    ("digital_management", "数字化管理%"),
    ("erp_uptake", "ERP%"),
    ("key_process_nc_rate", "数控化率"),
    ("industrial_internet_platform", "平台%"),
    ("digital_rd_tools", "研发工具%"),
)


def yearly(population: list[DemoAssessment]) -> dict[int, dict[str, float | int | None]]:
    """Year → n, mean level, adopters' share, flags per assessment, and each indicator."""
    by_year: dict[int, list[DemoAssessment]] = defaultdict(list)
    for a in population:
        by_year[a.year].append(a)
    shops = production(population)
    out: dict[int, dict[str, float | int | None]] = {}
    for year in sorted(by_year):
        rows = by_year[year]
        firms = [FirmAnswers(a.sector, a.version, a.year, a.answers) for a in rows]
        values = {i.id: i.value for i in national_indicators(firms)}
        # The NC rate counts firms with a shop of their own only: version 2 knows which they
        # are; for version 1 years the firm's own version 2 answer says so.
        with_shop = [f for f, a in zip(firms, rows, strict=True) if shops.get(a.uscc) == "own"]
        nc = next(i for i in national_indicators(with_shop) if i.id == "key_process_nc_rate")
        values["key_process_nc_rate"] = nc.value
        out[year] = {
            "n": len(rows),
            "version": max(a.version for a in rows),
            "level": sum(a.overall for a in rows) / len(rows),
            "adoption": sum(a.it_adopter for a in rows) / len(rows),
            "flags": sum(a.flags for a in rows) / len(rows),
            "nc_n": nc.n,
            **{k: values.get(k) for k, _ in COLUMNS},
        }
    return out


def production(population: list[DemoAssessment]) -> dict[str, str]:
    """Firm (credit code) → its answer to core.ctx.production (own, outsourced, none)."""
    return {
        a.uscc: a.answers["core.ctx.production"]
        for a in population
        if "core.ctx.production" in a.answers
    }


def cluster_adoption(population: list[DemoAssessment], year: int) -> dict[str, tuple[int, float]]:
    flags: dict[str, list[bool]] = defaultdict(list)
    for a in population:
        if a.year == year:
            flags[a.cluster].append(a.it_adopter)
    return {k: (len(v), sum(v) / len(v)) for k, v in sorted(flags.items())}


def _fmt(x: float | int | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2014)
    ap.add_argument("--enterprises", type=int, default=420)
    ap.add_argument("--processes", type=int, default=None, help="default: one per CPU")
    args = ap.parse_args()
    population = list(
        demo_assessments(seed=args.seed, enterprises=args.enterprises, processes=args.processes)
    )
    series = yearly(population)
    head = f"{'year':>4} {'v':>2} {'n':>4} {'level':>6} {'growth':>6} {'adopt%':>6} {'flags':>5}"
    head += "".join(f" {label:>9}" for _, label in COLUMNS) + f" {'nc_n':>5}"
    print(f"demo population: seed {args.seed}, {args.enterprises} firms")
    print(head)
    prev = None
    for year, r in series.items():
        level = float(r["level"] or 0.0)
        growth = _fmt(level - prev) if prev is not None else ""
        prev = level
        line = f"{year:>4} {r['version']:>2} {r['n']:>4} {level:>6.1f} {growth:>6} "
        line += f"{100 * float(r['adoption'] or 0):>6.1f} {float(r['flags'] or 0):>5.2f}"
        line += "".join(f" {_fmt(r[k]):>9}" for k, _ in COLUMNS) + f" {r['nc_n']:>5}"
        print(line)
    years = list(series)
    span = years[-1] - years[0]
    mean_growth = float(series[years[-1]]["level"] or 0) - float(series[years[0]]["level"] or 0)
    print(f"mean growth {years[0]}–{years[-1]}: {mean_growth / span:.2f} points a year")
    last = years[-1]
    print(f"\nIT adoption per cluster, {last} (cluster: firms, adopters %):")
    rates = cluster_adoption(population, last)
    for code, (n, share) in rates.items():
        print(f"  {code:<18} {n:>4} {100 * share:6.1f}")
    mean = sum(s for _, s in rates.values()) / len(rates)
    print(f"  {'mean of clusters':<18} {'':>4} {100 * mean:6.1f}   (plan target: 70% by 2020)")

    print("\nNational reference values (methodology version 2; never compare across calibers):")
    meth = shipped_catalog().compose("general", 2).methodology
    for ind in meth.national_indicators:
        if not ind.references:
            continue
        refs = "; ".join(f"{r.value:g}{r.unit} ({r.caliber.en}, {r.date})" for r in ind.references)
        print(f"  {ind.name.zh} ({ind.id}): {refs}")
    for ref in meth.level_references:
        print(
            f"  两化融合发展水平 {ref.value:g} ({ref.caliber.en}, {ref.date}): context only, "
            "on the national method's own scale, not this product's level"
        )


if __name__ == "__main__":
    main()
