"""Benchmark of the web app over real HTTP: autosave capacity, against a bare endpoint, and
report latency (prints figures; not a test).

The app runs under uvicorn (default loop and HTTP parser; --workers processes, default 1) in a
child process, on a fresh SQLite database in a temporary folder, or with --database-url on a
fresh PostgreSQL database created on that server for the run (and dropped after it): the demo
population of ``assess.demo`` when that module exists (so reports have real peers), plus one
enterprise per load client with its user,
a draft 2020 assessment pre-filled with the sector's example answers (``examples/answers``) and
a submitted 2019 one. The load generator is this process: raw asyncio streams, one keep-alive
connection per client, so that it takes little of the machine's CPU from the server.

What is measured:

* autosave - each of --clients signed-in enterprise users POSTs answer changes to its own draft
             (htmx headers, CSRF token, the version read from the last answer), back to back for
             --seconds after a short warm-up: closed loop, no think time, so this is capacity;
* bare     - the same clients, the same way, on GET /ping of the same app (middleware and
             routing, no handler work): the ceiling autosave is compared with;
* report   - GET /assessments/{id}/report of the submitted assessments, --report-requests times
             with --report-concurrency at once, as a cluster manager of every cluster.

Every answer must be 200; anything else (other statuses, dropped connections) is counted as an
error. Also printed: the server's CPU time per request (from /proc: uvicorn and its worker
processes; on PostgreSQL also, apart, the whole database server's) and the share of a CPU the
load generator used. Targets (information, never asserted):
autosave_p95_ms <= 50, autosave_vs_bare (autosave rps / bare rps) >= 0.35 and
report_p95_ms <= 150, on SQLite.

The clients sign in, all at once, before the clock starts. --factory runs another app factory
(module:function, importable with the PYTHONPATH given), to compare a variant with the app as
it is.

With --profile N the server is not started: N autosaves, N report pages and N bare requests go
through the app in this process, in one thread (the threadpool is bypassed), first timed, then
under cProfile, and the costs are printed by area and by function.

    python bench/http.py [--json] [--clients 50] [--seconds 20] [--report-requests 200] [--keep]
                         [--warmup 2] [--report-concurrency 4] [--demo-enterprises 420]
                         [--questionnaire-version 2]
                         [--factory web:create_app] [--mixed] [--profile N [--top 25]]
                         [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                         [--workers 2]
"""

from __future__ import annotations

import os
import sys

# This file is named http.py and scoring.py lies next to it: drop this folder from the path, so
# that `import http` and `import scoring` find the real ones. Its helper module is loaded by path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def _helper(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_load = _helper("_load")
FORM = _load.FORM
AsgiClient, Client, Phase, Requester = _load.AsgiClient, _load.Client, _load.Phase, _load.Requester
closed_loop, fixed_count = _load.closed_loop, _load.fixed_count

ROOT = Path(_HERE).parent
EXAMPLES = ROOT / "examples" / "answers"
HOST = "127.0.0.1"
DEFAULT_FACTORY = "web:create_app"
PASSWORD = "bench-load-password-2020"
#: The numeric questions every sector shares; the clients take turns changing them.
#: The numeric answers the load clients change, per questionnaire version (version 2 renamed
#: the integration share, and several sectors ask their NC rate in their own way).
QUESTIONS_BY_VERSION = {
    1: (
        "core.rd.digital_share",
        "core.prod.nc_rate",
        "core.mkt.online_share",
        "core.int.integrated_share",
    ),
    2: (
        "core.rd.digital_share",
        "core.mkt.online_share",
        "core.int.data_exchange_share",
        "core.ctx.employees",
    ),
}
QUESTIONS = QUESTIONS_BY_VERSION[1]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _version_patterns(questions: tuple[str, ...]) -> dict[str, re.Pattern[str]]:
    return {
        q: re.compile(rf'id="v-{re.escape(q.replace(".", "--"))}" value="(\d+)"') for q in questions
    }


VERSION = _version_patterns(QUESTIONS)
DRAFT_YEAR, REPORT_YEAR = 2020, 2019
TARGETS = {
    "autosave_p95_ms": (50.0, "<="),
    "autosave_vs_bare": (0.35, ">="),
    "report_p95_ms": (150.0, "<="),
}


