"""Demonstration enterprises (示范企业): the shortlist of one cluster and year, and its decisions.

The candidates come from ``scoring.benchmarks.shortlist`` under the rule of the analytics rules
file (``shortlist``), with the region's largest number of demonstration enterprises per cluster
as the list's length. A cluster manager decides on them: *confirmed* (on the list), *excluded*
(off it, with a reason; the next eligible firm moves up) or *reopened* (the earlier decision
withdrawn, with a reason). Decisions are appended, never changed: the latest row per cluster,
enterprise and year is the one in force.

- ``demonstration_view``: everything the page, its JSON twin and the workbook show.
- ``decide``: record a decision (the caller commits).
- ``confirmed_rows`` and ``workbook``: the export of a view.

Who may do what: a cluster manager reads and decides for their own clusters only; an
administrator reads every cluster but does not decide (the decision is the cluster's own).
A cluster outside the reader's scope does not exist for them (404, as on the dashboard).
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from assess.analytics import views
from assess.analytics.frame import KINDS, Kind
from assess.analytics.privacy import viewer_of
from assess.analytics.screen import flagged_assessments, screening_of
from assess.analytics.vocabulary import Pair, analytics_rules, vocabulary
from assess.errors import Forbidden, Invalid, NotFound, Problem
from assess.questionnaire.schema import Targets
from assess.settings import CHINA_TIME
from assess.store.models import Cluster, DemonstrationDecision, Enterprise, Role, User
from scoring import benchmarks as bm

#: What a manager may decide on a firm.
DECISIONS: tuple[str, ...] = ("confirmed", "excluded", "reopened")
#: The longest reason a decision keeps (the table's column).
REASON_MAX = 500
#: The time zone exports are stamped in.
#: The media type of an .xlsx workbook.

_NOT_MEMBER = Problem(
    "not_member",
    "该企业不存在或不属于此集群",
    "no such enterprise in this cluster",
    "enterprise",
)


# --- The rule -------------------------------------------------------------------------------------


def shortlist_rule(targets: Targets | None = None) -> bm.ShortlistRule:
    """The shortlist rule in force: the thresholds of the analytics rules file, and as its
    length the region's most demonstration enterprises per cluster (the rule's default when
    the region sets none)."""
    r = analytics_rules().shortlist
    extra: dict[str, Any] = {}
    if targets is not None:
        extra["size"] = targets.demo_enterprises_per_cluster_max
    return bm.ShortlistRule(
        min_stage=str(r.min_stage),
        min_overall=float(r.min_overall),
        improvement_years=r.improvement_years,
        min_gain=float(r.min_gain),
        max_fall=float(r.max_fall),
        max_flags=r.max_flags,
        prefer_certified=r.prefer_certified,
        **extra,
    )


def condition_names(rule: bm.ShortlistRule, stages: Mapping[str, Pair]) -> dict[str, Pair]:
    """Each condition of ``CONDITIONS`` in words, with the rule's own numbers."""
    stage = stages.get(rule.min_stage, (rule.min_stage, rule.min_stage))
    flags: Pair = (
        ("当年评估无筛查标记", "no screening flag on the year's assessment")
        if rule.max_flags == 0
        else (
            f"当年评估的筛查标记不超过 {rule.max_flags} 项",
            f"at most {rule.max_flags} screening flag(s) on the year's assessment",
        )
    )
    return {
        "stage_ok": (f"发展阶段达到“{stage[0]}”及以上", f"stage {stage[1]} or above"),
        "overall_ok": (
            f"总体水平不低于 {rule.min_overall:g}",
            f"overall level at least {rule.min_overall:g}",
        ),
        "gain_ok": (
            f"近 {rule.improvement_years} 年至少 2 年有数据，且提升不少于 {rule.min_gain:g} 分",
            f"at least 2 of the last {rule.improvement_years} years assessed, gaining at least"
            f" {rule.min_gain:g} points",
        ),
        "fall_ok": (
            f"任何一年较上年下降不超过 {rule.max_fall:g} 分",
            f"no fall of more than {rule.max_fall:g} points from one year to the next",
        ),
        "flags_ok": flags,
    }


