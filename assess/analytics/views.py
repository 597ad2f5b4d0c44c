"""The dashboards as plain data: one service per view, rendered as HTML, JSON and Excel alike.

- ``cluster_dashboard``: a cluster manager's clusters (one, or all of theirs) against the
  IT-adoption goal: tiles, the trajectory with its projection, level and stage by year, the
  links against the region, near adopters, national indicators.
- ``member_page``: the member table, sorted, filtered and paged.
- ``region_view``: every cluster of the region side by side, and the heatmaps (administrators;
  cluster managers see it as aggregates only).

Every aggregate passes ``privacy.hidden`` before it is put in a view: a figure a viewer may not
see is replaced by the reason. Numbers are rounded here, once, to what pages show (levels and
percentages to one decimal), so every rendering shows the same figure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col, select

from assess.analytics import frame as frames
from assess.analytics.frame import KINDS, Kind, Scope, cached, frame_of
from assess.analytics.privacy import MIN_GROUP, Hidden, Viewer, hidden, peers_hidden, viewer_of
from assess.analytics.vocabulary import Pair, Vocabulary, analytics_rules, methodology, vocabulary
from assess.errors import Invalid, NotFound, Problem
from assess.questionnaire.schema import Targets
from assess.store.models import Cluster, Enterprise, Park, Region, Role, User
from scoring import LINKS, STAGES
from scoring import benchmarks as bm

# --- Filters ------------------------------------------------------------------------------------

_CODE_RE = re.compile(r"^[a-z0-9_]{1,40}$")
FILTER_KEYS = ("year", "cluster", "park", "sector", "size", "kind")


@dataclass(frozen=True)
class Filters:
    """What a dashboard is narrowed to. None: everything in the viewer's scope; ``year`` None:
    the latest year with data."""

    year: int | None = None
    cluster: str | None = None
    park: str | None = None
    sector: str | None = None
    size: str | None = None
    kind: Kind = "preferred"

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (for links), with some changed."""
        values = {k: getattr(self, k) for k in FILTER_KEYS} | changes
        return {
            k: str(v)
            for k, v in values.items()
            if v not in (None, "") and (k, v) != ("kind", "preferred")
        }


def whole_number(raw: str, least: int, most: int) -> int | None:
    """A typed whole number from ``least`` to ``most`` (ASCII digits only: "²" is a digit to
    Python, not a number); None when it is anything else."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    value = int(raw)
    return value if least <= value <= most else None


def read_year(raw: str, problems: list[Problem]) -> int | None:
    """An assessment year as typed (1990–2100); a fault is added to ``problems``."""
    year = whole_number(raw, 1990, 2100)
    if year is None:
        problems.append(
            Problem(
                "bad_year",
                f"年度“{raw.strip()[:12]}”无效：应为 1990～2100 之间的年份",
                f"year {raw.strip()[:12]!r} is not valid: give a year from 1990 to 2100",
                "year",
            )
        )
    return year


def read_filters(params: Mapping[str, str]) -> Filters:
    """Filters from query parameters; a malformed one is refused with its own message."""
    problems: list[Problem] = []
    raw_year = (params.get("year") or "").strip()
    year = read_year(raw_year, problems) if raw_year else None
    codes: dict[str, str | None] = {}
    for key, zh, en in (
        ("cluster", "集群", "cluster"),
        ("park", "园区", "park"),
        ("sector", "行业", "sector"),
        ("size", "规模", "size band"),
    ):
        value = (params.get(key) or "").strip()
        if value and not _CODE_RE.match(value):
            problems.append(
                Problem(
                    f"bad_{key}",
                    f"{zh}代码“{value[:20]}”无效",
                    f"{en} code {value[:20]!r} is not valid",
                    key,
                )
            )
            value = ""
        codes[key] = value or None
    kind = (params.get("kind") or "preferred").strip()
    if kind not in KINDS:
        problems.append(
            Problem(
                "bad_kind",
                f"评分类型“{kind[:20]}”无效：应为 preferred、self 或 certified",
                f"score kind {kind[:20]!r} is not valid: use preferred, self or certified",
                "kind",
            )
        )
        kind = "preferred"
    if problems:
        raise Invalid(problems)
    return Filters(year, codes["cluster"], codes["park"], codes["sector"], codes["size"], kind)  # type: ignore[arg-type]


# --- Small helpers ------------------------------------------------------------------------------


def _r1(x: Any) -> float | None:
    """A level or percentage as pages show it: one decimal; None for a missing value."""
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else round(v, 1)


def _pct(rate: Any) -> float | None:
    """A rate 0..1 as a percentage with one decimal."""
    if rate is None:
        return None
    v = float(rate)
    return None if math.isnan(v) else round(100.0 * v, 1)


def _targets(session: Session, region: str) -> Targets | None:
    row = session.get(Region, region)
    if row is None or not row.targets:
        return None
    return Targets.model_validate(row.targets)


_NO_CLUSTER = Problem(
    "not_found", "集群不存在或不在您的管理范围内", "no such cluster in your scope"
)


@dataclass(frozen=True)
class Option:
    code: str
    name: Pair


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers (what exists in the viewer's data)."""

    years: list[int]
    clusters: list[Option]
    parks: list[Option]
    sectors: list[Option]
    sizes: list[Option]
    kinds: list[Option]


