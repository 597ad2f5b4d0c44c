"""Cluster benchmarks: the analytics a cluster manager reads off the analytics frame.

Everything here is pure and works on the one analytics frame that ``assess`` builds (one row per
assessment, columns named as in the product's figure vocabulary: ``overall``, ``link.rd``, ...):
score distributions per group, a firm's percentile among its peers, the adoption rate by year and
its projection toward a goal, firms one link short of adopting, the demonstration-enterprise
shortlist and national-indicator summaries. Nothing is read from or written to anywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from scoring.spec import ASPECTS, LINKS, STAGES

#: The figures a benchmark can be drawn on, in the order pages list them.
FIGURES: tuple[str, ...] = (
    "overall",
    *(f"link.{k}" for k in LINKS),
    *(f"aspect.{a}" for a in ASPECTS),
)
#: Rank of each stage on the ladder; "undetermined" ranks below all the others.
STAGE_ORDER: Mapping[str, int] = MappingProxyType({s: i for i, s in enumerate(STAGES)})
#: Reasons a projection gives, in the order a page may explain them.
#: reached: the latest rate meets the target; on_pace: the line meets it by the target year;
#: not_at_current_pace: the line rises but meets it later (or not by the horizon); falling: the
#: line does not rise; too_few_years: no line can be drawn.
REASONS: tuple[str, ...] = (
    "reached",
    "on_pace",
    "not_at_current_pace",
    "falling",
    "too_few_years",
)
#: The conditions of the shortlist, in the order ``shortlist_reasons`` lists them.
CONDITIONS: tuple[str, ...] = ("stage_ok", "overall_ok", "gain_ok", "fall_ok", "flags_ok")

#: Tolerance on comparisons of a computed rate with a target (floating-point noise of the fit).
EPS = 1e-9
_ALL = "all"  # the one group's label when a function is asked for no grouping keys


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks column(s) {missing}")


def _grouped(frame: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The frame and the keys to group it by; with no keys, one constant key for the whole."""
    if by:
        _check_columns(frame, by)
        return frame, list(by)
    return frame.assign(**{_ALL: _ALL}), [_ALL]