# --- The view -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The decision in force on a firm: what, why, by whom and when."""

    decision: str  # confirmed | excluded
    reason: str
    by: str  # the deciding user's display name, else username
    at: datetime


@dataclass(frozen=True)
class CandidateRow:
    """A firm on the shortlist (or confirmed), with its figures in the year."""

    enterprise: int
    name: str
    assessment: int | None
    overall: float | None
    stage: str | None
    kind: str | None
    gain: float | None  # over the improvement window, points
    years: int  # years with a row in the window
    flags: int
    rank: int | None  # on the shortlist; None for a confirmed firm no longer on it
    decision: Decision | None = None


@dataclass(frozen=True)
class ExcludedRow:
    """A firm taken off the shortlist, and why."""

    enterprise: int
    name: str
    assessment: int | None
    overall: float | None
    decision: Decision


@dataclass(frozen=True)
class OtherRow:
    """An assessed member that is not a candidate, and the conditions it fails (none: it is
    eligible but beyond the list's length)."""

    enterprise: int
    name: str
    assessment: int
    overall: float | None
    stage: str
    gain: float | None
    years: int
    fall: float | None
    conditions: dict[str, bool]
    failed: list[str]
    beyond_size: bool


@dataclass(frozen=True)
class Counts:
    """Confirmed firms against the region's range per cluster."""

    confirmed: int
    minimum: int | None
    maximum: int | None
    note: Pair | None  # when fewer than the minimum, or more than the maximum, are confirmed


@dataclass(frozen=True)
class RuleNumbers:
    """The shortlist rule's thresholds, as applied."""

    min_stage: str
    min_overall: float
    improvement_years: int
    min_gain: float
    max_fall: float
    max_flags: int
    prefer_certified: bool
    size: int


@dataclass(frozen=True)
class DemonstrationView:
    """One cluster's demonstration enterprises for one year."""

    cluster: str
    cluster_name: Pair
    year: int | None
    years: list[int]  # years with data in the cluster
    kind: str
    kind_name: Pair
    kind_names: dict[str, Pair]
    rule_summary: Pair
    rule: RuleNumbers
    rules_version: int
    rules_draft: bool
    conditions: dict[str, Pair]  # condition id → in words
    target_min: int | None
    target_max: int | None
    candidates: list[CandidateRow]
    confirmed: list[CandidateRow]
    excluded: list[ExcludedRow]
    others: list[OtherRow]
    counts: Counts
    stage_names: dict[str, Pair]
    may_decide: bool


def _r1(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else round(v, 1)


def _cluster(session: Session, code: str) -> Cluster:
    row = session.exec(select(Cluster).where(Cluster.code == code)).first()
    if row is None:
        raise NotFound(views._NO_CLUSTER)
    return row


def _in_force(session: Session, cluster_id: int, year: int) -> dict[int, Decision]:
    """Enterprise id → the decision in force (the latest row, unless it reopened the firm)."""
    rows = session.exec(
        select(DemonstrationDecision)
        .where(
            DemonstrationDecision.cluster_id == cluster_id,
            DemonstrationDecision.year == year,
        )
        .order_by(col(DemonstrationDecision.id))
    ).all()
    latest = {r.enterprise_id: r for r in rows}
    ids = {r.by_user for r in latest.values() if r.by_user is not None}
    names = {
        u.id: u.display_name or u.username
        for u in session.exec(select(User).where(col(User.id).in_(ids)))
    }
    return {
        e: Decision(r.decision, r.reason, names.get(r.by_user or 0, ""), r.at)
        for e, r in latest.items()
        if r.decision != "reopened"
    }


def _names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    q = select(Enterprise.id, Enterprise.name).where(col(Enterprise.id).in_(list(ids)))
    return {i: n for i, n in session.exec(q) if i is not None}


def _opt_int(x: Any) -> int | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x)