@dataclass(frozen=True)
class VersionNote:
    """Which questionnaire versions a series mixes, and the years a new one took over."""

    versions: list[int]
    by_year: dict[int, list[int]]
    changed: list[int]  # years whose versions differ from the year before

    @property
    def mixed(self) -> bool:
        return len(self.versions) > 1


def _versions(rows: pd.DataFrame) -> VersionNote:
    by_year: dict[int, list[int]] = {}
    if len(rows):
        for y, vs in rows.groupby("year", sort=True)["version"]:
            by_year[int(y)] = sorted({int(v) for v in vs})
    changed = [
        y
        for prev, y in zip(by_year, list(by_year)[1:], strict=False)
        if by_year[y] != by_year[prev]
    ]
    return VersionNote(sorted({v for vs in by_year.values() for v in vs}), by_year, changed)


@dataclass(frozen=True)
class Scoped:
    """The rows a view works on: the region's frame, narrowed to the viewer and the filters."""

    region: str
    frame: pd.DataFrame  # the whole region (for region medians), kind as asked
    rows: pd.DataFrame  # the chosen clusters (or all in scope) after park/sector/size filters
    clusters: list[str]  # the cluster codes shown
    year: int | None  # the year the figures are for (None: no data at all)
    years: list[int]


def _region_of(session: Session, viewer: Viewer, cluster_codes: Sequence[str]) -> str | None:
    q = select(Cluster.region_id).distinct()
    if cluster_codes:
        q = q.where(col(Cluster.code).in_(cluster_codes))
    regions = sorted(session.exec(q))
    return regions[0] if regions else None


def _narrow(frame: pd.DataFrame, f: Filters, clusters: Sequence[str]) -> pd.DataFrame:
    mask = frame["cluster"].isin(list(clusters)).to_numpy().copy()
    for key in ("park", "sector", "size"):
        value = getattr(f, key)
        if value is not None:
            mask &= (frame[key] == value).to_numpy()
    return frame[mask]


def _scoped(session: Session, viewer: Viewer, f: Filters, own_only: bool) -> Scoped:
    """The frame for a view. ``own_only``: the viewer's own clusters (a manager's dashboard);
    else every cluster of the region (the region view)."""
    managed = {c.id: c.code for c in session.exec(select(Cluster))}
    if viewer.role == Role.cluster_manager and own_only:
        mine = [managed[i] for i in sorted(viewer.clusters) if i in managed]
    else:
        mine = sorted(managed.values())
    if f.cluster is not None:
        if f.cluster not in mine:
            raise NotFound(_NO_CLUSTER)
        chosen = [f.cluster]
    else:
        chosen = mine
    region = _region_of(session, viewer, chosen) if chosen else None
    if region is None:
        empty = frames.read_frame(session, Scope(region="\x00none"))
        return Scoped("", empty, empty, [], None, [])
    whole = frame_of(session, Scope(region=region, kind=f.kind))
    rows = _narrow(whole, f, chosen)
    years = sorted({int(y) for y in whole["year"].unique()})
    year = f.year if f.year is not None else (years[-1] if years else None)
    return Scoped(region, whole, rows, chosen, year, years)