def _unname_all(out: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    if not by:
        out.index = out.index.rename(None)
    return out


# ----------------------------------------------------------------------------- distributions


def distribution(frame: pd.DataFrame, by: Sequence[str], figure: str = "overall") -> pd.DataFrame:
    """Summary of one figure per group, for box plots and the group tables of a cluster page.

    One row per group that has rows, indexed by the ``by`` keys (with ``by=[]``: one row labelled
    ``"all"`` for the whole frame). Columns: ``n`` (rows), ``n_figure`` (rows where the figure is
    not NaN), ``mean``, ``median``, ``q1``, ``q3``, ``min``, ``max`` of the figure ignoring NaN
    (quartiles by pandas' default linear interpolation between order statistics), ``adopters``
    (adopter rows), ``adoption_rate`` (adopters / n) and one count ``stage.<id>`` per stage id.
    """
    _check_columns(frame, [figure, "adopter", "stage"])
    data, keys = _grouped(frame, by)
    groups = data.groupby(keys, observed=True, sort=True)
    values = groups[figure]
    out = pd.DataFrame(
        {
            "n": groups.size(),
            "n_figure": values.count(),
            "mean": values.mean(),
            "median": values.median(),
            "q1": values.quantile(0.25),
            "q3": values.quantile(0.75),
            "min": values.min(),
            "max": values.max(),
            "adopters": groups["adopter"].sum().astype("int64"),
        }
    )
    out["adoption_rate"] = out["adopters"] / out["n"]
    stage = data["stage"].astype(object)
    counts = (
        data.assign(stage=stage)
        .groupby([*keys, "stage"], observed=True, sort=True)
        .size()
        .unstack("stage", fill_value=0)
    )
    counts = counts.reindex(index=out.index, columns=list(STAGES), fill_value=0)
    for s in STAGES:
        out[f"stage.{s}"] = counts[s].astype("int64")
    return _unname_all(out, by)


def percentile_in_group(
    frame: pd.DataFrame, by: Sequence[str], figure: str = "overall"
) -> pd.Series:
    """Each row's mid-rank ("Hazen") percentile of ``figure`` within its group, 0..100.

    ``100 * (average rank - 0.5) / n`` with n the group's non-NaN count: the share of peers below,
    with ties counted half (the row itself included). NaN where the figure is NaN. Same index as
    the frame.
    """
    _check_columns(frame, [figure])
    data, keys = _grouped(frame, by)
    values = data.groupby(keys, observed=True, sort=False)[figure]
    ranks = values.rank(method="average")
    n = values.transform("count")
    out = 100.0 * (ranks - 0.5) / n
    return out.astype("float64").rename("percentile")


def percentile_of(value: float, peers: np.ndarray) -> float:
    """The mid-rank percentile of ``value`` among ``peers`` that do not include it, 0..100.

    ``100 * (#{p < v} + 0.5 * #{p == v}) / len(peers)``; NaN peers are ignored, a NaN value gives
    NaN. Raises ValueError when no peer is left.
    """
    p = np.asarray(peers, dtype="float64").ravel()
    p = p[~np.isnan(p)]
    if p.size == 0:
        raise ValueError("no peers to rank a value among")
    if math.isnan(value):
        return math.nan
    below = int(np.count_nonzero(p < value))
    equal = int(np.count_nonzero(p == value))
    return 100.0 * (below + 0.5 * equal) / p.size


# ----------------------------------------------------------------------------- adoption by year


def adoption_series(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The adoption rate per group and year, for a cluster's rate-over-time chart.

    Indexed by ``(*by, "year")``. Columns ``n``, ``adopters``, ``rate`` (adopters / n), ``versions``
    (sorted tuple of the questionnaire versions in that year's rows) and ``version_changed`` (the
    versions differ from the group's previous listed year; False for a group's first year), so a
    chart can mark where a change of methodology may explain a jump.
    """
    _check_columns(frame, ["year", "adopter", "version"])
    data, keys = _grouped(frame, by)
    groups = data.groupby([*keys, "year"], observed=True, sort=True)
    out = pd.DataFrame(
        {
            "n": groups.size(),
            "adopters": groups["adopter"].sum().astype("int64"),
        }
    )
    out["rate"] = out["adopters"] / out["n"]
    versions = groups["version"].agg(lambda v: tuple(sorted({int(x) for x in v})))
    out["versions"] = versions.reindex(out.index)
    previous = out.groupby(level=keys, observed=True, sort=False)["versions"].shift(1)
    out["version_changed"] = [
        isinstance(p, tuple) and p != v for p, v in zip(previous, out["versions"], strict=True)
    ]
    if not by:
        out = out.droplevel(_ALL)
    return out


# ----------------------------------------------------------------------------- Student t


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function, by the modified Lentz method.

    Converges quickly for x < (a + 1) / (a + b + 2); callers use the symmetry otherwise.
    """
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        # even step: m (b - m) x / ((a + 2m - 1)(a + 2m))
        num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        result *= d * c
        # odd step: -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
        num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        result *= step
        if abs(step - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b) for 0 <= x <= 1 and a, b > 0."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must lie in [0, 1], not {x}")
    if x == 0.0 or x == 1.0:
        return x
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - _log_beta(a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(x, a, b) / a
    return 1.0 - front * _beta_fraction(1.0 - x, b, a) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (bisection on ``t_cdf``)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), not {p}")
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


# ----------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Projection:
    """Where a group's adoption rate is heading, by a straight line through its yearly rates.

    ``fitted``, ``lower`` and ``upper`` cover every year from the first observed one to the
    horizon, clipped to [0, 1]; ``lower``/``upper`` are the OLS prediction band at the level asked.
    ``projected_year`` is the first year after the last observed one whose fitted rate reaches the
    target; ``projected_range`` the first years the upper and the lower band do (None: not by the
    horizon). ``reason`` is one of ``REASONS``.
    """

    years: tuple[int, ...]
    rates: tuple[float, ...]
    slope: float | None
    intercept: float | None
    fitted: dict[int, float]
    lower: dict[int, float]
    upper: dict[int, float]
    target: float
    target_year: int
    reached_year: int | None
    projected_year: int | None
    projected_range: tuple[int | None, int | None]
    on_track: bool | None
    reason: str
    level: float = 0.80
    horizon: int = 0
    band: bool = False  # whether a band was computable (three or more years)


def _first_reaching(values: Mapping[int, float], after: int, target: float) -> int | None:
    for year in sorted(values):
        if year > after and values[year] >= target - EPS:
            return year
    return None


def project(
    years: Sequence[int],
    rates: Sequence[float],
    target: float,
    target_year: int,
    *,
    level: float = 0.80,
    horizon: int | None = None,
    min_years: int = 3,
) -> Projection:
    """Project a yearly adoption rate toward ``target`` by ``target_year``.

    Ordinary least squares of rate on year over all the given years (pairs with a NaN rate are
    left out; a year may appear once). The band is the OLS prediction interval
    ``fitted ± t * s * sqrt(1 + 1/n + (year - mean year)^2 / Sxx)``, ``s^2 = SSR / (n - 2)``, with
    the two-sided Student t quantile at ``level`` for n - 2 degrees of freedom; with two years
    there is a line but no band. Fewer than ``min_years`` years (or fewer than two distinct ones):
    no line, reason "too_few_years" (unless the latest rate meets the target: "reached"). The
    target counts as reached while the latest rate meets it (``reached_year`` is the first year
    it did). A line that is flat or falling is never on track unless the target is met now; nor
    is one that has not met it by a target year already observed. Comparisons with the target
    allow 1e-9 of rounding.
    """
    if len(years) != len(rates):
        raise ValueError("years and rates differ in length")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), not {level}")
    pairs = sorted(
        (int(y), float(r)) for y, r in zip(years, rates, strict=True) if not math.isnan(r)
    )
    ys = tuple(y for y, _ in pairs)
    rs = tuple(r for _, r in pairs)
    if len(set(ys)) != len(ys):
        raise ValueError("a year appears more than once")
    last = ys[-1] if ys else target_year
    if horizon is None:
        horizon = max(target_year, last) + 10
    reached_year = next((y for y, r in pairs if r >= target - EPS), None)
    # The target counts as reached while the latest rate meets it: a rate that met it once and
    # fell back is judged by its trend again.
    reached_now = bool(rs) and rs[-1] >= target - EPS
    n = len(ys)

    if n < max(min_years, 2):
        return Projection(
            years=ys,
            rates=rs,
            slope=None,
            intercept=None,
            fitted={},
            lower={},
            upper={},
            target=target,
            target_year=target_year,
            reached_year=reached_year,
            projected_year=None,
            projected_range=(None, None),
            on_track=True if reached_now else None,
            reason="reached" if reached_now else "too_few_years",
            level=level,
            horizon=horizon,
        )

    x = np.asarray(ys, dtype="float64")
    y = np.asarray(rs, dtype="float64")
    x_mean, y_mean = float(x.mean()), float(y.mean())
    sxx = float(((x - x_mean) ** 2).sum())
    slope = float(((x - x_mean) * (y - y_mean)).sum() / sxx)
    intercept = y_mean - slope * x_mean
    span = np.arange(ys[0], horizon + 1, dtype="float64")
    line = y_mean + slope * (span - x_mean)
    if n > 2:
        residuals = y - (y_mean + slope * (x - x_mean))
        s = math.sqrt(float((residuals**2).sum()) / (n - 2))
        q = t_quantile(0.5 + level / 2.0, n - 2)
        half = q * s * np.sqrt(1.0 + 1.0 / n + (span - x_mean) ** 2 / sxx)
    else:
        half = np.zeros_like(span)
    years_out = [int(t) for t in span]
    fitted = dict(zip(years_out, np.clip(line, 0.0, 1.0).tolist(), strict=True))
    lower = dict(zip(years_out, np.clip(line - half, 0.0, 1.0).tolist(), strict=True))
    upper = dict(zip(years_out, np.clip(line + half, 0.0, 1.0).tolist(), strict=True))

    at_target_year = min(max(y_mean + slope * (target_year - x_mean), 0.0), 1.0)
    # On track: met now, or a rising line that meets the target by the target year while that
    # year is still ahead (once it has passed unmet, the goal was missed whatever comes next).
    on_track = reached_now or (slope > 0 and target_year > last and at_target_year >= target - EPS)
    if reached_now:
        reason = "reached"
    elif slope <= 0:
        reason = "falling"
    else:
        reason = "on_pace" if on_track else "not_at_current_pace"
    return Projection(
        years=ys,
        rates=rs,
        slope=slope,
        intercept=intercept,
        fitted=fitted,
        lower=lower,
        upper=upper,
        target=target,
        target_year=target_year,
        reached_year=reached_year,
        # a flat or falling line through rates all below the target stays below it after the
        # last year (its value there is at most the mean rate), so no year is projected then
        projected_year=_first_reaching(fitted, last, target),
        projected_range=(
            _first_reaching(upper, last, target),
            _first_reaching(lower, last, target),
        ),
        on_track=on_track,
        reason=reason,
        level=level,
        horizon=horizon,
        band=n > 2,
    )