@dataclass(frozen=True)
class _Ranked:
    """The shortlist's workings for one cluster and year."""

    rule: bm.ShortlistRule
    rows: pd.DataFrame  # the cluster's rows of the year, one per enterprise
    reasons: pd.DataFrame  # shortlist_reasons, indexed by enterprise
    shortlist: pd.DataFrame  # the candidates, best first
    decisions: dict[int, Decision]


def _with_screening(
    session: Session, cluster: Cluster, rows: pd.DataFrame, year: int, kind: Kind
) -> pd.DataFrame:
    """The rows with ``flags`` of the year counting the screening's flags (rule checks, failed
    consistency checks among them, and an outlier score past its threshold): a candidate must
    have no open screening flag."""
    now = (rows["year"] == year).to_numpy()
    if not now.any():
        return rows
    screen = screening_of(session, cluster.region_id, year, kind)
    flagged = flagged_assessments(screen, rows.loc[now, "assessment"].tolist())
    out = rows.copy()
    counts = out.loc[now, "assessment"].map(lambda a: len(flagged.get(int(a), [])))
    out.loc[now, "flags"] = counts.astype("int64").to_numpy()
    return out


def _ranked(
    session: Session,
    cluster: Cluster,
    rows: pd.DataFrame,
    year: int,
    rule: bm.ShortlistRule,
    kind: Kind = "preferred",
) -> _Ranked:
    decisions = _in_force(session, cluster.id or 0, year)
    excluded = [e for e, d in decisions.items() if d.decision == "excluded"]
    rows = _with_screening(session, cluster, rows, year, kind)
    now = rows[rows["year"] == year]
    if len(now):
        reasons = bm.shortlist_reasons(rows, year, rule).set_index("enterprise")
        short = bm.shortlist(rows, year, rule, excluded=excluded)
    else:
        reasons = pd.DataFrame(columns=["gain", "years", "fall", *bm.CONDITIONS, "eligible"])
        short = pd.DataFrame(columns=["enterprise", "rank"])
    latest = now.sort_values(["enterprise", "assessment"]).drop_duplicates(
        "enterprise", keep="last"
    )
    return _Ranked(rule, latest.set_index("enterprise"), reasons, short, decisions)


def _candidate(
    eid: int, name: str, ranked: _Ranked, rank: int | None, decision: Decision | None
) -> CandidateRow:
    """A firm's row, from its figures in the year (none when it has no counted row)."""
    if eid in ranked.rows.index:
        r = ranked.rows.loc[eid]
        why = ranked.reasons.loc[eid] if eid in ranked.reasons.index else None
        return CandidateRow(
            enterprise=eid,
            name=name,
            assessment=int(r["assessment"]),
            overall=_r1(r["overall"]),
            stage=str(r["stage"]),
            kind=str(r["kind"]),
            gain=None if why is None else _r1(why["gain"]),
            years=0 if why is None else int(why["years"]),
            flags=int(r["flags"]),
            rank=rank,
            decision=decision,
        )
    return CandidateRow(eid, name, None, None, None, None, None, 0, 0, rank, decision)