def _choices(session: Session, vocab: Vocabulary, scoped: Scoped, viewer: Viewer) -> FilterChoices:
    rows = scoped.frame
    in_scope = rows[
        rows["cluster"].isin(
            scoped.clusters if viewer.role == Role.cluster_manager else rows["cluster"].unique()
        )
    ]

    def options(names: Mapping[str, Pair], codes: Sequence[str]) -> list[Option]:
        return [Option(c, names.get(c, (c, c))) for c in codes]

    managed = [
        c
        for c in vocab.clusters
        if viewer.role != Role.cluster_manager or c in _own_codes(session, viewer)
    ]
    return FilterChoices(
        years=scoped.years,
        clusters=options(vocab.clusters, sorted(managed, key=lambda c: vocab.clusters[c])),
        parks=options(vocab.parks, sorted({str(p) for p in in_scope["park"].unique()})),
        sectors=options(vocab.sectors, sorted({str(s) for s in in_scope["sector"].unique()})),
        sizes=options(
            vocab.sizes, [s for s in vocab.sizes if s in set(in_scope["size"].astype(str))]
        ),
        kinds=options(vocab.kinds, list(KINDS)),
    )


def _own_codes(session: Session, viewer: Viewer) -> set[str]:
    if not viewer.clusters:
        return set()
    return set(session.exec(select(Cluster.code).where(col(Cluster.id).in_(viewer.clusters))))


# --- The cluster dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tiles:
    members: int  # enterprises in the chosen clusters (after the filters), assessed or not
    assessed: int  # of them, with a counted assessment in the year
    submission_rate: float | None  # assessed / members, %
    adopters: int
    adoption_rate: float | None  # %
    target_rate: float | None  # % (the region's goal)
    target_year: int | None
    gap: float | None  # percentage points still missing (0 when met)
    still_needed: int | None  # more adopters needed among the assessed to meet the goal
    change: float | None  # adoption rate change since the year before, points


@dataclass(frozen=True)
class Trajectory:
    years: list[int]  # observed
    rates: list[float | None]  # %, per observed year
    counts: list[int]  # firms assessed per observed year
    adopters: list[int]
    span: list[int]  # the chart's x axis: first observed year to the projection horizon
    glide: list[float | None]  # the planned path, % per span year (baseline → goal, then flat)
    fitted: list[float | None]
    lower: list[float | None]
    upper: list[float | None]
    projected_year: int | None
    projected_range: tuple[int | None, int | None]
    reason: str
    on_track: bool | None
    level: float
    versions: VersionNote
    hidden: Hidden | None = None


@dataclass(frozen=True)
class YearBox:
    year: int
    n: int
    box: tuple[float | None, ...] | None  # min, q1, median, q3, max (None when hidden)
    stages: dict[str, int] | None  # stage → firms
    hidden: Hidden | None = None


@dataclass(frozen=True)
class LinkRow:
    link: str
    name: Pair
    median: float | None  # the chosen clusters
    n: int
    region_median: float | None
    region_n: int
    hidden: Hidden | None = None


@dataclass(frozen=True)
class NearAdopter:
    enterprise: int
    name: str
    assessment: int
    missing: list[Pair]  # the links one of which would make it an adopter
    key_questions: list[tuple[str, Pair]]  # (question id, text) that would count the link


@dataclass(frozen=True)
class IndicatorRow:
    id: str
    name: Pair
    value: float | None
    unit: str  # "%" for a share
    n: int
    left_out: int
    references: list[dict[str, Any]]
    hidden: Hidden | None = None


@dataclass(frozen=True)
class ClusterDashboard:
    filters: Filters
    choices: FilterChoices
    clusters: list[Option]  # shown
    year: int | None
    kind_name: Pair
    adoption_rule: Pair
    targets: dict[str, Any] | None
    tiles: Tiles | None
    trajectory: Trajectory | None
    boxes: list[YearBox]
    links: list[LinkRow]
    near: list[NearAdopter]  # the first NEAR_SHOWN, highest level first
    near_total: int
    near_rate_if: float | None  # % if every near adopter adopted
    indicators: list[IndicatorRow]
    level_references: list[dict[str, Any]]
    versions: VersionNote
    rules_draft: bool
    stage_names: dict[str, Pair] = field(default_factory=dict)