def glide_path(
    baseline_year: int,
    baseline_rate: float,
    goal_year: int,
    goal_rate: float,
    years: Sequence[int],
) -> dict[int, float]:
    """The planned rate for each of ``years``: the straight line from baseline to goal."""
    if goal_year == baseline_year:
        raise ValueError("the goal year must differ from the baseline year")
    step = (goal_rate - baseline_rate) / (goal_year - baseline_year)
    return {int(t): baseline_rate + step * (int(t) - baseline_year) for t in years}


# ----------------------------------------------------------------------------- near adopters


def near_adopters(frame: pd.DataFrame) -> pd.DataFrame:
    """The firms one link short of adopting IT, and which links lack it.

    Rows (same index as the frame) that are not adopters, have ``it_links == it_needed - 1`` and
    at least one link whose ``applied.<link>`` is 0. Column ``missing``: the tuple of those link
    ids, in ``LINKS`` order.
    """
    applied_cols = [f"applied.{k}" for k in LINKS]
    _check_columns(frame, ["adopter", "it_links", "it_needed", *applied_cols])
    zero = frame[applied_cols].to_numpy(dtype="float64") == 0.0
    adopter = frame["adopter"].to_numpy(dtype=bool)
    short = frame["it_links"].to_numpy() == frame["it_needed"].to_numpy() - 1
    keep = ~adopter & short & zero.any(axis=1)
    missing = [tuple(k for k, z in zip(LINKS, row, strict=True) if z) for row in zero[keep]]
    return pd.DataFrame({"missing": pd.Series(missing, index=frame.index[keep], dtype=object)})