# --- the population --------------------------------------------------------------------------


@dataclass
class Population:
    """Who the clients sign in as, what they fill in, and which reports are fetched."""

    fillers: list[tuple[str, int]]  # (username, draft assessment id)
    reports: list[int]  # submitted assessment ids
    manager: str  # a cluster manager of every cluster
    demo: bool
    enterprises: int
    assessments: int
    seconds: float


def build_population(
    url: str, clients: int, demo_enterprises: int, version: int | None = None
) -> Population:
    """Migrate a new database at ``url`` and fill it (see the module docstring)."""
    import sqlalchemy as sa
    from argon2 import PasswordHasher
    from sqlmodel import Session, col, func, select

    from assess.accounts import uscc
    from assess.accounts.enterprises import create_enterprise
    from assess.accounts.users import create_user, hash_password
    from assess.assessment.lifecycle import (
        answers_of,
        card_of,
        save_answer,
        start_assessment,
        submit,
    )
    from assess.questionnaire.compile import shipped_catalog
    from assess.questionnaire.region import load_region
    from assess.store import db
    from assess.store.models import Assessment, Cluster, Enterprise, User

    t0 = time.perf_counter()
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    db.upgrade(url)
    engine = db.make_engine(url)
    build_demo = _demo_builder() if demo_enterprises > 0 else None
    fillers, reports = [], []
    with Session(engine, expire_on_commit=False) as s:
        if build_demo is not None:
            build_demo(s, seed=2014, enterprises=demo_enterprises)
            s.commit()
        load_region(s, shipped_catalog().regions["jilin_city"])
        clusters = list(s.exec(select(Cluster).order_by(Cluster.id)))  # type: ignore[arg-type]
        folder = EXAMPLES / f"v{version}" if version and version > 1 else EXAMPLES
        answers = {
            p.stem: json.loads(p.read_text(encoding="utf-8"))["answers"]
            for p in folder.glob("*.json")
        }
        for i in range(clients):
            cluster = clusters[i % len(clusters)]
            sector = cluster.default_sector
            ent = create_enterprise(
                s,
                name=f"压测企业{i + 1:04d}",
                uscc=uscc.make(f"91220299{i + 1:08d}"),  # division 220299: never a demo code
                sector=sector,
                cluster_id=cluster.id,
                staff_band="300_999",
            )
            name = f"bench-{i + 1:04d}"
            create_user(
                s,
                username=name,
                password=PASSWORD,
                role="enterprise",
                enterprise_id=ent.id,
                hasher=fast,
            )
            done = start_assessment(s, ent, REPORT_YEAR, by_user=None, version=version)
            draft = start_assessment(s, ent, DRAFT_YEAR, by_user=None, version=version)
            for a in (done, draft):
                for qid, value in answers[sector].items():
                    save_answer(s, a, qid, value, "", base_version=0, by_user=None)
            rows = answers_of(s, done)
            for e in card_of(s, done).exemptions:  # version 2: each needs a reason
                row = rows[e.question]
                save_answer(
                    s, done, e.question, row.value, "说明", base_version=row.version, by_user=None
                )
            submit(s, done, pledge=True, by_user=None)
            fillers.append((name, draft.id or 0))
            reports.append(done.id or 0)
        create_user(
            s,
            username="bench-cluster",
            password=PASSWORD,
            role="cluster_manager",
            cluster_ids=[c.id for c in clusters if c.id is not None],
            hasher=fast,
        )
        # Sign-in rehashes a cheap hash with the production parameters (a second argon2 run):
        # give every bench user one production hash, made once, instead.
        names = [u for u, _ in fillers] + ["bench-cluster"]
        shared = hash_password(PASSWORD)
        s.exec(sa.update(User).where(col(User.username).in_(names)).values(password_hash=shared))
        s.commit()
        n_ent = s.exec(select(func.count()).select_from(Enterprise)).one()
        n_ass = s.exec(select(func.count()).select_from(Assessment)).one()
    engine.dispose()
    return Population(
        fillers,
        reports,
        "bench-cluster",
        build_demo is not None,
        int(n_ent),
        int(n_ass),
        time.perf_counter() - t0,
    )