def _trajectory(rows: pd.DataFrame, targets: Targets | None, viewer: Viewer) -> Trajectory | None:
    if not len(rows):
        return None
    rules = analytics_rules().projection
    series = bm.adoption_series(rows, [])
    years = [int(y) for y in series.index]
    rates = [float(r) for r in series["rate"]]
    # Years whose group is too small for this viewer are left out of the line and the fit.
    shown_years, shown_rates, counts, adopters = [], [], [], []
    for y, r in zip(years, rates, strict=True):
        ids = rows.loc[rows["year"] == y, "enterprise"].to_numpy()
        if hidden(ids, viewer) is None:
            shown_years.append(y)
            shown_rates.append(r)
        counts.append(int(series.loc[y, "n"]))
        adopters.append(int(series.loc[y, "adopters"]))
    goal_rate = targets.adoption_goal.rate if targets else None
    goal_year = targets.adoption_goal.year if targets else (years[-1] if years else 0)
    horizon = max(goal_year, years[-1]) + rules.horizon_years
    proj = bm.project(
        shown_years,
        shown_rates,
        goal_rate if goal_rate is not None else 1.0,
        goal_year,
        level=rules.level,
        horizon=horizon,
        min_years=rules.min_years,
    )
    span = list(range(years[0], horizon + 1))
    if targets is not None:
        b, g = targets.adoption_baseline, targets.adoption_goal
        path = bm.glide_path(
            b.year, b.rate, g.year, g.rate, [y for y in span if b.year <= y <= g.year]
        )
        glide = [_pct(path.get(y, g.rate if y > g.year else None)) for y in span]
    else:
        glide = [None for _ in span]
    rate_of = dict(zip(shown_years, shown_rates, strict=True))
    return Trajectory(
        years=years,
        rates=[_pct(rate_of.get(y)) for y in years],
        counts=counts,
        adopters=adopters,
        span=span,
        glide=glide,
        fitted=[_pct(proj.fitted.get(y)) for y in span],
        lower=[_pct(proj.lower.get(y)) if proj.band else None for y in span],
        upper=[_pct(proj.upper.get(y)) if proj.band else None for y in span],
        projected_year=proj.projected_year,
        projected_range=proj.projected_range,
        reason=proj.reason if goal_rate is not None else "no_target",
        on_track=proj.on_track if goal_rate is not None else None,
        level=proj.level,
        versions=_versions(rows),
        hidden=None if shown_years else hidden(rows["enterprise"].to_numpy(), viewer),
    )


def _boxes(rows: pd.DataFrame, viewer: Viewer) -> list[YearBox]:
    out: list[YearBox] = []
    if not len(rows):
        return out
    dist = bm.distribution(rows, ["year"], "overall")
    for y in dist.index:
        ids = rows.loc[rows["year"] == y, "enterprise"].to_numpy()
        why = hidden(ids, viewer)
        d = dist.loc[y]
        out.append(
            YearBox(
                year=int(y),
                n=int(d["n"]),
                box=None if why else tuple(_r1(d[k]) for k in ("min", "q1", "median", "q3", "max")),
                stages=None if why else {s: int(d[f"stage.{s}"]) for s in STAGES},
                hidden=why,
            )
        )
    return out


def _links(scoped: Scoped, viewer: Viewer, vocab: Vocabulary) -> list[LinkRow]:
    if scoped.year is None:
        return []
    now = scoped.rows[scoped.rows["year"] == scoped.year]
    region_now = scoped.frame[scoped.frame["year"] == scoped.year]
    out = []
    for k in LINKS:
        figure = f"link.{k}"
        mine = now[figure].dropna()
        theirs = region_now[figure].dropna()
        why = hidden(now.loc[mine.index, "enterprise"].to_numpy(), viewer)
        region_why = hidden(region_now.loc[theirs.index, "enterprise"].to_numpy(), viewer)
        out.append(
            LinkRow(
                link=k,
                name=vocab.links[k],
                median=None if why else _r1(mine.median()) if len(mine) else None,
                n=len(mine),
                region_median=None if region_why else _r1(theirs.median()) if len(theirs) else None,
                region_n=len(theirs),
                hidden=why,
            )
        )
    return out


def _key_questions() -> dict[tuple[str, int], dict[str, list[tuple[str, Pair]]]]:
    """(sector, version) → link → the key-system questions that count IT as applied there."""
    from assess.questionnaire.compile import composed, shipped_catalog

    cat = shipped_catalog()
    out: dict[tuple[str, int], dict[str, list[tuple[str, Pair]]]] = {}
    for sector, versions in cat.versions().items():
        for v in versions:
            q = composed(sector, v)
            by_link: dict[str, list[tuple[str, Pair]]] = {}
            for x in q.questions:
                if getattr(x, "key_system", None) is not None and x.link is not None:
                    by_link.setdefault(str(x.link), []).append((x.id, (x.text.zh, x.text.en)))
            out[(sector, v)] = by_link
    return out


#: Near adopters listed on the dashboard (the member table lists them all).
NEAR_SHOWN = 20