def demonstration_view(
    session: Session, user: User, cluster_code: str, year: int | None, kind: Kind = "preferred"
) -> DemonstrationView:
    """The demonstration enterprises of one cluster in one year (the latest with data when
    ``year`` is None), seen with scores of ``kind``."""
    if user.role not in (Role.cluster_manager, Role.admin):
        raise Forbidden(
            Problem("role", "您的角色无权访问此页面", "your role does not give access to this page")
        )
    if kind not in KINDS:
        kind = "preferred"
    viewer = viewer_of(session, user)
    scoped = views._scoped(
        session, viewer, views.Filters(cluster=cluster_code, kind=kind), own_only=True
    )
    cluster = _cluster(session, cluster_code)
    vocab = vocabulary(session)
    targets = views._targets(session, scoped.region) if scoped.region else None
    rule = shortlist_rule(targets)
    rows = scoped.rows
    years = sorted({int(y) for y in rows["year"].unique()})
    if year is None:
        year = years[-1] if years else None
    file = analytics_rules()
    summary = file.shortlist.summary
    candidates: list[CandidateRow] = []
    confirmed: list[CandidateRow] = []
    excluded: list[ExcludedRow] = []
    others: list[OtherRow] = []
    if year is not None:
        ranked = _ranked(session, cluster, rows, year, rule, kind)
        decided = list(ranked.decisions)
        names = _names(session, sorted({*ranked.rows.index.tolist(), *decided}))
        on_list: set[int] = set()
        for _, s in ranked.shortlist.iterrows():
            eid = int(s["enterprise"])
            on_list.add(eid)
            candidates.append(
                _candidate(
                    eid, names.get(eid, ""), ranked, int(s["rank"]), ranked.decisions.get(eid)
                )
            )
        for eid, d in ranked.decisions.items():
            if d.decision == "confirmed" and eid not in on_list:
                confirmed.append(_candidate(eid, names.get(eid, ""), ranked, None, d))
            elif d.decision == "excluded":
                r = ranked.rows.loc[eid] if eid in ranked.rows.index else None
                excluded.append(
                    ExcludedRow(
                        enterprise=eid,
                        name=names.get(eid, ""),
                        assessment=None if r is None else int(r["assessment"]),
                        overall=None if r is None else _r1(r["overall"]),
                        decision=d,
                    )
                )
        confirmed = [
            c for c in candidates if c.decision and c.decision.decision == "confirmed"
        ] + sorted(confirmed, key=lambda c: (-(c.overall or -1.0), c.enterprise))
        excluded.sort(key=lambda x: (-(x.overall or -1.0), x.enterprise))
        taken = on_list | {e for e, d in ranked.decisions.items() if d.decision == "excluded"}
        for eid, r in ranked.rows.iterrows():
            e = int(eid)
            if e in taken or e not in ranked.reasons.index:
                continue
            why = ranked.reasons.loc[e]
            conditions = {c: bool(why[c]) for c in bm.CONDITIONS}
            others.append(
                OtherRow(
                    enterprise=e,
                    name=names.get(e, ""),
                    assessment=int(r["assessment"]),
                    overall=_r1(r["overall"]),
                    stage=str(r["stage"]),
                    gain=_r1(why["gain"]),
                    years=int(why["years"]),
                    fall=_r1(why["fall"]),
                    conditions=conditions,
                    failed=[c for c, ok in conditions.items() if not ok],
                    beyond_size=bool(why["eligible"]),
                )
            )
        others.sort(key=lambda o: (len(o.failed), -(o.overall or -1.0), o.enterprise))
    lo = targets.demo_enterprises_per_cluster_min if targets else None
    hi = targets.demo_enterprises_per_cluster_max if targets else None
    manages = user.role == Role.cluster_manager and (cluster.id or 0) in viewer.clusters
    return DemonstrationView(
        cluster=cluster.code,
        cluster_name=(cluster.name_zh, cluster.name_en),
        year=year,
        years=years,
        kind=kind,
        kind_name=vocab.kinds[kind],
        kind_names=dict(vocab.kinds),
        rule_summary=(summary.zh.strip(), summary.en.strip()),
        rule=RuleNumbers(
            rule.min_stage,
            rule.min_overall,
            rule.improvement_years,
            rule.min_gain,
            rule.max_fall,
            rule.max_flags,
            rule.prefer_certified,
            rule.size,
        ),
        rules_version=file.version,
        rules_draft=file.draft,
        conditions=condition_names(rule, vocab.stages),
        target_min=lo,
        target_max=hi,
        candidates=candidates,
        confirmed=confirmed,
        excluded=excluded,
        others=others,
        counts=_counts(len(confirmed), lo, hi),
        stage_names=vocab.stages,
        may_decide=manages and year is not None,
    )