def rate_if_adopted(frame: pd.DataFrame, near: pd.DataFrame) -> float:
    """The frame's adoption rate if every row of ``near`` became an adopter (NaN if empty)."""
    if len(frame) == 0:
        return math.nan
    adopters = int(frame["adopter"].to_numpy(dtype=bool).sum())
    return (adopters + len(near)) / len(frame)


def rate_gain_each(frame: pd.DataFrame) -> float:
    """How much one more adopter raises the frame's adoption rate: 1 / rows (NaN if empty)."""
    return 1.0 / len(frame) if len(frame) else math.nan


# ----------------------------------------------------------------------------- shortlist


@dataclass(frozen=True)
class ShortlistRule:
    """A cluster's rule for proposing demonstration enterprises.

    A candidate's row in the chosen year has at least ``min_stage`` and ``min_overall`` and at
    most ``max_flags`` failed checks; over the window of the last ``improvement_years`` years
    ending at the chosen year it has rows in at least two years, gained at least ``min_gain``
    (chosen year minus the window's first row) and never fell more than ``max_fall`` from one row
    to the next.
    """

    min_stage: str = "integration"
    min_overall: float = 60.0
    improvement_years: int = 3
    min_gain: float = 0.0
    max_fall: float = 5.0
    max_flags: int = 0
    prefer_certified: bool = True
    size: int = 8

    def __post_init__(self) -> None:
        if self.min_stage not in STAGE_ORDER:
            raise ValueError(f"unknown stage {self.min_stage!r}")
        if self.improvement_years < 1:
            raise ValueError("the improvement window needs at least one year")
        if self.size < 0:
            raise ValueError("the shortlist size cannot be negative")