def _near(
    session: Session, scoped: Scoped, viewer: Viewer, vocab: Vocabulary
) -> tuple[list[NearAdopter], int, float | None]:
    """The near adopters the viewer may see, highest level first (at most NEAR_SHOWN), how
    many there are, and the adoption rate if all of them adopted."""
    if scoped.year is None:
        return [], 0, None
    now = scoped.rows[scoped.rows["year"] == scoped.year]
    near = bm.near_adopters(now)
    rows = now.loc[near.index].assign(missing=near["missing"])
    rows = rows[viewer.visible(rows["enterprise"])]
    rows = rows.sort_values(["overall", "enterprise"], ascending=[False, True])
    keys = _key_questions_cached()
    shown = rows.head(NEAR_SHOWN)
    names = _names(session, [int(e) for e in shown["enterprise"]])
    out = []
    for r in shown.itertuples():
        by_link = keys.get((str(r.sector), int(r.version)), {})
        out.append(
            NearAdopter(
                enterprise=int(r.enterprise),
                name=names.get(int(r.enterprise), ""),
                assessment=int(r.assessment),
                missing=[vocab.links[k] for k in r.missing],
                key_questions=[q for k in r.missing for q in by_link.get(k, [])],
            )
        )
    rate_if = bm.rate_if_adopted(now, near) if len(now) else None
    return out, len(rows), _pct(rate_if)


_KEYS: dict[tuple[str, int], dict[str, list[tuple[str, Pair]]]] | None = None


def _key_questions_cached() -> dict[tuple[str, int], dict[str, list[tuple[str, Pair]]]]:
    global _KEYS
    if _KEYS is None:
        _KEYS = _key_questions()
    return _KEYS


def _names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    q = select(Enterprise.id, Enterprise.name).where(col(Enterprise.id).in_(list(ids)))
    return {i: n for i, n in session.exec(q) if i is not None}


def year_rows(session: Session, scoped: Scoped, f: Filters) -> pd.DataFrame:
    """The scoped rows of the year shown, with each national indicator's per-firm values."""
    year_frame = frame_of(
        session,
        Scope(
            region=scoped.region,
            first_year=scoped.year,
            last_year=scoped.year,
            kind=f.kind,
            extras=("indicators",),
        ),
    )
    return _narrow(year_frame, f, scoped.clusters)


def _indicators(session: Session, scoped: Scoped, f: Filters, viewer: Viewer) -> list[IndicatorRow]:
    if scoped.year is None:
        return []
    rows = year_rows(session, scoped, f)
    m = methodology()
    measures = {i.id: ("mean" if i.measure == "mean" else "share") for i in m.national_indicators}
    summary = bm.indicator_summary(rows, list(measures), measures) if len(rows) else None
    why = hidden(rows["enterprise"].to_numpy(), viewer)
    out = []
    for ind in m.national_indicators:
        value = None if summary is None else summary.loc[ind.id]
        out.append(
            IndicatorRow(
                id=ind.id,
                name=(ind.name.zh, ind.name.en),
                value=None if why or value is None else _r1(value["value"]),
                unit="" if ind.measure == "mean" else "%",
                n=0 if value is None else int(value["n"]),
                left_out=0 if value is None else int(value["left_out"]),
                references=[
                    {
                        "value": r.value,
                        "unit": r.unit,
                        "caliber": (r.caliber.zh, r.caliber.en),
                        "date": r.date,
                        "source": r.source,
                    }
                    for r in ind.references
                ],
                hidden=why,
            )
        )
    return out


def cluster_dashboard(session: Session, user: User, f: Filters) -> ClusterDashboard:
    """The dashboard of a cluster manager's clusters (or of any cluster, for an administrator).

    The view depends only on the data, the filters and the viewer's scope: it is kept while the
    data is unchanged, for every viewer with the same scope."""
    viewer = viewer_of(session, user)
    key = ("dashboard", f, viewer.role, viewer.sees_all, viewer.clusters)
    return cached(session, key, lambda: _dashboard(session, viewer, f), small=True)