def _counts(n: int, lo: int | None, hi: int | None) -> Counts:
    note: Pair | None = None
    if lo is not None and n < lo:
        note = (
            f"已确认 {n} 家，少于每个集群至少 {lo} 家的目标",
            f"{n} confirmed: fewer than the target of at least {lo} per cluster",
        )
    elif hi is not None and n > hi:
        note = (
            f"已确认 {n} 家，多于每个集群至多 {hi} 家的目标",
            f"{n} confirmed: more than the target of at most {hi} per cluster",
        )
    return Counts(n, lo, hi, note)


# --- Decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionForm:
    """A decision as posted, checked."""

    year: int
    enterprise: int
    decision: str
    reason: str
    kind: Kind


def read_decision(fields: Mapping[str, Sequence[str]]) -> DecisionForm:
    """The decision form's fields (``year``, ``enterprise``, ``decision``, ``reason``, and
    optionally ``kind``, the scores the list was drawn with), or Invalid naming each fault."""

    def one(name: str) -> str:
        values = fields.get(name) or [""]
        return values[0]

    problems: list[Problem] = []
    year = views.read_year(one("year"), problems) or 0
    raw_ent = one("enterprise").strip()
    enterprise = 0
    if not (raw_ent.isascii() and raw_ent.isdigit() and 1 <= len(raw_ent) <= 18):
        problems.append(
            Problem(
                "bad_enterprise",
                "未指明企业或企业编号无效",
                "no enterprise named, or its id is not valid",
                "enterprise",
            )
        )
    else:
        enterprise = int(raw_ent)
    decision = one("decision").strip()
    if decision not in DECISIONS:
        problems.append(_bad_decision(decision))
    kind = one("kind").strip() or "preferred"
    if kind not in KINDS:
        problems.append(
            Problem(
                "bad_kind",
                f"评分类型“{kind[:20]}”无效：应为 preferred、self 或 certified",
                f"score kind {kind[:20]!r} is not valid: use preferred, self or certified",
                "kind",
            )
        )
    if problems:
        raise Invalid(problems)
    return DecisionForm(year, enterprise, decision, one("reason"), kind)  # type: ignore[arg-type]


def _bad_decision(decision: str) -> Problem:
    return Problem(
        "bad_decision",
        f"决定“{decision[:20]}”无效：应为确认、排除或重新审议",
        f"decision {decision[:20]!r} is not valid: use confirmed, excluded or reopened",
        "decision",
    )


def _check_reason(decision: str, reason: str) -> str:
    """The reason, trimmed; Invalid when one is needed and missing, too long or not plain text."""
    text = reason.strip()
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise Invalid(
            Problem(
                "bad_reason",
                "理由不能包含控制字符（如换行、制表符）",
                "the reason may not contain control characters (line breaks, tabs...)",
                "reason",
            )
        )
    if len(text) > REASON_MAX:
        raise Invalid(
            Problem(
                "reason_too_long",
                f"理由不能超过 {REASON_MAX} 字（现有 {len(text)} 字）",
                f"the reason may be at most {REASON_MAX} characters long (it has {len(text)})",
                "reason",
            )
        )
    if not text and decision == "excluded":
        raise Invalid(
            Problem(
                "reason_required",
                "排除候选企业须填写理由（1～500 字）",
                "give a reason (1 to 500 characters) for excluding a candidate",
                "reason",
            )
        )
    if not text and decision == "reopened":
        raise Invalid(
            Problem(
                "reason_required",
                "重新审议须填写理由（1～500 字）",
                "give a reason (1 to 500 characters) for reopening a decision",
                "reason",
            )
        )
    return text