def _one_row_per_year(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per enterprise and year: a certified row over a self one, then the latest."""
    certified = (frame["kind"].astype(object) == "certified").to_numpy()
    ordered = frame.assign(_certified=certified).sort_values(
        ["enterprise", "year", "_certified", "assessment"]
    )
    return ordered.drop_duplicates(["enterprise", "year"], keep="last").drop(columns="_certified")


def _window(frame: pd.DataFrame, year: int, rule: ShortlistRule) -> pd.DataFrame:
    """Per enterprise with a row in ``year``: its row that year, plus gain, years and worst fall."""
    _check_columns(frame, ["enterprise", "assessment", "year", "overall", "stage", "kind", "flags"])
    first = year - rule.improvement_years + 1
    span = frame[(frame["year"] >= first) & (frame["year"] <= year)]
    span = _one_row_per_year(span)
    groups = span.groupby("enterprise", sort=True)
    overall = groups["overall"]
    summary = pd.DataFrame(
        {
            "start": overall.first(skipna=False),
            "years": groups.size(),
            "fall": (-overall.diff()).groupby(span["enterprise"]).max().clip(lower=0.0),
        }
    )
    now = span[span["year"] == year].set_index("enterprise")
    out = now.join(summary, how="left")
    out["gain"] = (out["overall"] - out["start"]).where(out["years"] >= 2)
    return out.reset_index()


def shortlist_reasons(frame: pd.DataFrame, year: int, rule: ShortlistRule) -> pd.DataFrame:
    """Why each enterprise with a row in ``year`` is or is not a demonstration candidate.

    One row per such enterprise (sorted by id): ``enterprise``, ``gain``, ``years`` and ``fall``
    (largest fall from one row to the next in the window, 0 if none, NaN with one row), then
    one boolean per condition in ``CONDITIONS`` and ``eligible`` (all of them hold). Fewer than
    two years in the window: ``gain_ok`` is False.
    """
    w = _window(frame, year, rule)
    rank = w["stage"].astype(object).map(lambda s: STAGE_ORDER.get(s, -1)).astype("int64")
    out = pd.DataFrame(
        {
            "enterprise": w["enterprise"].astype("int64"),
            "gain": w["gain"].astype("float64"),
            "years": w["years"].astype("int64"),
            "fall": w["fall"].astype("float64"),
            "stage_ok": rank >= STAGE_ORDER[rule.min_stage],
            "overall_ok": w["overall"] >= rule.min_overall,
            "gain_ok": (w["years"] >= 2) & (w["gain"] >= rule.min_gain),
            "fall_ok": ~(w["fall"] > rule.max_fall),
            "flags_ok": w["flags"] <= rule.max_flags,
        }
    )
    out["eligible"] = out[list(CONDITIONS)].all(axis=1)
    return out.reset_index(drop=True)


def shortlist(
    frame: pd.DataFrame, year: int, rule: ShortlistRule, excluded: Collection[int] = ()
) -> pd.DataFrame:
    """The demonstration-enterprise candidates of one cluster for ``year``, best first.

    ``frame`` holds the cluster's rows of all years. Candidates meet every condition of ``rule``
    (see ``shortlist_reasons``) and are not in ``excluded``; they are ranked certified first
    (when ``rule.prefer_certified``), then by overall descending, then by enterprise id, and at
    most ``rule.size`` are listed. Columns: ``enterprise``, ``assessment``, ``overall``, ``stage``,
    ``kind``, ``gain``, ``years``, ``flags``, ``rank`` (1, 2, ...). When an enterprise has several
    rows in a year, its certified one (then its latest) counts.
    """
    w = _window(frame, year, rule)
    reasons = shortlist_reasons(frame, year, rule)
    keep = reasons["eligible"].to_numpy() & ~w["enterprise"].isin(list(excluded)).to_numpy()
    picked = w[keep].copy()
    picked["_certified"] = (picked["kind"].astype(object) == "certified") & rule.prefer_certified
    picked = picked.sort_values(
        ["_certified", "overall", "enterprise"], ascending=[False, False, True]
    ).head(rule.size)
    out = picked[["enterprise", "assessment", "overall", "stage", "kind", "gain", "years", "flags"]]
    out = out.reset_index(drop=True)
    out["years"] = out["years"].astype("int64")
    out["rank"] = np.arange(1, len(out) + 1, dtype="int64")
    return out


# ----------------------------------------------------------------------------- indicators


def indicator_summary(
    frame: pd.DataFrame, ids: Sequence[str], measures: Mapping[str, str]
) -> pd.DataFrame:
    """The national indicators over a group of firms, from the frame's ``ind.<id>`` columns.

    Indexed by indicator id. ``value``: for a "share" indicator 100 × the mean of the non-NaN 0/1
    values (a percentage of firms), for a "mean" one the mean; ``n``: firms with a value;
    ``left_out``: firms without one. A missing column counts every firm as left out (value NaN).
    """
    rows: list[tuple[float, int, int]] = []
    for i in ids:
        measure = measures.get(i)
        if measure not in ("share", "mean"):
            raise ValueError(f"indicator {i!r} has no measure 'share' or 'mean': {measure!r}")
        column = f"ind.{i}"
        if column not in frame.columns:
            rows.append((math.nan, 0, len(frame)))
            continue
        values = frame[column].to_numpy(dtype="float64")
        known = values[~np.isnan(values)]
        if known.size == 0:
            value = math.nan
        else:
            value = float(known.mean()) * (100.0 if measure == "share" else 1.0)
        rows.append((value, int(known.size), int(values.size - known.size)))
    out = pd.DataFrame(
        rows, columns=["value", "n", "left_out"], index=pd.Index(ids, name="indicator")
    )
    return out.astype({"value": "float64", "n": "int64", "left_out": "int64"})