def _dashboard(session: Session, viewer: Viewer, f: Filters) -> ClusterDashboard:
    vocab = vocabulary(session)
    scoped = _scoped(session, viewer, f, own_only=True)
    targets = _targets(session, scoped.region) if scoped.region else None
    rows = scoped.rows
    year = scoped.year
    tiles = None
    if year is not None:
        now = rows[rows["year"] == year]
        before = rows[rows["year"] == year - 1]
        members = len(_member_table(session, viewer, scoped, f))
        assessed = int(now["enterprise"].nunique())
        adopters = int(now["adopter"].sum())
        rate = adopters / assessed if assessed else None
        rate_before = float(before["adopter"].mean()) if len(before) else None
        why = hidden(now["enterprise"].to_numpy(), viewer)
        goal = targets.adoption_goal.rate if targets else None
        needed = (
            max(0, math.ceil(goal * assessed - adopters - 1e-9))
            if goal is not None and assessed
            else None
        )
        tiles = Tiles(
            members=members,
            assessed=assessed,
            submission_rate=_pct(assessed / members) if members else None,
            adopters=adopters if why is None else 0,
            adoption_rate=_pct(rate) if why is None else None,
            target_rate=_pct(goal),
            target_year=targets.adoption_goal.year if targets else None,
            gap=(
                None
                if goal is None or rate is None or why
                else round(max(0.0, 100 * goal - 100 * rate), 1)
            ),
            still_needed=None if why else needed,
            change=(
                None
                if rate is None or rate_before is None or why
                else round(100 * (rate - rate_before), 1)
            ),
        )
    near, near_total, rate_if = _near(session, scoped, viewer, vocab)
    rules = analytics_rules()
    upto = rows if year is None else rows[(rows["year"] <= year).to_numpy()]
    return ClusterDashboard(
        filters=f,
        choices=_choices(session, vocab, scoped, viewer),
        clusters=[Option(c, vocab.clusters.get(c, (c, c))) for c in scoped.clusters],
        year=year,
        kind_name=vocab.kinds[f.kind],
        adoption_rule=vocab.adoption_rule,
        targets=targets.model_dump(mode="json") if targets else None,
        tiles=tiles,
        # The path up to the year shown: looking at an earlier year shows where things stood.
        trajectory=_trajectory(upto, targets, viewer),
        boxes=_boxes(upto, viewer),
        links=_links(scoped, viewer, vocab),
        near=near,
        near_total=near_total,
        near_rate_if=rate_if,
        indicators=_indicators(session, scoped, f, viewer),
        level_references=[
            {
                "value": r.value,
                "unit": r.unit,
                "caliber": (r.caliber.zh, r.caliber.en),
                "date": r.date,
                "source": r.source,
            }
            for r in methodology().level_references
        ],
        versions=_versions(upto),
        rules_draft=rules.draft,
        stage_names=vocab.stages,
    )


# --- Plain data for JSON ------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A view as JSON-ready data: dataclasses as objects, tuples as lists, NaN as null."""
    from dataclasses import fields, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        for name in ("mixed",):
            if hasattr(value, name):
                out[name] = getattr(value, name)
        return out
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return plain(value.item())
    return value


# --- The member table -----------------------------------------------------------------------

#: Columns the member table sorts by (the default first).
MEMBER_SORTS = (
    "name",
    "sector",
    "park",
    "year",
    "overall",
    "stage",
    "adopter",
    "change",
    "percentile",
)
MEMBER_PAGE_SIZE = 25
MEMBER_SHOW = ("all", "adopters", "non_adopters", "near", "flagged")


@dataclass(frozen=True)
class MemberQuery:
    """How the member table is sorted, filtered and paged."""

    sort: str = "name"
    descending: bool = False
    page: int = 1
    search: str = ""
    show: str = "all"


def read_member_query(params: Mapping[str, str]) -> MemberQuery:
    """The table's own parameters; unknown sorts and filters are refused with a message."""
    problems = []
    sort = params.get("sort") or "name"
    if sort not in MEMBER_SORTS:
        problems.append(
            Problem("bad_sort", f"不能按“{sort[:20]}”排序", f"cannot sort by {sort[:20]!r}", "sort")
        )
    show = params.get("show") or "all"
    if show not in MEMBER_SHOW:
        problems.append(
            Problem("bad_show", f"筛选“{show[:20]}”无效", f"no such filter {show[:20]!r}", "show")
        )
    raw_page = (params.get("page") or "1").strip()
    page = whole_number(raw_page, 1, 100_000)
    if page is None:
        problems.append(
            Problem(
                "bad_page",
                f"页码“{raw_page[:12]}”无效",
                f"page {raw_page[:12]!r} is not valid",
                "page",
            )
        )
        page = 1
    search = (params.get("q") or "").strip()[:100]
    if any(ord(c) < 32 for c in search):
        problems.append(
            Problem(
                "bad_search", "搜索词含控制字符", "the search term holds control characters", "q"
            )
        )
    if problems:
        raise Invalid(problems)
    return MemberQuery(sort, params.get("order") == "desc", page, search, show)


