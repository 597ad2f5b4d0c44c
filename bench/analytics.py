"""Benchmark of the cluster analytics (prints figures; not a test).

Writes a synthetic population of --firms firms × --years yearly submitted assessments with their
ScoreRecords straight into a fresh database (SQLite in a temporary folder, or with
--database-url a fresh PostgreSQL database created on that server and dropped after the run):
Jilin City's clusters and parks, firms spread over them, levels that rise year by year with
noise, per-link IT adoption, national-indicator values and answer digests. No answers are
stored and no questionnaire is scored: the analytics read only the stored scores.

Then it measures, each as the median of --repeat runs:

* frame_s          - building the analytics frame from the database (assess.analytics.frame,
                     no cache);
* floor_s          - the floor: the same columns read with one plain SQL query through the same
                     driver into numpy arrays, with nothing else done;
* region_s         - from the frames: every cluster's distribution, adoption series,
                     projection, near adopters, link medians and national indicators, and the
                     region's (the computation of the region view);
* dashboard_p95_ms - the cluster dashboard (GET /cluster) over HTTP, --clients concurrent clients
                     signed in as a manager of every cluster, closed loop for --seconds after a
                     warm-up (the first, cold request is reported apart as dashboard_cold_ms);
* analytics_peak_rss_mb - the peak resident memory of the process that builds the frames and
                     computes the region (each measurement runs in a process of its own; the
                     floor's is printed apart, and the writing of the population counts for
                     neither).

Targets (information, never asserted), on SQLite on a 2-core machine:
5,000 firms: dashboard_p95_ms <= 200 and region_s <= 0.5;
200,000 firms × 8 years: frame_s <= 3 × floor_s, region_s <= 5 and peak RSS <= 2 GB.

    python bench/analytics.py [--firms 5000] [--years 8] [--repeat 5] [--json] [--keep]
                              [--clients 10] [--seconds 10]
                              [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from assess import migrate  # noqa: E402
from assess.analytics.frame import Scope, plain_sql, read_frame  # noqa: E402
from assess.questionnaire.compile import shipped_catalog  # noqa: E402
from assess.questionnaire.region import load_region  # noqa: E402
from assess.store import db  # noqa: E402
from assess.store.models import Cluster, Park, StaffBand  # noqa: E402
from scoring import ASPECTS, LINKS, STAGES  # noqa: E402

REGION = "jilin_city"
FIRST_YEAR = 2013
_BATCH = 20_000


def _indicator_ids() -> list[tuple[str, str]]:
    """(id, measure) of the latest methodology's national indicators."""
    cat = shipped_catalog()
    latest = cat.methodologies[max(cat.methodologies)]
    return [(i.id, i.measure) for i in latest.national_indicators]