def _demo_builder() -> Callable[..., Any] | None:
    """``assess.demo.build_demo`` if that module is there (it is being written alongside)."""
    if importlib.util.find_spec("assess.demo") is None:
        return None
    fn = getattr(importlib.import_module("assess.demo"), "build_demo", None)
    return fn if callable(fn) else None


# --- the server ------------------------------------------------------------------------------


def sa_url(url: str) -> Any:
    import sqlalchemy as sa

    return sa.engine.make_url(url)


def create_database(server_url: str) -> str:
    """A new, empty database on the PostgreSQL server of ``server_url``; its URL."""
    import sqlalchemy as sa

    base = sa_url(server_url)
    if base.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must name a PostgreSQL server (postgresql+psycopg://…)")
    name = f"bench_http_{secrets.token_hex(5)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return str(base.set(database=name).render_as_string(hide_password=False))


def drop_database(server_url: str, url: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(sa_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa_url(url).database}" WITH (FORCE)')
    finally:
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _pids() -> list[int]:
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def _cpu_of(pids: list[int]) -> float:
    """User plus system CPU seconds of these processes (those still there)."""
    ticks = 0
    for pid in pids:
        fields = _proc_stat(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """The uvicorn child process, its port and its log file; on PostgreSQL, the database's name."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    database: str | None = None

    def pids(self) -> list[int]:
        """uvicorn and the worker processes under it."""
        family, parents = [self.proc.pid], {self.proc.pid}
        children: dict[int, list[int]] = {}
        for pid in _pids():
            fields = _proc_stat(pid)
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(pid)
        while parents:
            found = [c for p in parents for c in children.get(p, [])]
            family += found
            parents = set(found)
        return family

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the server's processes so far (Linux; NaN elsewhere)."""
        if _proc_stat(self.proc.pid) is None:
            return float("nan")
        return _cpu_of(self.pids())

    def db_cpu_seconds(self) -> float:
        """CPU time of the whole PostgreSQL server so far (NaN on SQLite): its live processes,
        and the backends that have ended (a pool's overflow connections come and go), which
        the kernel adds to the postmaster's children's time. Anything else the same server
        does for other databases meanwhile is counted too: run it on a quiet machine.
        """
        if self.database is None:
            return float("nan")
        ticks = 0
        stats = {}
        for pid in _pids():
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if comm == "postgres" and (fields := _proc_stat(pid)) is not None:
                stats[pid] = fields
        for fields in stats.values():
            ticks += int(fields[11]) + int(fields[12])
            if int(fields[1]) not in stats:  # the postmaster: add its ended children
                ticks += int(fields[13]) + int(fields[14])
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _app_env(url: str, folder: Path) -> dict[str, str]:
    """The settings of the app under test, as the environment variables it reads."""
    return {
        "ASSESS_DATABASE_URL": url,
        "ASSESS_DATA_DIR": str(folder),
        "ASSESS_SECRET_KEY": secrets.token_urlsafe(36),
    }


def start_server(
    url: str, folder: Path, factory: str = DEFAULT_FACTORY, workers: int = 1
) -> Server:
    """uvicorn with ``workers`` worker processes on 127.0.0.1, in a child process, on ``url``."""
    port = free_port()
    env = {**os.environ, **_app_env(url, folder)}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    database = sa_url(url).database if url.startswith("postgresql") else None
    return Server(proc, port, log, database)


async def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    client = Client(HOST, server.port)
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"the server exited ({server.proc.returncode}):\n{server.log_tail()}"
            )
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            if (await client.request("GET", "/healthz")).status == 200:
                await client.close()
                return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no healthy server after {timeout:.0f} s:\n{server.log_tail()}")
        await asyncio.sleep(0.1)


# --- what a client does ----------------------------------------------------------------------


async def sign_in(client: Requester, username: str) -> None:
    """Through the sign-in form, as a browser would (the session cookie is kept)."""
    page = await client.request("GET", "/signin")
    m = CSRF.search(page.text)
    if page.status != 200 or not m:
        raise RuntimeError(f"GET /signin: {page.status}, no CSRF token")
    body = f"username={username}&password={PASSWORD}&csrf_token={m.group(1)}&next=/".encode()
    r = await client.request("POST", "/signin", {"Content-Type": FORM}, body)
    if r.status != 303:
        raise RuntimeError(f"POST /signin as {username}: {r.status}\n{r.text[:500]}")


class Filler:
    """One enterprise user changing numeric answers of its own draft, one request per call."""

    def __init__(self, client: Requester, assessment_id: int) -> None:
        self.client = client
        self.path = f"/assessments/{assessment_id}"
        self.versions: dict[str, int] = {}
        self.headers: dict[str, str] = {}
        self.n = 0

    async def open(self) -> None:
        """The fill page: this session's CSRF token and the versions of the answers shown."""
        page = await self.client.request("GET", self.path)
        m = CSRF.search(page.text)
        if page.status != 200 or not m:
            raise RuntimeError(f"GET {self.path}: {page.status}, no CSRF token")
        self.headers = {"Content-Type": FORM, "HX-Request": "true", "X-CSRF-Token": m.group(1)}
        for q, pattern in VERSION.items():
            v = pattern.search(page.text)
            if v is None:
                raise RuntimeError(f"GET {self.path}: no version field for {q}")
            self.versions[q] = int(v.group(1))

    async def __call__(self) -> int:
        q = QUESTIONS[self.n % len(QUESTIONS)]
        value = 10 + 10 * (self.n // len(QUESTIONS) % 9)  # 10..90, a change every time
        self.n += 1
        body = f"version={self.versions[q]}&value={value}&comment=".encode()
        r = await self.client.request("POST", f"{self.path}/answers/{q}", self.headers, body)
        m = VERSION[q].search(r.text) if r.status == 200 else None
        if m is not None:
            self.versions[q] = int(m.group(1))
        else:  # resynchronise from the question as stored (not timed separately)
            block = await self.client.request("GET", f"{self.path}/answers/{q}", self.headers)
            if (m := VERSION[q].search(block.text)) is not None:
                self.versions[q] = int(m.group(1))
        return r.status


# --- the HTTP run ----------------------------------------------------------------------------


@dataclass
class Figures:
    """Each phase's requests, and the CPU time the server and this process spent on it."""

    phases: dict[str, Phase] = field(default_factory=dict)
    server_cpu: dict[str, float] = field(default_factory=dict)
    db_cpu: dict[str, float] = field(default_factory=dict)
    loadgen_cpu: dict[str, float] = field(default_factory=dict)


async def settle(server: Server, limit: float = 60.0) -> None:
    """Wait until the server is idle: work left over from one phase must not slow the next."""
    deadline = time.perf_counter() + limit
    last = server.cpu_seconds()
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
        now = server.cpu_seconds()
        if not now - last > 0.02:  # under 4% of a CPU (or no /proc)
            return
        last = now


async def _measure(name: str, fig: Figures, server: Server, run: Callable[[], Any]) -> None:
    await settle(server)
    cpu0, db0 = server.cpu_seconds(), server.db_cpu_seconds()
    own0, wall0 = time.process_time(), time.perf_counter()
    fig.phases[name] = await run()
    wall = time.perf_counter() - wall0
    fig.server_cpu[name] = server.cpu_seconds() - cpu0
    fig.db_cpu[name] = server.db_cpu_seconds() - db0
    fig.loadgen_cpu[name] = (time.process_time() - own0) / wall


async def http_run(args: argparse.Namespace, pop: Population, server: Server) -> Figures:
    await wait_healthy(server)
    fig = Figures()
    clients = [Client(HOST, server.port) for _ in pop.fillers]
    fillers = [Filler(c, aid) for c, (_, aid) in zip(clients, pop.fillers, strict=True)]

    async def arrive(f: Filler, username: str) -> None:
        await sign_in(f.client, username)
        await f.open()

    await asyncio.gather(*(arrive(f, u) for f, (u, _) in zip(fillers, pop.fillers, strict=True)))

    async def reconnect() -> None:  # fresh connections: none left idle past keep-alive
        await asyncio.gather(*(c.connect() for c in clients))

    await reconnect()
    await _measure("autosave", fig, server, lambda: closed_loop(fillers, args.seconds, args.warmup))

    async def ping(c: Client) -> int:
        return (await c.request("GET", "/ping")).status

    await reconnect()
    bare = [lambda c=c: ping(c) for c in clients]
    await _measure("bare", fig, server, lambda: closed_loop(bare, args.seconds, args.warmup))

    readers = [Client(HOST, server.port) for _ in range(args.report_concurrency)]
    await sign_in(readers[0], pop.manager)
    for r in readers[1:]:
        r.cookies = dict(readers[0].cookies)
    ids = pop.reports

    async def report(c: Client, i: int) -> int:
        return (await c.request("GET", f"/assessments/{ids[i % len(ids)]}/report")).status

    for r in readers:  # warm each reader's worker: the first report of each questionnaire
        for i in range(min(len(ids), 9)):
            await report(r, i)
    workers = [lambda i, c=c: report(c, i) for c in readers]
    await _measure("report", fig, server, lambda: fixed_count(workers, args.report_requests))
    if args.mixed:
        await mixed_run(args, fig, server, fillers, readers, report, reconnect)
    for c in clients + readers:
        await c.close()
    return fig


async def mixed_run(
    args: argparse.Namespace,
    fig: Figures,
    server: Server,
    fillers: list[Filler],
    readers: list[Client],
    report: Callable[[Client, int], Any],
    reconnect: Callable[[], Any],
) -> None:
    """Both at once: the clients autosave while the readers fetch report pages back to back.

    Autosave runs on the event loop (SQLite), so this shows what a burst of saves does to the
    pages of the same worker. The server's CPU time is the two phases' together.
    """
    await reconnect()
    for r in readers:
        await r.connect()
    n = iter(range(10**9))
    pages = [lambda c=c: report(c, next(n)) for c in readers]

    async def both() -> Phase:
        saves, reads = await asyncio.gather(
            closed_loop(fillers, args.seconds, args.warmup),
            closed_loop(pages, args.seconds, args.warmup),
        )
        fig.phases["mixed_report"] = reads
        return saves

    await _measure("mixed_autosave", fig, server, both)
    fig.server_cpu["mixed_report"] = float("nan")  # counted with mixed_autosave
    fig.db_cpu["mixed_report"] = float("nan")
    fig.loadgen_cpu["mixed_report"] = float("nan")


def _event_loop_runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def result(args: argparse.Namespace, pop: Population, fig: Figures) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, phase in fig.phases.items():
        s = phase.summary()
        for k in ("requests", "errors", "rps", "median_ms", "p95_ms", "p99_ms", "max_ms"):
            out[f"{name}_{k}"] = s[k]
        if s["error_kinds"]:
            out[f"{name}_error_kinds"] = s["error_kinds"]
        done = phase.completed  # the warm-up's requests too: the CPU time covers them
        per_req = fig.server_cpu[name] / done if done else float("nan")
        out[f"{name}_server_cpu_ms_per_request"] = per_req * 1e3
        db_per_req = fig.db_cpu.get(name, float("nan")) / done if done else float("nan")
        out[f"{name}_db_cpu_ms_per_request"] = db_per_req * 1e3
        out[f"{name}_loadgen_cpu_share"] = fig.loadgen_cpu[name]
    out["autosave_vs_bare"] = out["autosave_rps"] / out["bare_rps"] if out["bare_rps"] else 0.0
    out["errors"] = sum(p.summary()["errors"] for p in fig.phases.values())
    out.update(
        clients=args.clients,
        seconds=args.seconds,
        warmup=args.warmup,
        report_concurrency=args.report_concurrency,
        demo=pop.demo,
        enterprises=pop.enterprises,
        assessments=pop.assessments,
        setup_s=pop.seconds,
        cpus=os.cpu_count(),
        python=platform.python_version(),
        factory=args.factory,
        workers=args.workers,
        database="PostgreSQL" if args.database_url else "SQLite",
    )
    return out


def _finite(v: Any) -> Any:
    """NaN (a phase with no answers) as null, so that the output stays strict JSON."""
    return None if isinstance(v, float) and v != v else v


def print_summary(out: dict[str, Any]) -> None:
    demo = "demo population + " if out["demo"] else "no demo population, "
    print(
        f"http benchmark: uvicorn, {out['workers']} worker(s), {out['database']}, "
        f"python {out['python']}, "
        f"{out['cpus']} CPUs; {demo}{out['clients']} load clients"
    )
    print(
        f"  database   {out['enterprises']} enterprises, {out['assessments']} assessments "
        f"(built in {out['setup_s']:.1f} s)"
    )
    print(
        f"  {'phase':<15}{'requests':>9}{'errors':>7}{'rps':>8}  {'median':>9}{'p95':>9}{'p99':>9}"
        f"{'max':>9} ms  {'server CPU':>10}  {'load gen.':>9}"
    )
    for name in ("autosave", "bare", "report", "mixed_autosave", "mixed_report"):
        if f"{name}_requests" not in out:
            continue
        lat = "".join(f"{out[f'{name}_{k}_ms']:>9.1f}" for k in ("median", "p95", "p99", "max"))
        cpu, share = out[f"{name}_server_cpu_ms_per_request"], out[f"{name}_loadgen_cpu_share"]
        db_cpu = out.get(f"{name}_db_cpu_ms_per_request", float("nan"))
        costs = (
            "     (in the row above)"
            if cpu != cpu  # NaN: measured together with the phase above
            else f"{cpu:>6.2f} ms/req{share:>6.0%} CPU"
        )
        if db_cpu == db_cpu:  # PostgreSQL: its own processes' share
            costs += f"   db {db_cpu:.2f} ms/req"
        print(
            f"  {name:<15}{out[f'{name}_requests']:>9}{out[f'{name}_errors']:>7}"
            f"{out[f'{name}_rps']:>8.0f}  {lat}     {costs}"
        )
        if out.get(f"{name}_error_kinds"):
            print(f"  {'':<15}errors: {out[f'{name}_error_kinds']}")
    print(
        f"  ({out['seconds']:g} s closed loop after {out['warmup']:g} s warm-up for autosave and "
        f"bare; report: {out['report_requests']} pages, {out['report_concurrency']} at a time)"
    )
    if out["database"] == "PostgreSQL":
        print(
            "  (server CPU: uvicorn and its workers; db: the whole PostgreSQL server, ended "
            "backends included, apart from server CPU; other databases' work would count too)"
        )
    if "mixed_report_requests" in out:
        print(
            f"  (mixed: autosave and {out['report_concurrency']} report readers at once, closed "
            "loops; the server CPU shown for mixed_autosave covers both)"
        )
    if out["factory"] != DEFAULT_FACTORY:
        print(
            f"targets: not shown, they are the product's ({DEFAULT_FACTORY}); "
            f"this run served {out['factory']}"
        )
        return
    print("targets (information, not a test):")

    def met(good: bool) -> str:
        return "met" if good else "NOT met"

    for key, (bound, sign) in TARGETS.items():
        value = out[key]
        good = value <= bound if sign == "<=" else value >= bound
        shown = f"{value:>10.1f} ms" if key.endswith("_ms") else f"{value:>10.3f}   "
        print(f"  {key} {sign} {bound:<6g}{shown}  {met(good)}")


# --- the in-process profile ------------------------------------------------------------------


@contextlib.contextmanager
def inline_threadpool() -> Iterator[None]:
    """Run what FastAPI sends to worker threads in the calling thread, so one profiler sees it."""
    import anyio.to_thread

    original = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    try:
        yield
    finally:
        anyio.to_thread.run_sync = original  # type: ignore[assignment]


#: (label, file name ending, function): inclusive time per request, where the time goes.
AREAS = [
    ("session cookie: verify", "itsdangerous/timed.py", "loads"),
    ("session cookie: re-sign", "itsdangerous/serializer.py", "dumps"),
    ("form parsing", "web/deps.py", "form_fields"),
    ("current_user", "web/deps.py", "signed_in_user"),
    ("autosave handler (all)", "web/routes/assessments.py", "_save"),
    ("  fillable_assessment", "assess/accounts/access.py", "fillable_assessment"),
    ("  save_from_form", "assess/assessment/lifecycle.py", "save_from_form"),
    ("    save_answer", "assess/assessment/lifecycle.py", "save_answer"),
    ("    stored_values", "assess/assessment/lifecycle.py", "stored_values"),
    ("  commit", "sqlalchemy/orm/session.py", "commit"),
    ("  filling.board", "assess/assessment/filling.py", "board"),
    ("    encode_answers", "scoring/answers.py", "encode_answers"),
    ("    visibility", "scoring/engine.py", "visibility"),
    ("    evaluate", "scoring/engine.py", "evaluate"),
    ("    progress", "assess/assessment/filling.py", "progress"),
    ("  names_of", "assess/assessment/reports.py", "names_of"),
    ("  render _saved.html", "web/htmx.py", "partial"),
    ("report handler (all)", "web/routes/report.py", "report"),
    ("  card_for_report", "assess/assessment/reports.py", "card_for_report"),
    ("  peers_of", "assess/assessment/reports.py", "peers_of"),
    ("  years_of", "assess/assessment/reports.py", "years_of"),
    ("  render report.html", "web/htmx.py", "render"),
    ("sqlite3 execute (all)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("sqlite3 fetch (all)", "~", "<method 'fetchall' of 'sqlite3.Cursor' objects>"),
    ("sqlite3 commit", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("SQL compile (all)", "sqlalchemy/sql/compiler.py", "__init__"),
    ("ORM load rows (all)", "sqlalchemy/orm/loading.py", "instances"),
    ("JSON decode (all)", "json/decoder.py", "decode"),
    (
        "pydantic validate (all)",
        "~",
        "<method 'validate_python' of 'pydantic_core._pydantic_core.SchemaValidator' objects>",
    ),
]


def _inclusive(stats: pstats.Stats, suffix: str, func: str) -> float:
    """Cumulative time of the function; of the outermost one where a file has several of that
    name calling each other (Session.commit → SessionTransaction.commit)."""
    found = [
        ct
        for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        if name == func and file.replace(os.sep, "/").endswith(suffix)
    ]
    return max(found, default=0.0)


async def _timed(work: Callable[[], Any], n: int) -> tuple[float, list[int]]:
    times, statuses = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        statuses.append(await work())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), statuses


async def _profiled(work: Callable[[], Any], n: int) -> tuple[pstats.Stats, float]:
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(n):
        await work()
    prof.disable()
    wall = time.perf_counter() - t0
    return pstats.Stats(prof), wall


def _print_profile(title: str, stats: pstats.Stats, wall: float, n: int, top: int) -> None:
    per = wall / n
    print(f"\n== {title}: {n} requests, {per * 1e3:.2f} ms each under the profiler")
    print(f"  {'where':<28}{'ms/request':>11}{'share':>8}")
    for label, suffix, func in AREAS:
        ct = _inclusive(stats, suffix, func)
        if ct:
            print(f"  {label:<28}{ct / n * 1e3:>11.3f}{ct / wall:>8.0%}")
    if top <= 0:
        return
    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n  top {top} by own time:")
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    for line in lines[start:]:
        if line.strip():
            print("  " + line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", ""))


async def profile_run(args: argparse.Namespace, pop: Population, url: str, folder: Path) -> None:
    os.environ.update(_app_env(url, folder))
    module, _, name = args.factory.partition(":")
    app = getattr(importlib.import_module(module), name)()
    n = args.profile
    with inline_threadpool():
        filler = Filler(AsgiClient(app), pop.fillers[0][1])
        await sign_in(filler.client, pop.fillers[0][0])
        await filler.open()
        reader = AsgiClient(app)
        await sign_in(reader, pop.manager)
        ids = pop.reports
        k = iter(range(10**9))

        async def report() -> int:
            return (
                await reader.request("GET", f"/assessments/{ids[next(k) % len(ids)]}/report")
            ).status

        async def ping() -> int:
            return (await filler.client.request("GET", "/ping")).status

        for work in (filler, report, ping):  # warm caches
            await _timed(work, 20)
        med: dict[str, float] = {}
        for name, work in (("autosave", filler), ("report", report), ("bare", ping)):
            med[name], statuses = await _timed(work, n)
            bad = [s for s in statuses if s != 200]
            if bad:
                print(f"{name}: {len(bad)} answers were not 200: {sorted(set(bad))}")
        print(
            f"in-process, one thread, no profiler, median of {n}: autosave "
            f"{med['autosave'] * 1e3:.2f} ms, report {med['report'] * 1e3:.2f} ms, "
            f"bare /ping {med['bare'] * 1e3:.3f} ms"
        )
        stats, wall = await _profiled(filler, n)
        _print_profile("autosave", stats, wall, n, args.top)
        stats, wall = await _profiled(report, n)
        _print_profile("report", stats, wall, n, args.top)
    app.state.engine.dispose()


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds sent but not counted")
    ap.add_argument("--report-requests", type=int, default=200)
    ap.add_argument("--report-concurrency", type=int, default=4)
    ap.add_argument(
        "--questionnaire-version",
        type=int,
        default=None,
        help="the bench firms' questionnaire version (default: the latest published, as new"
        " assessments; 2 takes examples/answers/v2)",
    )
    ap.add_argument(
        "--demo-enterprises",
        type=int,
        default=420,
        help="size of the assess.demo population (0: none)",
    )
    ap.add_argument(
        "--factory",
        default=DEFAULT_FACTORY,
        help="the app factory uvicorn calls (to compare a variant; default web:create_app)",
    )
    ap.add_argument(
        "--mixed",
        action="store_true",
        help="also run autosave and report pages at the same time (phases mixed_autosave and "
        "mixed_report)",
    )
    ap.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (any database on it): the run creates a fresh database there, "
        "migrates and fills it, and drops it afterwards (default: a SQLite file)",
    )
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (and the database)"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    ap.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile N requests in-process instead"
    )
    ap.add_argument("--top", type=int, default=25, help="functions listed with --profile")
    args = ap.parse_args()
    if args.clients < 1:
        ap.error("--clients must be at least 1")
    if args.workers < 1:
        ap.error("--workers must be at least 1")

    folder = Path(tempfile.mkdtemp(prefix="bench-http-"))
    url = f"sqlite:///{folder / 'assess.db'}"
    if args.database_url:
        url = create_database(args.database_url)
    server: Server | None = None
    try:
        if args.questionnaire_version is None:  # the latest published, as new assessments
            from assess.questionnaire.compile import shipped_catalog

            known = shipped_catalog().versions().values()
            args.questionnaire_version = max(max(v) for v in known if v)
        if args.questionnaire_version > 1:
            global QUESTIONS, VERSION
            QUESTIONS = QUESTIONS_BY_VERSION[args.questionnaire_version]
            VERSION = _version_patterns(QUESTIONS)
        pop = build_population(url, args.clients, args.demo_enterprises, args.questionnaire_version)
        if args.profile:
            with _event_loop_runner() as runner:
                runner.run(profile_run(args, pop, url, folder))
            return 0
        server = start_server(url, folder, args.factory, args.workers)
        try:
            with _event_loop_runner() as runner:
                fig = runner.run(http_run(args, pop, server))
        except Exception:
            print(f"server log (last lines):\n{server.log_tail()}", file=sys.stderr)
            raise
        out = result(args, pop, fig)
        out["report_requests"] = args.report_requests
        if args.json:
            print(json.dumps({k: _finite(v) for k, v in out.items()}))
        else:
            print_summary(out)
        if out["errors"]:
            print(f"server log (last lines):\n{server.log_tail()}", file=sys.stderr)
        return 0
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {folder}" + (f" and {url}" if args.database_url else ""), file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if args.database_url:
                drop_database(args.database_url, url)


if __name__ == "__main__":
    sys.exit(main())