@dataclass(frozen=True)
class MemberRow:
    enterprise: int
    name: str
    cluster: Pair
    sector: Pair
    park: Pair
    year: int | None  # the latest year assessed, up to the chosen year
    assessment: int | None
    overall: float | None
    stage: str | None
    adopter: bool | None
    change: float | None  # overall since the firm's year before
    percentile: float | None  # among the region's firms of its sector that year
    percentile_hidden: Hidden | None
    near: list[Pair]  # links one of which would make it an adopter
    version: int | None
    flags: list[Pair] = field(default_factory=list)  # screening rules that flag its latest year


@dataclass(frozen=True)
class MemberPage:
    filters: Filters
    query: MemberQuery
    year: int | None
    rows: list[MemberRow]
    total: int
    number: int
    size: int
    stage_names: dict[str, Pair]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


def _member_table(session: Session, viewer: Viewer, scoped: Scoped, f: Filters) -> pd.DataFrame:
    """One row per member enterprise the viewer may see, with its latest counted assessment up
    to the year shown and what the table says of it; kept while the data is unchanged."""

    def compute() -> pd.DataFrame:
        q = (
            sa.select(
                col(Enterprise.id),
                col(Enterprise.name),
                col(Enterprise.sector),
                col(Enterprise.staff_band),
                col(Cluster.code),
                col(Enterprise.park_id),
            )
            .join(Cluster, col(Cluster.id) == Enterprise.cluster_id)
            .where(col(Cluster.code).in_(list(scoped.clusters)))
        )
        if f.sector is not None:
            q = q.where(col(Enterprise.sector) == f.sector)
        if f.size is not None:
            q = q.where(col(Enterprise.staff_band) == f.size)
        parks = {p.id: p.code for p in session.exec(select(Park))}
        people = pd.DataFrame(
            [tuple(r) for r in session.execute(q)],
            columns=["enterprise", "name", "sector_code", "size", "cluster_code", "park_id"],
        )
        people["park_code"] = [
            parks.get(int(p), "") if p == p and p else "" for p in people["park_id"]
        ]
        if f.park is not None:
            people = people[people["park_code"] == f.park]
        if not viewer.sees_all:
            people = people[viewer.visible(people["enterprise"])]
        rows = scoped.rows
        if scoped.year is not None:
            rows = rows[(rows["year"] <= scoped.year).to_numpy()]
        ordered = rows.sort_values(["enterprise", "year"])
        change = ordered["overall"] - ordered.groupby("enterprise")["overall"].shift(1)
        latest = ordered.drop_duplicates("enterprise", keep="last").copy()
        latest["change"] = change.reindex(latest.index)
        # Percentile among the region's firms of the same sector in the same year.
        region = scoped.frame
        same_year = region[region["year"].isin(latest["year"].unique())]
        pct = bm.percentile_in_group(same_year, ["year", "sector"], "overall")
        group_n = same_year.groupby(["year", "sector"], observed=True)["enterprise"].transform(
            "nunique"
        )
        keyed = pd.DataFrame(
            {
                "assessment": same_year["assessment"].to_numpy(),
                "percentile": pct.to_numpy(),
                "peers": group_n.to_numpy() - 1,
            }
        )
        latest = latest.merge(keyed, on="assessment", how="left")
        near = bm.near_adopters(latest)
        latest["near"] = [()] * len(latest)
        if len(near):
            latest.loc[near.index, "near"] = near["missing"]
        flagged = _flags_of(session, scoped, f, latest)
        latest["flags"] = [tuple(flagged.get(int(a), ())) for a in latest["assessment"]]
        table = people.merge(latest, on="enterprise", how="left")
        return table.reset_index(drop=True)

    key = ("members", scoped.region, tuple(scoped.clusters), f, viewer.sees_all, viewer.clusters)
    return cached(session, key, compute)


def member_page(session: Session, user: User, f: Filters, q: MemberQuery) -> MemberPage:
    """One page of the member table of the viewer's clusters (names only of firms they may see);
    kept while the data is unchanged, for every viewer with the same scope."""
    viewer = viewer_of(session, user)
    key = ("member_page", f, q, viewer.role, viewer.sees_all, viewer.clusters)
    return cached(session, key, lambda: _member_page(session, viewer, f, q), small=True)


def all_members(session: Session, user: User, f: Filters) -> list[MemberRow]:
    """Every row of the member table under the filters, by name (for exports and print)."""
    viewer = viewer_of(session, user)
    return _member_page(session, viewer, f, MemberQuery(), size=0).rows