def decide(
    session: Session,
    user: User,
    cluster_code: str,
    year: int,
    enterprise_id: int,
    decision: str,
    reason: str,
    kind: Kind = "preferred",
) -> None:
    """Record a cluster manager's decision on a firm of their cluster for ``year``.

    ``confirmed`` puts a current candidate (eligible under the rule with ``kind`` scores, on
    the list, not excluded, not already confirmed) on the list; ``excluded`` takes an assessed
    member off it, with a reason; ``reopened`` withdraws the decision in force, with a reason.
    Administrators read but do not decide (Forbidden). The row is added to the session, not
    committed.
    """
    if decision not in DECISIONS:
        raise Invalid(_bad_decision(decision))
    viewer = viewer_of(session, user)
    cluster = session.exec(select(Cluster).where(Cluster.code == cluster_code)).first()
    if cluster is None or (user.role != Role.admin and (cluster.id or 0) not in viewer.clusters):
        raise NotFound(views._NO_CLUSTER)
    if user.role != Role.cluster_manager:
        raise Forbidden(
            Problem(
                "decide_role",
                "只有本集群的管理员（集群负责人）可以确认或排除示范企业；系统管理员只能查看",
                "only the cluster's own manager decides on demonstration enterprises;"
                " administrators may only read the list",
            )
        )
    text = _check_reason(decision, reason)
    ent = session.get(Enterprise, enterprise_id)
    if ent is None or ent.cluster_id != cluster.id:
        raise NotFound(_NOT_MEMBER)
    scoped = views._scoped(
        session, viewer, views.Filters(cluster=cluster.code, kind=kind), own_only=True
    )
    targets = views._targets(session, scoped.region) if scoped.region else None
    ranked = _ranked(session, cluster, scoped.rows, year, shortlist_rule(targets), kind)
    if enterprise_id not in ranked.rows.index:
        raise Invalid(
            Problem(
                "not_assessed",
                f"该企业 {year} 年度没有已提交的评估，不能作出决定",
                f"the enterprise has no submitted assessment for {year}, so nothing can be decided",
                "enterprise",
            )
        )
    current = ranked.decisions.get(enterprise_id)
    state = current.decision if current else None
    if decision == "confirmed":
        if state == "confirmed":
            raise Invalid(
                Problem(
                    "already_confirmed",
                    "该企业已确认为示范企业",
                    "the enterprise is already confirmed",
                    "enterprise",
                )
            )
        listed = {int(e) for e in ranked.shortlist["enterprise"]}
        if enterprise_id not in listed:
            raise Invalid(
                Problem(
                    "not_candidate",
                    "该企业不是当前候选示范企业（不符合遴选规则、已被排除或排在名额之外），不能确认",
                    "the enterprise is not a current candidate (it does not meet the rule, was"
                    " excluded, or is ranked beyond the list's length), so it cannot be"
                    " confirmed",
                    "enterprise",
                )
            )
    elif decision == "excluded" and state == "excluded":
        raise Invalid(
            Problem(
                "already_excluded",
                "该企业已被排除",
                "the enterprise is already excluded",
                "enterprise",
            )
        )
    elif decision == "reopened" and state is None:
        raise Invalid(
            Problem(
                "nothing_to_reopen",
                "该企业没有可重新审议的决定",
                "there is no decision on this enterprise to reopen",
                "enterprise",
            )
        )
    row = DemonstrationDecision(
        cluster_id=cluster.id or 0,
        enterprise_id=enterprise_id,
        year=year,
        decision=decision,
        reason=text,
        by_user=user.id,
    )
    session.add(row)
    session.flush()


# --- Export ---------------------------------------------------------------------------------------

