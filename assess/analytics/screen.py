"""Which submissions look wrong: the screening of a region's counted assessments, and the ranked
list a cluster manager or an administrator (and, with the next issue, a certifier) works through.

The rules and the outlier score are data (``questionnaires/analytics``). Each flag is given its
reason in both languages from the rule's text, with the figures filled in. The whole region is
screened at once (year-on-year rules need each firm's history; copies and outliers are judged
against every firm of the year), and the result is kept while the data is unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from assess.analytics.frame import Kind, Scope, cached, frame_of
from assess.analytics.privacy import viewer_of
from assess.analytics.vocabulary import Pair, analytics_rules, vocabulary
from assess.store.models import Cluster, Enterprise, Role, User
from scoring import screening as sc

#: Rows of the ranked list per page.
SCREEN_PAGE_SIZE = 50


def screen_rules() -> list[sc.ScreenRule]:
    """The rule checks of the analytics rules in force, as the pure screening takes them."""
    return [
        sc.ScreenRule(
            id=r.id,
            kind=r.kind,
            weight=r.weight,
            max_change=r.max_change,
            max_change_across_versions=r.max_change_across_versions,
            figures=tuple(r.figures) or sc.JUMP_FIGURES,
            max_gap=r.max_gap,
            across_versions=r.across_versions,
        )
        for r in analytics_rules().screening.rules
    ]


@dataclass(frozen=True)
class Screen:
    """A region's screening: every flag, every outlier score, and the ranking."""

    flags: pd.DataFrame
    outliers: pd.DataFrame
    ranking: pd.DataFrame


def screen_frame(frame: pd.DataFrame, year: int) -> Screen:
    """Screen the assessments of ``year`` in a frame that carries every year of the region (for
    each firm's history) and the answer digests. Pure work over the frame."""
    rules = analytics_rules().screening
    flags = sc.rule_flags(frame, screen_rules())
    flags = flags[flags["year"] == year].reset_index(drop=True)
    out = rules.outliers
    # Outliers are judged among the same sector's firms of the same year.
    rows = frame[frame["year"] == year]
    outliers = sc.outlier_scores(rows, out.features, by="sector", min_group=out.min_group)
    ranking = sc.ranking(
        flags, outliers, outlier_threshold=out.threshold, outlier_weight=out.weight
    )
    return Screen(flags, outliers, ranking)


def screening_of(session: Session, region: str, year: int, kind: Kind = "preferred") -> Screen:
    """The screening of the region's assessments of ``year``, from this process's cache while
    the data is unchanged."""

    def compute() -> Screen:
        frame = frame_of(session, Scope(region=region, kind=kind, extras=("digest",)))
        return screen_frame(frame, year)

    return cached(session, ("screen", region, year, kind), compute)


def rule_names() -> dict[str, Pair]:
    """Rule id (and "outlier") → its name in both languages."""
    s = analytics_rules().screening
    names = {r.id: (r.name.zh, r.name.en) for r in s.rules}
    names["outlier"] = (s.outliers.name.zh, s.outliers.name.en)
    return names


@dataclass(frozen=True)
class Reason:
    rule: str
    name: Pair
    text: Pair


def _fmt(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1f}"


