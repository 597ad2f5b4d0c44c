"""Every cluster of a region side by side: the region view, as plain data.

Administrators see every figure. Cluster managers see it too, as aggregates only: a cluster of
fewer than ``privacy.MIN_GROUP`` assessed firms shows its figures only to its own manager. No firm
is named here.

``region_figures`` is the computation (pure work over the frame, also what bench/analytics.py
times); ``region_view`` adds scope, names and the privacy rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlmodel import Session, col, select

from assess.analytics.frame import cached
from assess.analytics.privacy import Hidden, Viewer, hidden, viewer_of
from assess.analytics.views import (
    FilterChoices,
    Filters,
    Option,
    VersionNote,
    _choices,
    _pct,
    _r1,
    _targets,
    _versions,
    year_rows,
)
from assess.analytics.vocabulary import Pair, analytics_rules, methodology, vocabulary
from assess.questionnaire.schema import Targets
from assess.store.models import Cluster, User
from scoring import LINKS, STAGES
from scoring import benchmarks as bm


@dataclass(frozen=True)
class GroupFigures:
    """One cluster's (or the region's) figures in the year, and its path toward the goal."""

    code: str  # "" for the whole region
    n: int
    median: float | None
    q1: float | None
    q3: float | None
    stages: dict[str, int]
    adopters: int
    rate: float | None  # adoption rate, %
    change: float | None  # points since the year before
    reason: str  # of the projection (see scoring.benchmarks.REASONS), or "no_target"
    projected_year: int | None
    on_track: bool | None
    near: int  # firms one link short
    links: dict[str, float | None]  # median per link
    rates: dict[int, float | None]  # adoption rate per year, %
    indicators: dict[str, float | None]  # national indicators (share %, or mean)


def _project(years: list[int], rates: list[float], targets: Targets | None) -> bm.Projection | None:
    if targets is None:
        return None
    rules = analytics_rules().projection
    goal = targets.adoption_goal
    return bm.project(
        years,
        rates,
        goal.rate,
        goal.year,
        level=rules.level,
        horizon=max(goal.year, max(years, default=goal.year)) + rules.horizon_years,
        min_years=rules.min_years,
    )


def region_figures(
    frame: pd.DataFrame, year: int, targets: Targets | None, clusters: Sequence[str]
) -> list[GroupFigures]:
    """The figures of each cluster in ``clusters`` and, first, of them all together ("")."""
    measures = {
        i.id: ("mean" if i.measure == "mean" else "share")
        for i in methodology().national_indicators
    }
    ids = [i for i in measures if f"ind.{i}" in frame.columns]
    out = []
    frame = frame[(frame["year"] <= year).to_numpy()]  # where things stood in that year
    for code in ["", *clusters]:
        rows = frame if code == "" else frame[(frame["cluster"] == code).to_numpy()]
        now = rows[rows["year"] == year]
        before = rows[rows["year"] == year - 1]
        series = bm.adoption_series(rows, []) if len(rows) else None
        years = [int(y) for y in series.index] if series is not None else []
        rates = [float(r) for r in series["rate"]] if series is not None else []
        proj = _project(years, rates, targets) if years else None
        dist = bm.distribution(now, [], "overall").iloc[0] if len(now) else None
        rate = float(now["adopter"].mean()) if len(now) else None
        summary = bm.indicator_summary(now, ids, measures) if len(now) and ids else None
        out.append(
            GroupFigures(
                code=code,
                n=len(now),
                median=None if dist is None else _r1(dist["median"]),
                q1=None if dist is None else _r1(dist["q1"]),
                q3=None if dist is None else _r1(dist["q3"]),
                stages={s: (0 if dist is None else int(dist[f"stage.{s}"])) for s in STAGES},
                adopters=int(now["adopter"].sum()) if len(now) else 0,
                rate=_pct(rate),
                change=(
                    round(100 * (rate - float(before["adopter"].mean())), 1)
                    if rate is not None and len(before)
                    else None
                ),
                reason=proj.reason if proj is not None else "no_target",
                projected_year=proj.projected_year if proj is not None else None,
                on_track=proj.on_track if proj is not None else None,
                near=len(bm.near_adopters(now)) if len(now) else 0,
                links={k: _r1(now[f"link.{k}"].median()) if len(now) else None for k in LINKS},
                rates={y: _pct(r) for y, r in zip(years, rates, strict=True)},
                indicators=(
                    {} if summary is None else {i: _r1(summary.loc[i, "value"]) for i in ids}
                ),
            )
        )
    return out


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: Pair
    figures: GroupFigures | None  # None when hidden from this viewer
    hidden: Hidden | None
    own: bool  # one of the viewer's own clusters


@dataclass(frozen=True)
class RegionView:
    filters: Filters
    choices: FilterChoices
    year: int | None
    years: list[int]
    region: Pair
    targets: dict[str, object] | None
    total: GroupFigures | None
    rows: list[RegionRow]
    links: list[Option]
    stages: dict[str, Pair]
    indicators: list[Option]
    indicator_units: dict[str, str]
    versions: VersionNote
    rules_draft: bool


def region_view(session: Session, user: User, f: Filters) -> RegionView:
    """Every cluster of the region side by side (filters: year, park, sector, size, kind)."""
    from assess.analytics.views import _scoped
    from assess.store.models import Region

    viewer = viewer_of(session, user)
    vocab = vocabulary(session)
    # The region view shows every cluster: the cluster filter does not narrow it.
    scoped = _scoped(
        session,
        Viewer(viewer.role, True, frozenset(), frozenset()),
        Filters(year=f.year, park=f.park, sector=f.sector, size=f.size, kind=f.kind),
        own_only=False,
    )
    region_row = session.get(Region, scoped.region) if scoped.region else None
    codes = sorted(scoped.clusters, key=lambda c: vocab.clusters.get(c, (c, c)))
    targets = _targets(session, scoped.region) if scoped.region else None
    m = methodology()
    units = {i.id: ("" if i.measure == "mean" else "%") for i in m.national_indicators}
    choices = _choices(session, vocab, scoped, viewer)
    if scoped.year is None:
        return RegionView(
            f,
            choices,
            None,
            [],
            ("", ""),
            None,
            None,
            [],
            [],
            vocab.stages,
            [],
            units,
            _versions(scoped.rows),
            analytics_rules().draft,
        )
    frame = scoped.rows

    def compute() -> list[GroupFigures]:
        # The indicator columns come from the one-year frame; the rest from every year.
        now = year_rows(session, scoped, f)
        ind = [c for c in now.columns if c.startswith("ind.")]
        with_ind = frame.merge(now[["assessment", *ind]], on="assessment", how="left")
        return region_figures(with_ind, scoped.year or 0, targets, codes)

    key = ("region_figures", scoped.region, f.year, f.park, f.sector, f.size, f.kind)
    figures = cached(session, key, compute)
    mine = select(Cluster).where(col(Cluster.id).in_(viewer.clusters))
    own = {c.code for c in session.exec(mine)}
    rows = []
    for fig in figures[1:]:
        members = frame.loc[
            (frame["cluster"] == fig.code).to_numpy() & (frame["year"] == scoped.year).to_numpy(),
            "enterprise",
        ].to_numpy()
        why = hidden(members, viewer)
        if why is not None and fig.code in own:
            why = None
        rows.append(
            RegionRow(
                code=fig.code,
                name=vocab.clusters.get(fig.code, (fig.code, fig.code)),
                figures=None if why else fig,
                hidden=why,
                own=fig.code in own,
            )
        )
    total_members = frame.loc[frame["year"] == scoped.year, "enterprise"].to_numpy()
    total = figures[0] if hidden(total_members, viewer) is None else None
    return RegionView(
        filters=f,
        choices=choices,
        year=scoped.year,
        years=scoped.years,
        region=(region_row.name_zh, region_row.name_en) if region_row else ("", ""),
        targets=targets.model_dump(mode="json") if targets else None,
        total=total,
        rows=rows,
        links=[Option(k, vocab.links[k]) for k in LINKS],
        stages=vocab.stages,
        indicators=[Option(i.id, (i.name.zh, i.name.en)) for i in m.national_indicators],
        indicator_units=units,
        versions=_versions(frame[(frame["year"] <= scoped.year).to_numpy()]),
        rules_draft=analytics_rules().draft,
    )