#: The export's columns: (header, the row's field).
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("排名", "rank"),
    ("企业编号", "enterprise"),
    ("企业名称", "name"),
    ("评估编号", "assessment"),
    ("总体水平", "overall"),
    ("发展阶段", "stage"),
    ("评分类型", "kind"),
    ("窗口内提升（分）", "gain"),
    ("有数据年数", "years"),
    ("未通过校验数", "flags"),
    ("决定", "decision"),
    ("理由", "reason"),
    ("决定人", "by"),
    ("决定时间（北京时间）", "at"),
)
_DECISION_ZH = {"confirmed": "已确认", "excluded": "已排除"}
_KIND_ZH = {"certified": "第三方认定", "self": "企业自评"}


def _china(t: datetime) -> datetime:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(CHINA_TIME)


def confirmed_rows(view: DemonstrationView) -> list[dict[str, Any]]:
    """The confirmed list as plain rows (the export's columns, Chinese labels for codes)."""
    return [_plain_row(view, c) for c in view.confirmed]


def candidate_rows(view: DemonstrationView) -> list[dict[str, Any]]:
    """The candidates as plain rows, best first."""
    return [_plain_row(view, c) for c in view.candidates]


def _plain_row(view: DemonstrationView, c: CandidateRow) -> dict[str, Any]:
    d = c.decision
    return {
        "rank": c.rank,
        "enterprise": c.enterprise,
        "name": c.name,
        "assessment": c.assessment,
        "overall": c.overall,
        "stage": view.stage_names.get(c.stage, (c.stage, c.stage))[0] if c.stage else None,
        "kind": _KIND_ZH.get(c.kind or "", c.kind),
        "gain": c.gain,
        "years": c.years,
        "flags": c.flags,
        "decision": _DECISION_ZH.get(d.decision, d.decision) if d else "",
        "reason": d.reason if d else "",
        "by": d.by if d else "",
        "at": _china(d.at).strftime("%Y-%m-%d %H:%M") if d else "",
    }


def export_name(view: DemonstrationView) -> str:
    """The workbook's file name (Chinese)."""
    return f"示范企业_{view.cluster_name[0]}_{view.year or '无数据'}.xlsx"


def workbook(view: DemonstrationView, now: datetime | None = None) -> bytes:
    """The view as an .xlsx workbook: a cover sheet (说明), the confirmed list (已确认) and the
    candidates (候选), numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    stamp = _china(now or datetime.now(UTC))
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "说明"
    bold = Font(bold=True)
    lines: list[tuple[str, Any]] = [
        ("集群", view.cluster_name[0]),
        ("年度", view.year),
        ("评分类型", view.kind_name[0]),
        ("遴选规则", view.rule_summary[0]),
        ("分析规则版本", f"v{view.rules_version}" + ("（草案）" if view.rules_draft else "")),
        ("每个集群示范企业目标", _target_words(view)),
        ("已确认", view.counts.confirmed),
        ("导出时间（北京时间）", stamp.strftime("%Y-%m-%d %H:%M")),
    ]
    for label, value in lines:
        cover.append([label, value])
    for row in cover.iter_rows(min_col=1, max_col=1):
        row[0].font = bold
    for row in cover.iter_rows(min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    cover.column_dimensions["A"].width = 24
    cover.column_dimensions["B"].width = 90
    for title, rows in (("已确认", confirmed_rows(view)), ("候选", candidate_rows(view))):
        ws = wb.create_sheet(title)
        ws.append([h for h, _ in _COLUMNS])
        for cell in ws[1]:
            cell.font = bold
        for r in rows:
            ws.append([r[k] for _, k in _COLUMNS])
        for cell in ws["E"][1:]:
            cell.number_format = "0.0"
        for cell in ws["H"][1:]:
            cell.number_format = "0.0"
        ws.column_dimensions["C"].width = 30
        ws.column_dimensions["L"].width = 40
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _target_words(view: DemonstrationView) -> str:
    if view.target_min is None or view.target_max is None:
        return "未设定"
    return f"{view.target_min}～{view.target_max} 户"