def write_population(url: str, firms: int, years: int, seed: int = 7) -> int:
    """Fill the database at ``url`` (migrated) with the synthetic population; returns the rows."""
    engine = db.make_engine(url)
    rng = np.random.default_rng(seed)
    with db.session(engine) as s:
        load_region(s, shipped_catalog().regions[REGION])
    with Session(engine) as s:
        clusters = list(s.exec(select(Cluster).where(Cluster.region_id == REGION)))
        parks = list(s.exec(select(Park).where(Park.region_id == REGION)))
    indicators = _indicator_ids()
    bands = [b.value for b in StaffBand]
    now = datetime(2021, 3, 1, tzinfo=UTC)
    meta = sa.MetaData()
    meta.reflect(engine, only=["enterprise", "assessment", "score_record", "status_change"])
    ent_t, a_t, s_t = (
        meta.tables["enterprise"],
        meta.tables["assessment"],
        meta.tables["score_record"],
    )
    # Firm-level draws.
    c_idx = rng.integers(0, len(clusters), firms)
    p_idx = rng.integers(-1, len(parks), firms)  # -1: no park
    start = rng.normal(42, 12, firms)
    growth = rng.normal(2.6, 1.2, firms)
    link_bias = rng.normal(0, 6, (firms, len(LINKS)))
    written = 0
    with engine.begin() as conn:
        for lo in range(0, firms, _BATCH):
            hi = min(firms, lo + _BATCH)
            n = hi - lo
            ent_rows = [
                {
                    "name": f"企业{i:07d}",
                    "uscc": f"B{i:017d}",
                    "sector": clusters[c_idx[i]].default_sector,
                    "cluster_id": clusters[c_idx[i]].id,
                    "park_id": parks[p_idx[i]].id if p_idx[i] >= 0 else None,
                    "staff_band": bands[i % len(bands)],
                    "contact_name": "",
                    "contact_phone": "",
                    "contact_email": "",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(lo, hi)
            ]
            ids = [r[0] for r in conn.execute(sa.insert(ent_t).returning(ent_t.c.id), ent_rows)]
            a_rows = []
            for k, i in enumerate(range(lo, hi)):
                for y in range(years):
                    year = FIRST_YEAR + y
                    a_rows.append(
                        {
                            "enterprise_id": ids[k],
                            "year": year,
                            "questionnaire": clusters[c_idx[i]].default_sector,
                            "questionnaire_version": 2 if year >= 2020 else 1,
                            "content_hash": "bench",
                            "status": "submitted",
                            "version": 2,
                            "created_at": now,
                            "updated_at": now,
                            "submitted_at": now,
                        }
                    )
            a_ids = [r[0] for r in conn.execute(sa.insert(a_t).returning(a_t.c.id), a_rows)]
            # Yearly figures, vectorised over the batch.
            t = np.arange(years)
            overall = np.clip(
                start[lo:hi, None] + growth[lo:hi, None] * t + rng.normal(0, 3, (n, years)), 0, 100
            )
            links = np.clip(
                overall[:, :, None] + link_bias[lo:hi, None, :] + rng.normal(0, 4, (n, years, 4)),
                0,
                100,
            )
            applied = (rng.random((n, years, 4)) < 1 / (1 + np.exp(-(links - 50) / 7))).astype(int)
            no_shop = rng.random(n) < 0.05  # a few firms without production of their own
            it_links = applied.sum(axis=2) - np.where(no_shop[:, None], applied[:, :, 1], 0)
            rec_rows = []
            for k in range(n):
                for y in range(years):
                    ov = float(overall[k, y])
                    ls = links[k, y]
                    stage = (
                        STAGES[4]
                        if ov >= 78
                        else STAGES[3]
                        if ov >= 58
                        else STAGES[2]
                        if ov >= 38
                        else STAGES[1]
                    )
                    inds = {
                        iid: (
                            round(float(ls[1]), 1)
                            if measure == "mean"
                            else float(rng.random() < ov / 100)
                        )
                        for iid, measure in indicators
                    }
                    rec_rows.append(
                        {
                            "assessment_id": a_ids[k * years + y],
                            "kind": "self",
                            "content_hash": "bench",
                            "overall": ov,
                            **{f"link_{lk}": float(ls[j]) for j, lk in enumerate(LINKS)},
                            **{f"aspect_{a}": ov for a in ASPECTS},
                            "link_production": None if no_shop[k] else float(ls[1]),
                            "stage": stage,
                            "it_adopter": bool(it_links[k, y] >= 3),
                            "it_links": int(it_links[k, y]),
                            "it_needed": 3,
                            **{
                                f"applied_{lk}": (
                                    None
                                    if no_shop[k] and lk == "production"
                                    else int(applied[k, y, j])
                                )
                                for j, lk in enumerate(LINKS)
                            },
                            "missing_required": 0,
                            "flags": int(rng.random() < 0.02),
                            "digest": hashlib.sha256(f"{lo + k}:{y}".encode()).hexdigest(),
                            "indicators": inds,
                            "card": {},
                            "computed_at": now,
                        }
                    )
            conn.execute(sa.insert(s_t), rec_rows)
            written += len(rec_rows)
    engine.dispose()
    return written


def floor_read(url: str) -> dict[str, np.ndarray]:
    """The same columns as the frame, one plain query through the same driver, into numpy."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            cursor = conn.connection.cursor()
            cursor.execute(plain_sql(conn, Scope()))
            rows = cursor.fetchall()
            columns = list(zip(*rows, strict=True)) if rows else []
            return {str(i): np.array(c) for i, c in enumerate(columns)}
    finally:
        engine.dispose()


def _bench_http() -> Any:
    """bench/http.py, loaded by path: its helpers create and drop a PostgreSQL database."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_http", os.path.join(_HERE, "http.py"))
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("bench_http")
    if module is None:
        module = sys.modules["bench_http"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def median_time(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def region_work(url: str) -> Callable[[], Any]:
    """The region view's computation from the frames: every cluster's distribution, adoption
    series and projection, near adopters, link medians and national indicators, and the
    region's, for the last year (what assess.analytics.region_view caches per filter)."""
    from assess.analytics.region_view import region_figures
    from assess.analytics.views import _targets

    engine = db.make_engine(url)
    with Session(engine) as s:
        frame = read_frame(s, Scope(region=REGION))
        year = int(frame["year"].max())
        year_frame = read_frame(
            s, Scope(region=REGION, first_year=year, last_year=year, extras=("indicators",))
        )
        targets = _targets(s, REGION)
    engine.dispose()
    codes = sorted(str(c) for c in frame["cluster"].cat.categories)

    def work() -> Any:
        ind = [c for c in year_frame.columns if c.startswith("ind.")]
        with_ind = frame.merge(year_frame[["assessment", *ind]], on="assessment", how="left")
        return region_figures(with_ind, year, targets, codes)

    return work


def dashboard_http(url: str, folder: Path, clients: int, seconds: float) -> dict[str, Any]:
    """GET /cluster (all of a manager's clusters: every cluster of the region) over HTTP, from
    ``clients`` signed-in clients at once, closed loop, after a warm-up that fills the cache."""
    import asyncio

    from assess.accounts.users import create_user

    h = _bench_http()
    engine = db.make_engine(url)
    with db.session(engine) as s:
        ids = [c.id for c in s.exec(select(Cluster).where(Cluster.region_id == REGION))]
        create_user(
            s,
            username="bench-manager",
            password=h.PASSWORD,
            role="cluster_manager",
            cluster_ids=tuple(i for i in ids if i is not None),
        )
    engine.dispose()
    server = h.start_server(url, folder)

    async def run() -> dict[str, Any]:
        await h.wait_healthy(server, timeout=120)
        users = [h.Client(h.HOST, server.port) for _ in range(clients)]
        for c in users:
            await h.sign_in(c, "bench-manager")
        first = users[0]
        t0 = time.perf_counter()
        r = await first.request("GET", "/cluster")
        cold = time.perf_counter() - t0
        if r.status != 200:
            raise RuntimeError(f"GET /cluster: {r.status}\n{r.text[:500]}")

        def work(c: Any) -> Callable[[], Any]:
            async def one() -> int:
                return (await c.request("GET", "/cluster")).status

            return one

        phase = await h.closed_loop([work(c) for c in users], seconds, 1.0)
        for c in users:
            await c.close()
        out = phase.summary()
        out["cold_ms"] = cold * 1e3
        return out

    try:
        return asyncio.run(run())
    finally:
        server.stop()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, url: str, repeat: int) -> dict[str, Any]:
    """One measurement, run in a fresh process so that its peak memory is its own."""
    out: dict[str, Any] = {}
    if name == "analytics":
        engine = db.make_engine(url)

        def frame() -> Any:
            with Session(engine) as s:
                return read_frame(s)

        out["frame_s"], f = median_time(frame, repeat)
        out["frame_rows"] = len(f)
        out["frame_mb"] = round(float(f.memory_usage(deep=True).sum()) / 2**20, 1)
        del f
        engine.dispose()
        out["region_s"], _ = median_time(region_work(url), repeat)
    else:
        out["floor_s"], _ = median_time(lambda: floor_read(url), repeat)
    out[f"{name}_peak_rss_mb"] = round(_peak_mb(), 1)
    return out


def _in_child(name: str, url: str, repeat: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--phase",
            name,
            "--url",
            url,
            "--repeat",
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firms", type=int, default=5000)
    ap.add_argument("--years", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--clients", type=int, default=10, help="0: no HTTP measurement")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the SQLite folder and print it")
    ap.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.url, args.repeat)))
        return 0

    folder = Path(tempfile.mkdtemp(prefix="assess-analytics-"))
    server_url = args.database_url
    if server_url:
        url = _bench_http().create_database(server_url)
    else:
        url = f"sqlite:///{folder / 'assess.db'}"
    out: dict[str, Any] = {"firms": args.firms, "years": args.years, "database": url.split(":")[0]}
    try:
        migrate.upgrade(url)
        t0 = time.perf_counter()
        out["rows"] = write_population(url, args.firms, args.years)
        out["populate_s"] = round(time.perf_counter() - t0, 1)
        # Each measurement in a process of its own: its peak memory is its own.
        out.update(_in_child("analytics", url, args.repeat))
        out.update(_in_child("floor", url, args.repeat))
        out["frame_vs_floor"] = out["frame_s"] / out["floor_s"]
        if args.clients:
            fig = dashboard_http(url, folder, args.clients, args.seconds)
            out["dashboard_p95_ms"] = fig["p95_ms"]
            out["dashboard_median_ms"] = fig["median_ms"]
            out["dashboard_cold_ms"] = fig["cold_ms"]
            out["dashboard_rps"] = fig["rps"]
            out["dashboard_errors"] = fig["errors"]
    finally:
        if server_url:
            _bench_http().drop_database(server_url, url)
        if args.keep and not server_url:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>22}: {v:.3f}" if isinstance(v, float) else f"{k:>22}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
