"""Screening: which submissions look wrong, so certifiers and cluster managers know what to check
first.

Three pure steps over the analytics frame (one row per counted assessment; built by
assess.analytics.frame, whose columns are the product's figure vocabulary):

* :func:`rule_flags` applies data-driven rules (:class:`ScreenRule`): implausible year-on-year
  jumps, a key system that was in use last time and is gone now, answers copied between firms,
  and cards with failed engine consistency checks;
* :func:`outlier_scores` rates how unusual each row is among its peers (an IsolationForest per
  sector, on robustly standardised figures) and names the figures that stand out;
* :func:`ranking` merges both into one prioritised list of assessments.

The module returns rule ids and figures only; the bilingual reason texts live with the rules'
data and are looked up by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import IsolationForest

from scoring.spec import LINKS

#: Rule kinds :func:`rule_flags` knows.
KINDS: tuple[str, ...] = ("jump", "key_system_back", "copied", "engine_checks")
#: Figures a jump rule watches unless told otherwise: the overall level and the four links.
JUMP_FIGURES: tuple[str, ...] = ("overall", *(f"link.{k}" for k in LINKS))
#: Columns of :func:`rule_flags`' result, in order.
FLAG_COLUMNS: tuple[str, ...] = (
    "assessment",
    "enterprise",
    "year",
    "rule",
    "kind",
    "figure",
    "before",
    "after",
    "other",
    "weight",
)
#: Columns of :func:`ranking`'s result, in order.
RANKING_COLUMNS: tuple[str, ...] = ("assessment", "priority", "rules", "outlier")
#: Scale that turns a median absolute deviation into a standard-deviation estimate (normal data).
MAD_SCALE = 1.4826
#: Smallest absolute robust z-score for a feature to be named as standing out.
Z_NOTABLE = 2.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ScreenRule:
    """One screening rule, as read from the rules data.

    ``weight`` is the priority the rule adds to an assessment it fires on. ``max_change`` and
    ``max_change_across_versions`` (jump) are the largest plausible year-on-year change of a
    watched figure, in points, for two years scored on the same or on different questionnaire
    versions. ``figures`` (jump) are the frame columns watched; a list is accepted and stored as
    a tuple. ``max_gap`` (jump, key_system_back) is how many years back the enterprise's previous
    row may lie and still be compared. ``across_versions`` (key_system_back): whether two years
    scored on different questionnaire versions are compared at all (a new version may ask more
    before a key system counts as in use, so a change across versions need not be the firm's).
    """

    id: str
    kind: str
    weight: float = 1.0
    max_change: float = 25.0
    max_change_across_versions: float = 35.0
    figures: tuple[str, ...] = JUMP_FIGURES
    max_gap: int = 2
    across_versions: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"screen rule {self.id!r}: unknown kind {self.kind!r}; one of {KINDS}")
        if not self.id:
            raise ValueError("a screen rule needs a non-empty id")
        object.__setattr__(self, "figures", tuple(self.figures))
        if self.kind == "jump" and not self.figures:
            raise ValueError(f"screen rule {self.id!r}: a jump rule needs at least one figure")
        if not np.isfinite(self.weight):
            raise ValueError(f"screen rule {self.id!r}: weight must be a finite number")
        if self.max_change < 0 or self.max_change_across_versions < 0:
            raise ValueError(f"screen rule {self.id!r}: change thresholds must not be negative")
        if self.max_gap < 1:
            raise ValueError(f"screen rule {self.id!r}: max_gap must be at least 1 year")


# ----------------------------------------------------------------------------- rule flags


def _empty_object(n: int) -> npt.NDArray[np.object_]:
    """An object array of ``n`` empty tuples (the ``other`` column of most flags)."""
    out = np.empty(n, dtype=object)
    out.fill(())
    return out


@dataclass
class _Flags:
    """Column pieces of the flag table, collected rule by rule and joined once at the end."""

    rows: list[IntArray]
    rule: list[str]
    kind: list[str]
    figure: list[str]
    before: list[FloatArray]
    after: list[FloatArray]
    other: list[npt.NDArray[np.object_]]
    weight: list[float]

    def add(
        self,
        rows: IntArray,
        rule: ScreenRule,
        figure: str,
        before: FloatArray,
        after: FloatArray,
        other: npt.NDArray[np.object_] | None = None,
    ) -> None:
        if len(rows) == 0:
            return
        self.rows.append(rows)
        self.rule.append(rule.id)
        self.kind.append(rule.kind)
        self.figure.append(figure)
        self.before.append(before)
        self.after.append(after)
        self.other.append(_empty_object(len(rows)) if other is None else other)
        self.weight.append(float(rule.weight))

    def frame(self, assessment: IntArray, enterprise: IntArray, year: IntArray) -> pd.DataFrame:
        sizes = [len(r) for r in self.rows]
        rows = np.concatenate(self.rows) if self.rows else np.empty(0, dtype=np.int64)

        def repeat(values: list[str]) -> npt.NDArray[np.object_]:
            return np.repeat(np.array(values, dtype=object), sizes)

        return pd.DataFrame(
            {
                "assessment": assessment[rows],
                "enterprise": enterprise[rows],
                "year": year[rows],
                "rule": pd.Series(repeat(self.rule), dtype=str),
                "kind": pd.Series(repeat(self.kind), dtype=str),
                "figure": pd.Series(repeat(self.figure), dtype=str),
                "before": np.concatenate(self.before) if self.before else np.empty(0),
                "after": np.concatenate(self.after) if self.after else np.empty(0),
                "other": np.concatenate(self.other) if self.other else _empty_object(0),
                "weight": np.repeat(np.array(self.weight, dtype=np.float64), sizes),
            },
            columns=list(FLAG_COLUMNS),
        )


def _previous_rows(enterprise: IntArray, year: IntArray, order: IntArray) -> IntArray:
    """Position (in frame order) of each row's previous row, or -1 when it has none.

    The previous row is the same enterprise's row of the latest earlier year. With ``order``
    sorting the rows by enterprise, year and assessment, a row's previous row is the one just
    before the first row of its (enterprise, year) block; when that earlier year holds several
    rows, the one with the highest assessment id is taken.
    """
    n = len(order)
    prev = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return prev
    ent = enterprise[order]
    yr = year[order]
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = (ent[1:] != ent[:-1]) | (yr[1:] != yr[:-1])
    block_start = np.maximum.accumulate(np.where(new_block, np.arange(n), 0))
    before_start = block_start - 1
    same_firm = ent[np.maximum(before_start, 0)] == ent
    has_prev = (before_start >= 0) & same_firm
    prev[order] = np.where(has_prev, order[np.maximum(before_start, 0)], -1)
    return prev


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs frame columns {missing}, which are missing")


def _float(frame: pd.DataFrame, column: str) -> FloatArray:
    return frame[column].to_numpy(dtype=np.float64, na_value=np.nan)


def _jump(
    frame: pd.DataFrame,
    rule: ScreenRule,
    prev: IntArray,
    compared: BoolArray,
    out: _Flags,
) -> None:
    _require(frame, [*rule.figures, "version"], f"jump rule {rule.id!r}")
    version = frame["version"].to_numpy(dtype=np.int64)
    rows = np.flatnonzero(compared)
    same_version = version[rows] == version[prev[rows]]
    threshold = np.where(same_version, rule.max_change, rule.max_change_across_versions)
    for figure in rule.figures:
        values = _float(frame, figure)
        after = values[rows]
        before = values[prev[rows]]
        with np.errstate(invalid="ignore"):
            fires = np.abs(after - before) > threshold  # NaN on either side compares False
        out.add(rows[fires], rule, figure, before[fires], after[fires])


def _key_system_back(
    frame: pd.DataFrame,
    rule: ScreenRule,
    prev: IntArray,
    compared: BoolArray,
    out: _Flags,
) -> None:
    columns = [f"applied.{k}" for k in LINKS]
    _require(frame, columns, f"key_system_back rule {rule.id!r}")
    rows = np.flatnonzero(compared)
    if not rule.across_versions:
        _require(frame, ["version"], f"key_system_back rule {rule.id!r}")
        version = frame["version"].to_numpy(dtype=np.int64)
        rows = rows[version[rows] == version[prev[rows]]]
    for column in columns:
        values = _float(frame, column)
        after = values[rows]
        before = values[prev[rows]]
        fires = (before == 1.0) & (after == 0.0)  # NaN (link does not apply) never fires
        out.add(rows[fires], rule, column, before[fires], after[fires])


def _copied(frame: pd.DataFrame, rule: ScreenRule, out: _Flags) -> None:
    """Rows of one year from two or more enterprises with the same non-empty digest.

    Each such row fires; its ``other`` lists the sharing assessments of the other enterprises
    (another row of the same enterprise is no copy), in ascending id order.
    """
    _require(frame, ["digest"], f"copied rule {rule.id!r}")
    digest = frame["digest"].fillna("")
    # Only a digest seen more than once can be shared: a cheap pass before grouping.
    known = np.flatnonzero(((digest != "") & digest.duplicated(keep=False)).to_numpy())
    if len(known) == 0:
        return
    sub = pd.DataFrame(
        {
            "row": known,
            "assessment": frame["assessment"].to_numpy(dtype=np.int64)[known],
            "enterprise": frame["enterprise"].to_numpy(dtype=np.int64)[known],
            "year": frame["year"].to_numpy(dtype=np.int64)[known],
            "digest": digest.to_numpy(dtype=object)[known].astype(str),
        }
    )
    firms = sub.groupby(["year", "digest"], sort=False)["enterprise"].transform("nunique")
    sub = sub[firms.to_numpy() >= 2].sort_values(["year", "digest", "assessment"])
    if sub.empty:
        return
    rows: list[int] = []
    others: list[tuple[int, ...]] = []
    for _, group in sub.groupby(["year", "digest"], sort=False):
        ids = group["assessment"].tolist()
        ents = group["enterprise"].tolist()
        for row, a, e in zip(group["row"].tolist(), ids, ents, strict=True):
            rows.append(row)
            others.append(tuple(i for i, f in zip(ids, ents, strict=True) if f != e and i != a))
    other = _objects(others)
    nan = np.full(len(rows), np.nan)
    out.add(np.array(rows, dtype=np.int64), rule, "", nan, nan.copy(), other)


def _engine_checks(frame: pd.DataFrame, rule: ScreenRule, out: _Flags) -> None:
    _require(frame, ["flags"], f"engine_checks rule {rule.id!r}")
    failed = _float(frame, "flags")
    rows = np.flatnonzero(failed > 0)
    out.add(rows, rule, "", np.full(len(rows), np.nan), failed[rows])


def rule_flags(frame: pd.DataFrame, rules: Sequence[ScreenRule]) -> pd.DataFrame:
    """Every (assessment, rule, figure) on which a screening rule fires, one row each.

    Columns are :data:`FLAG_COLUMNS`: the assessment, its enterprise and year, the rule's id and
    kind, the figure (a frame column such as ``"link.rd"``, ``"applied.rd"`` for a key system
    gone, ``""`` for copied and engine_checks), its value the year before (``before``, NaN when
    not applicable) and now (``after``; for engine_checks the number of failed checks; NaN for
    copied), the other assessments sharing the digest (``other``, copied only; else ``()``) and
    the rule's weight. Rows come rule by rule in the given order, by assessment within a rule.

    The previous row of an enterprise is its row of the latest earlier year in the frame; it is
    compared only when at most the rule's ``max_gap`` years earlier. Rule ids must be unique.
    """
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError(f"screen rule ids must be unique, got {ids}")
    _require(frame, ["assessment", "enterprise", "year"], "rule_flags")
    assessment = frame["assessment"].to_numpy(dtype=np.int64)
    enterprise = frame["enterprise"].to_numpy(dtype=np.int64)
    year = frame["year"].to_numpy(dtype=np.int64)
    out = _Flags([], [], [], [], [], [], [], [])
    prev: IntArray | None = None
    for rule in rules:
        if rule.kind in ("jump", "key_system_back"):
            if prev is None:
                prev = _previous_rows(enterprise, year, np.lexsort((assessment, year, enterprise)))
            gap = year - year[np.maximum(prev, 0)]
            compared = (prev >= 0) & (gap <= rule.max_gap)
            if rule.kind == "jump":
                _jump(frame, rule, prev, compared, out)
            else:
                _key_system_back(frame, rule, prev, compared, out)
        elif rule.kind == "copied":
            _copied(frame, rule, out)
        else:
            _engine_checks(frame, rule, out)
    flags = out.frame(assessment, enterprise, year)
    order = {r: i for i, r in enumerate(ids)}
    flags = flags.assign(_order=flags["rule"].map(order))
    flags = flags.sort_values(["_order", "assessment"], kind="stable").drop(columns="_order")
    return flags.reset_index(drop=True)


# ----------------------------------------------------------------------------- outliers


def _robust_z(values: FloatArray) -> FloatArray:
    """Robust z-scores of the columns of ``values`` (NaN kept): (x - median) / (MAD × 1.4826).

    A column whose MAD is 0 is scaled by its standard deviation instead, and by 1 when that is 0
    too. Every column must hold at least one number.
    """
    median = np.nanmedian(values, axis=0)
    mad = np.nanmedian(np.abs(values - median), axis=0) * MAD_SCALE
    std = np.nanstd(values, axis=0)
    scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))
    z: FloatArray = (values - median) / scale
    return z


def _objects(values: Sequence[object]) -> npt.NDArray[np.object_]:
    """A 1-d object array holding ``values`` as they are (tuples are not unpacked)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _standouts(
    z: FloatArray, names: Sequence[str], top: int
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Per row, the (at most ``top``) features with |z| >= 2, largest first, and their z."""
    n = len(z)
    tops = _empty_object(n)
    zs = _objects([{} for _ in range(n)])
    if top <= 0 or z.size == 0:
        return tops, zs
    size = np.nan_to_num(np.abs(z), nan=0.0)
    notable = size >= Z_NOTABLE
    order = np.argsort(-size, axis=1, kind="stable")[:, :top]
    for i in np.flatnonzero(notable.any(axis=1)):
        chosen = [j for j in order[i] if notable[i, j]]
        tops[i] = tuple(names[j] for j in chosen)
        zs[i] = {names[j]: round(float(z[i, j]), 2) for j in chosen}
    return tops, zs


def outlier_scores(
    frame: pd.DataFrame,
    features: Sequence[str],
    by: str | None = "sector",
    min_group: int = 20,
    random_state: int = 0,
    n_estimators: int = 100,
    top: int = 3,
) -> pd.DataFrame:
    """How unusual each row is among its peers, and which of its figures stand out.

    The result has the frame's index and columns ``assessment`` (copied from the frame when it
    has one, so the result can go straight to :func:`ranking`), ``outlier``, ``top`` and ``z``.

    ``outlier`` is an IsolationForest anomaly score in (0, 1] (minus sklearn's
    ``score_samples``): about 0.5 and below is ordinary, near 1 very unusual. A forest is fitted
    per ``by`` group (the whole frame when ``by`` is None) on the group's ``features``, each
    standardised robustly within the group (see :func:`_robust_z`); missing values are filled
    with the group median first, and a feature with no value in the group is left out there.
    Groups of fewer than ``min_group`` rows, rows without a group and groups with no usable
    feature get NaN, ``()`` and ``{}``: too few to judge.

    ``top`` names the (at most ``top``) features whose robust |z| is 2 or more, largest first;
    ``z`` maps those to their z rounded to 2 decimals. The same ``random_state`` gives the same
    scores.
    """
    names = list(features)
    _require(frame, names, "outlier_scores")
    n = len(frame)
    score = np.full(n, np.nan)
    tops = _empty_object(n)
    zs = _objects([{} for _ in range(n)])
    values = np.column_stack([_float(frame, f) for f in names]) if names else np.empty((n, 0))
    if by is None:
        groups = {None: np.arange(n)} if n else {}
    else:
        _require(frame, [by], "outlier_scores")
        groups = frame.groupby(by, observed=True, sort=True, dropna=True).indices
    for rows in groups.values():
        if len(rows) < max(min_group, 1):
            continue
        x = values[rows]
        usable = np.flatnonzero(~np.isnan(x).all(axis=0))
        if len(usable) == 0:
            continue
        z = _robust_z(x[:, usable])
        forest = IsolationForest(
            n_estimators=n_estimators, max_samples="auto", random_state=random_state
        )
        filled = np.nan_to_num(z, nan=0.0)  # the median standardises to 0
        forest.fit(filled)
        score[rows] = -forest.score_samples(filled)
        tops[rows], zs[rows] = _standouts(z, [names[j] for j in usable], top)
    columns: dict[str, object] = {}
    if "assessment" in frame.columns:
        columns["assessment"] = frame["assessment"].to_numpy()
    columns |= {"outlier": score, "top": tops, "z": zs}
    return pd.DataFrame(columns, index=frame.index)


# ----------------------------------------------------------------------------- ranking


def ranking(
    flags: pd.DataFrame,
    outliers: pd.DataFrame,
    *,
    outlier_threshold: float = 0.6,
    outlier_weight: float = 1.0,
) -> pd.DataFrame:
    """The assessments to check, most urgent first.

    ``flags`` is :func:`rule_flags`' result. ``outliers`` is :func:`outlier_scores`' result: it
    is matched on its ``assessment`` column (which outlier_scores copies from a frame that has
    one); its index is not used. One row per assessment with at least one flag or an outlier
    score of at least ``outlier_threshold``; columns :data:`RANKING_COLUMNS`:

    * ``priority``: each rule that fired on the assessment adds its weight once, however many
      figures it fired on, plus ``outlier_weight`` × the outlier score when that is at or
      above the threshold;
    * ``rules``: the sorted tuple of the ids of the rules that fired (``()`` for an outlier only);
    * ``outlier``: the assessment's outlier score (also when under the threshold), NaN if none.

    Sorted by priority descending, then assessment ascending.
    """
    if "assessment" not in outliers.columns:
        raise ValueError(
            "ranking needs an 'assessment' column in outliers "
            "(outlier_scores adds it when the frame has one)"
        )
    per_rule = flags[["assessment", "rule", "weight"]].drop_duplicates(["assessment", "rule"])
    per_rule = per_rule.sort_values(["assessment", "rule"])
    flagged = per_rule["assessment"].to_numpy(dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, flagged[1:] != flagged[:-1]]) if len(flagged) else flagged
    flagged_ids = flagged[starts]
    flag_weight = (
        np.add.reduceat(per_rule["weight"].to_numpy(dtype=np.float64), starts)
        if len(starts)
        else np.empty(0)
    )
    rule_ids = per_rule["rule"].to_numpy(dtype=object)
    groups = np.split(rule_ids, starts[1:]) if len(starts) else []
    flag_rules = _objects([tuple(x.tolist()) for x in groups])
    known = outliers.loc[outliers["outlier"].notna(), ["assessment", "outlier"]]
    score = known.groupby("assessment", sort=True)["outlier"].max()
    ids = np.union1d(
        flagged_ids, score.index[score.to_numpy() >= outlier_threshold].to_numpy(dtype=np.int64)
    )
    at = np.searchsorted(flagged_ids, ids)
    has_flags = at < len(flagged_ids)
    has_flags[has_flags] = flagged_ids[at[has_flags]] == ids[has_flags]
    weight = np.zeros(len(ids))
    weight[has_flags] = flag_weight[at[has_flags]]
    rules = _empty_object(len(ids))
    rules[has_flags] = flag_rules[at[has_flags]]
    their_score = score.reindex(ids).to_numpy(dtype=np.float64)
    counted = np.where(their_score >= outlier_threshold, their_score, 0.0)
    result = pd.DataFrame(
        {
            "assessment": ids,
            "priority": weight + outlier_weight * counted,
            "rules": rules,
            "outlier": their_score,
        },
        columns=list(RANKING_COLUMNS),
    )
    result = result.sort_values(["priority", "assessment"], ascending=[False, True])
    return result.reset_index(drop=True)