def _member_page(
    session: Session, viewer: Viewer, f: Filters, q: MemberQuery, size: int = MEMBER_PAGE_SIZE
) -> MemberPage:
    """The page ``q`` asks for, ``size`` rows to a page (0: every row on one page)."""
    vocab = vocabulary(session)
    scoped = _scoped(session, viewer, f, own_only=True)
    if not scoped.clusters:
        return MemberPage(f, q, scoped.year, [], 0, 1, size or MEMBER_PAGE_SIZE, vocab.stages)
    table = _member_table(session, viewer, scoped, f)
    keep = np.ones(len(table), dtype=bool)
    if q.search:
        needle = q.search.casefold()
        keep &= np.array([needle in str(n).casefold() for n in table["name"]], dtype=bool)
    adopter = table["adopter"]
    if q.show == "adopters":
        keep &= (adopter == True).to_numpy()  # noqa: E712 - missing (never assessed) is not True
    elif q.show == "non_adopters":
        keep &= (adopter == False).to_numpy()  # noqa: E712
    elif q.show == "near":
        keep &= np.array([bool(n) if isinstance(n, tuple) else False for n in table["near"]])
    elif q.show == "flagged":
        keep &= np.array([bool(x) if isinstance(x, tuple) else False for x in table["flags"]])
    shown = table[keep]
    column = {
        "name": "name",
        "sector": "sector_code",
        "park": "park_code",
        "year": "year",
        "overall": "overall",
        "stage": "stage_rank",
        "adopter": "adopter",
        "change": "change",
        "percentile": "percentile_shown",
    }[q.sort]
    shown = shown.assign(
        stage_rank=shown["stage"].map(lambda x: bm.STAGE_ORDER.get(str(x), -1) if x == x else None),
        percentile_shown=shown["percentile"].where(shown["peers"] >= MIN_GROUP),
    )
    shown = shown.sort_values(
        [column, "name"], ascending=[not q.descending, True], na_position="last", kind="stable"
    )
    total = len(shown)
    size = size or max(total, 1)
    pages = max(1, math.ceil(total / size))
    number = min(q.page, pages)
    start = (number - 1) * size
    rows = [_member_row(r, vocab) for r in shown.iloc[start : start + size].itertuples()]
    return MemberPage(f, q, scoped.year, rows, total, number, size, vocab.stages)


def _member_row(r: Any, vocab: Vocabulary) -> MemberRow:
    assessed = r.assessment == r.assessment  # NaN when the firm has no counted assessment
    peers = int(r.peers) if assessed and r.peers == r.peers else 0
    why = peers_hidden(peers) if assessed else None
    names = analytics_rule_names()
    return MemberRow(
        enterprise=int(r.enterprise),
        name=str(r.name),
        cluster=vocab.clusters.get(str(r.cluster_code), ("", "")),
        sector=vocab.sectors.get(str(r.sector_code), (str(r.sector_code),) * 2),
        park=vocab.parks.get(str(r.park_code), ("", "")),
        year=int(r.year) if assessed else None,
        assessment=int(r.assessment) if assessed else None,
        overall=_r1(r.overall) if assessed else None,
        stage=str(r.stage) if assessed else None,
        adopter=bool(r.adopter) if assessed else None,
        change=_r1(r.change) if assessed else None,
        percentile=None if not assessed or why else _r1(r.percentile),
        percentile_hidden=why,
        near=[vocab.links[k] for k in r.near] if assessed and isinstance(r.near, tuple) else [],
        version=int(r.version) if assessed else None,
        flags=[names[x] for x in r.flags] if assessed and isinstance(r.flags, tuple) else [],
    )


def analytics_rule_names() -> dict[str, Pair]:
    """Screening rule id (and "outlier") → its name (from the analytics rules)."""
    from assess.analytics.screen import rule_names

    return rule_names()


def _flags_of(
    session: Session, scoped: Scoped, f: Filters, latest: pd.DataFrame
) -> dict[int, list[str]]:
    """Assessment id → the ids of the screening rules that flag it (the chosen year only)."""
    from assess.analytics.screen import flagged_assessments, screening_of

    if scoped.year is None or not scoped.region:
        return {}
    ids = [int(a) for a in latest.loc[latest["year"] == scoped.year, "assessment"]]
    screen = screening_of(session, scoped.region, scoped.year, f.kind)
    return flagged_assessments(screen, ids)