def reasons_of(
    flags: pd.DataFrame, outlier: Mapping[str, Any] | None, figure_names: Mapping[str, Pair]
) -> list[Reason]:
    """The flags of one assessment (and its outlier score, if it counts) in words."""
    rules = {r.id: r for r in analytics_rules().screening.rules}
    out: list[Reason] = []
    for row in flags.itertuples(index=False):
        r = rules.get(str(row.rule))
        if r is None:
            continue
        figure = figure_names.get(str(row.figure), (str(row.figure), str(row.figure)))
        values = {
            "before": _fmt(float(row.before)),
            "after": f"{float(row.after):g}"
            if r.kind == "engine_checks"
            else _fmt(float(row.after)),
            "change": (
                f"{float(row.after) - float(row.before):+.1f}"
                if not (math.isnan(float(row.after)) or math.isnan(float(row.before)))
                else "—"
            ),
            "limit": f"{r.max_change:g}",
            "count": str(len(row.other)),
        }
        text = (
            r.reason.zh.format(**values, figure=figure[0]),
            r.reason.en.format(**values, figure=figure[1]),
        )
        out.append(Reason(r.id, (r.name.zh, r.name.en), text))
    if outlier is not None:
        o = analytics_rules().screening.outliers
        score = float(outlier["outlier"])
        if not math.isnan(score) and score >= o.threshold:
            z = outlier.get("z") or {}
            tops = [str(t) for t in outlier.get("top") or ()]
            top_zh = "、".join(
                f"{figure_names.get(t, (t, t))[0]}（z={z.get(t, 0):+.1f}）" for t in tops
            )
            top_en = ", ".join(
                f"{figure_names.get(t, (t, t))[1]} (z={z.get(t, 0):+.1f})" for t in tops
            )
            out.append(
                Reason(
                    "outlier",
                    (o.name.zh, o.name.en),
                    (
                        o.reason.zh.format(score=f"{score:.2f}", top=top_zh or "—"),
                        o.reason.en.format(score=f"{score:.2f}", top=top_en or "—"),
                    ),
                )
            )
    return out


@dataclass(frozen=True)
class ScreenRow:
    rank: int
    assessment: int
    enterprise: int
    name: str
    cluster: Pair
    sector: Pair
    year: int
    priority: float
    outlier: float | None
    reasons: list[Reason]


@dataclass(frozen=True)
class ScreeningView:
    year: int | None
    years: list[int]
    cluster: str | None
    clusters: list[tuple[str, Pair]]
    rows: list[ScreenRow]
    total: int
    page: int
    pages: int
    rules: list[tuple[str, Pair]]  # the rule checks in force, by name
    rules_version: int
    rules_draft: bool


def flagged_assessments(screen: Screen, assessments: Sequence[int]) -> dict[int, list[str]]:
    """Assessment id → the ids of the rules (and "outlier") that flag it, for those given."""
    wanted = set(int(a) for a in assessments)
    out: dict[int, list[str]] = {}
    r = screen.ranking
    for a, rules, outlier in zip(r["assessment"], r["rules"], r["outlier"], strict=True):
        a = int(a)
        if a in wanted:
            names = list(rules)
            o = analytics_rules().screening.outliers
            if not math.isnan(float(outlier)) and float(outlier) >= o.threshold:
                names.append("outlier")
            if names:
                out[a] = names
    return out


def screening_view(
    session: Session,
    user: User,
    year: int | None,
    cluster: str | None,
    kind: Kind = "preferred",
    page: int = 1,
) -> ScreeningView:
    """The ranked list of the viewer's submissions that look wrong (a manager: their own
    clusters' firms; an administrator: every firm), for one year."""
    from assess.analytics.views import _NO_CLUSTER
    from assess.errors import NotFound

    viewer = viewer_of(session, user)
    vocab = vocabulary(session)
    clusters = {c.id: c for c in session.exec(select(Cluster))}
    allowed = [
        c.code
        for i, c in sorted(clusters.items())
        if viewer.sees_all or (viewer.role == Role.cluster_manager and i in viewer.clusters)
    ]
    if cluster is not None and cluster not in allowed:
        raise NotFound(_NO_CLUSTER)
    chosen = [cluster] if cluster else allowed
    regions = sorted({c.region_id for c in clusters.values() if c.code in chosen})
    rules = analytics_rules()
    rule_list = list(rule_names().items())
    if not regions:
        return ScreeningView(
            year, [], cluster, [], [], 0, 1, 1, rule_list, rules.version, rules.draft
        )
    region = regions[0]
    frame = frame_of(session, Scope(region=region, kind=kind))
    years = sorted({int(y) for y in frame["year"].unique()})
    year = year if year is not None else (years[-1] if years else None)
    if year is None:
        return ScreeningView(
            year, years, cluster, [], [], 0, 1, 1, rule_list, rules.version, rules.draft
        )
    screen = screening_of(session, region, year, kind)
    rows = frame[(frame["year"] == year) & frame["cluster"].isin(chosen)]
    rows = rows[viewer.visible(rows["enterprise"])] if not viewer.sees_all else rows
    by_assessment = rows.set_index("assessment")
    ranked = screen.ranking[screen.ranking["assessment"].isin(by_assessment.index)]
    total = len(ranked)
    pages = max(1, math.ceil(total / SCREEN_PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = ranked.iloc[(page - 1) * SCREEN_PAGE_SIZE : page * SCREEN_PAGE_SIZE]
    names = (
        dict(
            session.exec(
                select(Enterprise.id, Enterprise.name).where(
                    col(Enterprise.id).in_(
                        [int(e) for e in by_assessment.loc[shown["assessment"], "enterprise"]]
                    )
                )
            ).all()
        )
        if len(shown)
        else {}
    )
    outliers = screen.outliers.set_index("assessment") if len(screen.outliers) else None
    out_rows = []
    for i, r in enumerate(shown.itertuples(index=False), start=(page - 1) * SCREEN_PAGE_SIZE + 1):
        a = int(r.assessment)
        row = by_assessment.loc[a]
        o = None
        if outliers is not None and a in outliers.index:
            o = outliers.loc[a].to_dict()
        flags = screen.flags[screen.flags["assessment"] == a]
        out_rows.append(
            ScreenRow(
                rank=i,
                assessment=a,
                enterprise=int(row["enterprise"]),
                name=names.get(int(row["enterprise"]), ""),
                cluster=vocab.clusters.get(str(row["cluster"]), ("", "")),
                sector=vocab.sectors.get(str(row["sector"]), ("", "")),
                year=int(row["year"]),
                priority=round(float(r.priority), 2),
                outlier=None if math.isnan(float(r.outlier)) else round(float(r.outlier), 2),
                reasons=reasons_of(flags, o, vocab.figures),
            )
        )
    return ScreeningView(
        year=year,
        years=years,
        cluster=cluster,
        clusters=[(c, vocab.clusters.get(c, (c, c))) for c in allowed],
        rows=out_rows,
        total=total,
        page=page,
        pages=pages,
        rules=rule_list,
        rules_version=rules.version,
        rules_draft=rules.draft,
    )


@dataclass(frozen=True)
class Ranked:
    """One assessment's place in its region-year's screening: its priority and reasons."""

    priority: float
    reasons: list[Reason]


def ranked(session: Session, wanted: Sequence[tuple[int, str, int]]) -> dict[int, Ranked]:
    """For (assessment, region, year) triples: each one's screening priority and reasons, from
    the same screening the cluster managers see (the certifiers' queue sorts by it). An
    assessment the screening does not rank (too few figures) is left out."""
    groups: dict[tuple[str, int], list[int]] = {}
    for a, region, year in wanted:
        groups.setdefault((region, year), []).append(int(a))
    vocab = vocabulary(session)
    out: dict[int, Ranked] = {}
    for (region, year), ids in groups.items():
        screen = screening_of(session, region, year)
        r = screen.ranking[screen.ranking["assessment"].isin(ids)]
        outliers = screen.outliers.set_index("assessment") if len(screen.outliers) else None
        for a, priority in zip(r["assessment"], r["priority"], strict=True):
            a = int(a)
            o = outliers.loc[a].to_dict() if outliers is not None and a in outliers.index else None
            flags = screen.flags[screen.flags["assessment"] == a]
            out[a] = Ranked(round(float(priority), 2), reasons_of(flags, o, vocab.figures))
    return out
