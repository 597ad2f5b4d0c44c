"""Cluster benchmarks: hand-computed values on small hand-made frames, and properties that hold
for any frame (rates stay rates, percentiles follow the score, straight lines project straight)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.benchmarks import (
    CONDITIONS,
    FIGURES,
    STAGE_ORDER,
    ShortlistRule,
    adoption_series,
    distribution,
    glide_path,
    incomplete_beta,
    indicator_summary,
    near_adopters,
    percentile_in_group,
    percentile_of,
    project,
    rate_gain_each,
    rate_if_adopted,
    shortlist,
    shortlist_reasons,
    t_cdf,
    t_quantile,
)
from scoring.spec import ASPECTS, LINKS, STAGES

SETTINGS = settings(max_examples=60, deadline=None)
STAGE_DTYPE = pd.CategoricalDtype(list(STAGES))


def stages(values: list[str]) -> pd.Categorical:
    return pd.Categorical(values, dtype=STAGE_DTYPE)


@pytest.fixture
def six_firms() -> pd.DataFrame:
    """Cluster "a": four firms scoring 40, 50, 60, 70; cluster "b": one unscored firm and one at
    80; cluster "c" is a category with no rows."""
    return pd.DataFrame(
        {
            "assessment": np.arange(1, 7, dtype="int64"),
            "enterprise": np.arange(11, 17, dtype="int64"),
            "year": np.array([2015, 2015, 2016, 2016, 2015, 2016], dtype="int64"),
            "cluster": pd.Categorical(["a", "a", "a", "a", "b", "b"], categories=["a", "b", "c"]),
            "size": pd.Categorical(["lt20", "lt20", "ge1000", "ge1000", "lt20", "lt20"]),
            "overall": [40.0, 50.0, 60.0, 70.0, np.nan, 80.0],
            "link.rd": [10.0, np.nan, 30.0, 20.0, 5.0, np.nan],
            "adopter": [False, True, True, False, True, True],
            "stage": stages(
                ["initial", "integration", "integration", "innovation", "undetermined", "initial"]
            ),
            "version": np.array([1, 1, 1, 2, 1, 1], dtype="int64"),
        }
    )


# ----------------------------------------------------------------------------- vocabulary


def test_figures_are_overall_then_the_links_then_the_aspects() -> None:
    assert FIGURES[0] == "overall"
    assert FIGURES[1:5] == tuple(f"link.{k}" for k in LINKS)
    assert FIGURES[5:] == tuple(f"aspect.{a}" for a in ASPECTS)
    assert len(FIGURES) == 10 and "link.rd" in FIGURES and "aspect.competitiveness" in FIGURES


def test_stage_order_puts_undetermined_below_the_ladder() -> None:
    ladder = ["undetermined", "initial", "single_coverage", "integration", "innovation"]
    ranks = [STAGE_ORDER[s] for s in ladder]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5
    assert set(STAGE_ORDER) == set(STAGES)


# ----------------------------------------------------------------------------- distribution


def test_distribution_per_cluster_matches_hand_computed_values(six_firms: pd.DataFrame) -> None:
    out = distribution(six_firms, ["cluster"])
    assert list(out.index) == ["a", "b"]  # "c" has no rows and is not listed
    a, b = out.loc["a"], out.loc["b"]
    # a: [40, 50, 60, 70]; median (50+60)/2 = 55; q1 at position 0.75 -> 40 + 0.75*10 = 47.5;
    # q3 at position 2.25 -> 60 + 0.25*10 = 62.5
    assert (a["n"], a["n_figure"]) == (4, 4)
    assert a["mean"] == 55.0 and a["median"] == 55.0
    assert a["q1"] == 47.5 and a["q3"] == 62.5
    assert (a["min"], a["max"]) == (40.0, 70.0)
    assert a["adopters"] == 2 and a["adoption_rate"] == 0.5
    # b: one NaN and 80: two rows, one value
    assert (b["n"], b["n_figure"]) == (2, 1)
    assert b["mean"] == 80.0 and b["q1"] == 80.0 and b["q3"] == 80.0
    assert b["adoption_rate"] == 1.0
    # stages: a has initial 1, integration 2, innovation 1; b undetermined 1, initial 1
    assert [int(a[f"stage.{s}"]) for s in STAGES] == [0, 1, 0, 2, 1]
    assert [int(b[f"stage.{s}"]) for s in STAGES] == [1, 1, 0, 0, 0]
    assert out["n"].dtype == "int64" and out["stage.single_coverage"].dtype == "int64"


def test_distribution_with_no_keys_is_the_whole_frame(six_firms: pd.DataFrame) -> None:
    out = distribution(six_firms, [])
    assert len(out) == 1
    row = out.iloc[0]
    # values [40, 50, 60, 70, 80]: median 60, q1 at position 1 -> 50, q3 at position 3 -> 70
    assert (row["n"], row["n_figure"]) == (6, 5)
    assert (row["median"], row["q1"], row["q3"], row["mean"]) == (60.0, 50.0, 70.0, 60.0)
    assert row["adopters"] == 4 and row["adoption_rate"] == pytest.approx(4 / 6)


def test_distribution_of_a_link_over_two_keys(six_firms: pd.DataFrame) -> None:
    out = distribution(six_firms, ["cluster", "size"], figure="link.rd")
    assert list(out.index) == [("a", "ge1000"), ("a", "lt20"), ("b", "lt20")]
    # a/lt20: link.rd [10, NaN] -> one value 10; a/ge1000: [30, 20] -> mean 25, q1 22.5
    assert out.loc[("a", "lt20"), "n"] == 2 and out.loc[("a", "lt20"), "n_figure"] == 1
    assert out.loc[("a", "lt20"), "median"] == 10.0
    assert out.loc[("a", "ge1000"), "mean"] == 25.0 and out.loc[("a", "ge1000"), "q1"] == 22.5
    assert out.loc[("b", "lt20"), "mean"] == 5.0


def test_distribution_of_an_unknown_figure_is_refused(six_firms: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"link\.nothing"):
        distribution(six_firms, ["cluster"], figure="link.nothing")


# ----------------------------------------------------------------------------- percentiles


def test_percentile_in_group_is_the_mid_rank(six_firms: pd.DataFrame) -> None:
    pct = percentile_in_group(six_firms, ["cluster"])
    assert list(pct.index) == list(six_firms.index)
    # a: 40, 50, 60, 70 -> (rank - 0.5) / 4: 12.5, 37.5, 62.5, 87.5; b: NaN, and 80 alone -> 50
    assert pct.iloc[:4].tolist() == [12.5, 37.5, 62.5, 87.5]
    assert math.isnan(pct.iloc[4]) and pct.iloc[5] == 50.0


def test_tied_scores_share_their_percentile() -> None:
    frame = pd.DataFrame({"g": ["x", "x", "x"], "overall": [50.0, 50.0, 70.0]})
    pct = percentile_in_group(frame, ["g"])
    # the two 50s share average rank 1.5 -> 100 * 1 / 3; the 70 has rank 3 -> 100 * 2.5 / 3
    assert pct.tolist() == pytest.approx([100 / 3, 100 / 3, 250 / 3])


def test_percentile_of_a_value_among_other_firms() -> None:
    peers = np.array([40.0, 50.0, 60.0, 70.0, np.nan])
    # two below, one equal: (2 + 0.5) / 4 -> 62.5 (the NaN is ignored)
    assert percentile_of(60.0, peers) == 62.5
    assert percentile_of(30.0, peers) == 0.0
    assert percentile_of(99.0, peers) == 100.0
    assert percentile_of(55.0, peers) == 50.0
    with pytest.raises(ValueError):
        percentile_of(50.0, np.array([np.nan]))
    with pytest.raises(ValueError):
        percentile_of(50.0, np.array([]))


scores = st.one_of(st.floats(0, 100, allow_nan=False), st.just(math.nan), st.sampled_from([50.0]))


@st.composite
def scored_frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    return pd.DataFrame(
        {
            "g": draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n)),
            "year": draw(st.lists(st.integers(2013, 2016), min_size=n, max_size=n)),
            "overall": draw(st.lists(scores, min_size=n, max_size=n)),
            "adopter": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "stage": stages(draw(st.lists(st.sampled_from(STAGES), min_size=n, max_size=n))),
            "version": draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)),
        }
    )


@SETTINGS
@given(scored_frames())
def test_percentile_follows_the_score_within_each_group(frame: pd.DataFrame) -> None:
    pct = percentile_in_group(frame, ["g"])
    assert pct.isna().equals(frame["overall"].isna())
    for _, rows in frame.groupby("g"):
        known = rows["overall"].dropna()
        p = pct.loc[known.index]
        assert ((p > 0) & (p < 100)).all()
        for i in known.index:
            for j in known.index:
                if known[i] < known[j]:
                    assert p[i] < p[j]
                elif known[i] == known[j]:
                    assert p[i] == p[j]
        if len(known):  # a row's percentile equals percentile_of among the others plus itself
            i = known.index[0]
            assert p[i] == pytest.approx(percentile_of(known[i], known.to_numpy()))


@SETTINGS
@given(scored_frames())
def test_rates_are_shares_of_the_rows(frame: pd.DataFrame) -> None:
    dist = distribution(frame, ["g"])
    assert dist["adoption_rate"].between(0, 1).all()
    assert dist["n"].sum() == len(frame)
    assert (dist[[f"stage.{s}" for s in STAGES]].sum(axis=1) == dist["n"]).all()
    assert (dist["n_figure"] <= dist["n"]).all()
    series = adoption_series(frame, ["g"])
    assert series["rate"].between(0, 1).all() and series["n"].sum() == len(frame)
    assert (series["adopters"] <= series["n"]).all()


# ----------------------------------------------------------------------------- adoption by year


def test_adoption_series_counts_each_year_and_marks_a_version_change(
    six_firms: pd.DataFrame,
) -> None:
    out = adoption_series(six_firms, ["cluster"])
    assert list(out.index) == [("a", 2015), ("a", 2016), ("b", 2015), ("b", 2016)]
    # a 2015: firms 11 (no), 12 (yes) -> 1/2; a 2016: 13 (yes, v1), 14 (no, v2) -> 1/2
    assert out["n"].tolist() == [2, 2, 1, 1]
    assert out["adopters"].tolist() == [1, 1, 1, 1]
    assert out["rate"].tolist() == [0.5, 0.5, 1.0, 1.0]
    assert out["versions"].tolist() == [(1,), (1, 2), (1,), (1,)]
    assert out["version_changed"].tolist() == [False, True, False, False]


def test_adoption_series_of_the_whole_frame_is_indexed_by_year(six_firms: pd.DataFrame) -> None:
    out = adoption_series(six_firms, [])
    assert out.index.name == "year" and list(out.index) == [2015, 2016]
    # 2015: 11 no, 12 yes, 15 yes -> 2/3; 2016: 13 yes, 14 no, 16 yes -> 2/3
    assert out["rate"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert out["version_changed"].tolist() == [False, True]


# ----------------------------------------------------------------------------- Student t


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.90, 1, 3.0777),
        (0.90, 5, 1.4759),
        (0.975, 10, 2.2281),
        (0.975, 1, 12.7062),
        (0.95, 2, 2.9200),
        (0.995, 3, 5.8409),
        (0.95, 30, 1.6973),
    ],
)
def test_t_quantile_matches_the_printed_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-3)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, abs=1e-3)
    assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)


def test_t_distribution_edge_values() -> None:
    assert t_quantile(0.5, 4) == 0.0 and t_cdf(0.0, 4) == 0.5
    assert t_cdf(-1.0, 1) == pytest.approx(0.25, abs=1e-12)
    assert t_cdf(-2.2281, 10) == pytest.approx(0.025, abs=1e-5)
    # df = 1 is the Cauchy distribution: P(T <= 1) = 3/4
    assert t_cdf(1.0, 1) == pytest.approx(0.75, abs=1e-12)
    # a large df approaches the normal: z(0.975) = 1.95996
    assert t_quantile(0.975, 10_000) == pytest.approx(1.95996, abs=1e-3)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError):
        t_quantile(0.9, 0)


def test_incomplete_beta_known_values() -> None:
    assert incomplete_beta(0.3, 1.0, 1.0) == pytest.approx(0.3, abs=1e-12)  # uniform
    assert incomplete_beta(0.5, 2.5, 2.5) == pytest.approx(0.5, abs=1e-12)  # symmetric
    # I_x(2, 1) = x^2; I_x(1, 3) = 1 - (1 - x)^3
    assert incomplete_beta(0.7, 2.0, 1.0) == pytest.approx(0.49, abs=1e-12)
    assert incomplete_beta(0.2, 1.0, 3.0) == pytest.approx(1 - 0.8**3, abs=1e-12)
    assert incomplete_beta(0.0, 2.0, 3.0) == 0.0 and incomplete_beta(1.0, 2.0, 3.0) == 1.0


# ----------------------------------------------------------------------------- projection


def test_projection_of_a_steady_climb_crosses_the_target_on_the_hand_computed_year() -> None:
    # 50%, 55%, 60% in 2013..2015: +5 points a year; 70% is reached in 2017
    p = project([2013, 2014, 2015], [0.50, 0.55, 0.60], target=0.70, target_year=2020)
    assert p.slope == pytest.approx(0.05) and p.reason == "on_pace" and p.on_track is True
    assert p.projected_year == 2017 and p.projected_range == (2017, 2017)
    assert p.reached_year is None
    assert min(p.fitted) == 2013 and max(p.fitted) == 2030  # horizon: 2020 + 10
    assert p.fitted[2020] == pytest.approx(0.85)
    assert p.fitted[2030] == 1.0  # 1.35 on the line, clipped
    assert p.intercept == pytest.approx(0.50 - 0.05 * 2013)


def test_projection_band_matches_the_hand_computed_interval() -> None:
    # years 2010..2012, rates .1 .3 .2: mean year 2011, Sxx 2, slope .05, fitted .15 .2 .25
    # residuals -.05 .1 -.05 -> SSR .015, s^2 = .015 / 1; in 2013 se = s sqrt(1 + 1/3 + 4/2)
    # = sqrt(.015 * 10/3) = sqrt(.05); t(0.90, 1) = 3.077684 -> fitted .3 ± 0.688191
    p = project([2010, 2011, 2012], [0.1, 0.3, 0.2], target=0.9, target_year=2020)
    assert p.fitted[2013] == pytest.approx(0.3)
    assert p.upper[2013] == pytest.approx(0.3 + 3.077684 * math.sqrt(0.05), abs=1e-6)
    assert p.lower[2013] == 0.0  # 0.3 - 0.688 clipped at 0
    # at level 0.95 (t(0.975, 1) = 12.7062) the band is wider
    wide = project([2010, 2011, 2012], [0.1, 0.3, 0.2], 0.9, 2020, level=0.95)
    assert wide.upper[2011] == pytest.approx(
        min(1.0, 0.2 + 12.7062 * math.sqrt(0.015 * (1 + 1 / 3))), abs=1e-4
    )
    assert wide.upper[2011] > p.upper[2011]


@SETTINGS
@given(
    first=st.integers(2005, 2015),
    n=st.integers(3, 8),
    start=st.integers(0, 50),
    step=st.integers(1, 10),
    extra=st.integers(1, 40),
)
def test_a_perfectly_linear_series_is_projected_on_its_own_line(
    first: int, n: int, start: int, step: int, extra: int
) -> None:
    years = list(range(first, first + n))
    last_rate = start + step * (n - 1)  # in percent
    target = min(100, last_rate + extra)
    if target <= last_rate:
        return
    p = project(years, [(start + step * i) / 100 for i in range(n)], target / 100, 2030)
    for year, fit in p.fitted.items():
        line = (start + step * (year - first)) / 100
        assert fit == pytest.approx(min(1.0, line), abs=1e-9)
        assert p.upper[year] - p.lower[year] <= 1e-9
    assert p.slope == pytest.approx(step / 100, abs=1e-12)
    # first whole year with start + step * (t - first) >= target: t - first = ceil(gap / step)
    crossing = first + -(-(target - start) // step)
    expected = crossing if crossing <= p.horizon else None
    assert p.projected_year == expected
    assert p.projected_range == (expected, expected)
    assert p.reason == ("on_pace" if crossing <= 2030 else "not_at_current_pace")


@SETTINGS
@given(
    start=st.integers(35, 60),
    drops=st.lists(st.integers(0, 5), min_size=2, max_size=6),
    target=st.integers(61, 90),
)
def test_a_falling_series_is_falling(start: int, drops: list[int], target: int) -> None:
    rates = [start]
    for d in drops:
        rates.append(rates[-1] - d)
    if rates[0] == rates[-1]:
        rates[-1] -= 1  # make it fall overall
    years = list(range(2013, 2013 + len(rates)))
    p = project(years, [r / 100 for r in rates], target / 100, 2020)
    assert p.slope is not None and p.slope < 0
    assert p.reason == "falling"
    assert p.projected_year is None and p.on_track is False and p.reached_year is None
    assert p.projected_range[1] is None


def test_a_climb_too_slow_for_the_goal_year_is_not_at_current_pace() -> None:
    # +1 point a year from 52% in 2015: 70% takes until 2033, after the default horizon 2030
    years, rates = [2013, 2014, 2015], [0.50, 0.51, 0.52]
    p = project(years, rates, target=0.70, target_year=2020)
    assert p.reason == "not_at_current_pace" and p.on_track is False
    assert p.projected_year is None
    later = project(years, rates, target=0.70, target_year=2020, horizon=2040)
    assert later.projected_year == 2033 and later.reason == "not_at_current_pace"


def test_the_projected_year_comes_after_the_last_observed_one() -> None:
    # .50 .69 .69: slope .095, mean .6267 -> the line gives .7217 in 2015, above the target, yet
    # no year reached .70: the projection names 2016, the first year still to come
    p = project([2013, 2014, 2015], [0.50, 0.69, 0.69], target=0.70, target_year=2020)
    assert p.fitted[2015] > 0.70 and p.reached_year is None
    assert p.projected_year == 2016 and p.reason == "on_pace"


def test_a_falling_line_is_not_on_track_even_for_a_goal_year_in_the_past() -> None:
    # the line through .69 .60 .55 gives .89 in 2010, but it falls and never met .70
    p = project([2013, 2014, 2015], [0.69, 0.60, 0.55], target=0.70, target_year=2010)
    assert p.fitted.get(2010) is None and p.slope is not None and p.slope < 0
    assert p.on_track is False and p.reason == "falling"


def test_a_target_met_now_is_reached() -> None:
    p = project([2013, 2014, 2015, 2016], [0.6, 0.72, 0.68, 0.75], target=0.70, target_year=2020)
    assert p.reason == "reached" and p.reached_year == 2014 and p.on_track is True
    exactly = project([2013, 2014, 2015], [0.6, 0.65, 0.70], target=0.70, target_year=2020)
    assert exactly.reached_year == 2015 and exactly.reason == "reached"


def test_a_target_met_once_and_lost_is_judged_by_its_trend() -> None:
    # .60 .70 .65: met in 2014, not now; the line rises 2.5 points a year from .65 in 2014 (its
    # mean), so it is at .70 in 2016 (.65 + .025 * 2), before the goal year 2020: on pace
    p = project([2013, 2014, 2015], [0.6, 0.7, 0.65], target=0.70, target_year=2020)
    assert p.reached_year == 2014 and p.reason == "on_pace" and p.on_track is True
    assert p.projected_year == 2016


def test_a_goal_year_passed_unmet_is_not_on_track_though_the_line_rises() -> None:
    # .50 .55 .60 .65 in 2017-2020, goal .70 in 2020: the line reaches .70 in 2021, too late
    p = project([2017, 2018, 2019, 2020], [0.50, 0.55, 0.60, 0.65], target=0.70, target_year=2020)
    assert p.reason == "not_at_current_pace" and p.on_track is False
    assert p.projected_year == 2021


def test_too_few_years_give_no_line() -> None:
    p = project([2014, 2015], [0.5, 0.6], target=0.7, target_year=2020)
    assert p.reason == "too_few_years" and p.slope is None and p.intercept is None
    assert p.fitted == {} and p.projected_year is None and p.on_track is None
    assert p.years == (2014, 2015)
    none = project([], [], target=0.7, target_year=2020)
    assert none.reason == "too_few_years" and none.reached_year is None


def test_two_years_allowed_give_a_line_without_a_band() -> None:
    p = project([2014, 2015], [0.5, 0.6], target=0.7, target_year=2020, min_years=2)
    assert p.slope == pytest.approx(0.1) and p.projected_year == 2016
    assert p.lower == p.fitted == p.upper
    assert p.fitted[2017] == pytest.approx(0.8)


def test_projection_sorts_years_drops_missing_rates_and_refuses_repeats() -> None:
    p = project([2015, 2013, 2014, 2016], [0.6, 0.5, 0.55, math.nan], 0.7, 2020)
    assert p.years == (2013, 2014, 2015) and p.rates == (0.5, 0.55, 0.6)
    assert p.projected_year == 2017
    with pytest.raises(ValueError):
        project([2013, 2013, 2014], [0.5, 0.5, 0.6], 0.7, 2020)
    with pytest.raises(ValueError):
        project([2013, 2014], [0.5], 0.7, 2020)


def test_glide_path_is_the_straight_line_from_baseline_to_goal() -> None:
    path = glide_path(2013, 0.50, 2020, 0.70, range(2013, 2021))
    assert path[2013] == 0.50 and path[2020] == pytest.approx(0.70)
    # 0.2 over 7 years: 2016 is 3/7 of the way -> 0.5 + 0.6/7 = 0.585714...
    assert path[2016] == pytest.approx(0.5857142857)
    assert list(path) == list(range(2013, 2021))
    with pytest.raises(ValueError):
        glide_path(2013, 0.5, 2013, 0.7, [2013])


# ----------------------------------------------------------------------------- near adopters


@pytest.fixture
def links_frame() -> pd.DataFrame:
    nan = np.nan
    applied = [
        (1, 0, 1, nan),  # 10: one short, production lacks IT
        (0, 1, 1, 0),  # 11: one short, two links could close the gap
        (1, 1, 1, 0),  # 12: adopter
        (1, 0, 0, 0),  # 13: two short
        (1, 1, nan, nan),  # 14: one short but no link left to equip
        (0, 1, nan, 0),  # 15: rule needs 2 here, one short
    ]
    frame = pd.DataFrame(applied, columns=[f"applied.{k}" for k in LINKS], dtype="float64")
    frame["adopter"] = [False, False, True, False, False, False]
    frame["it_links"] = np.array([2, 2, 3, 1, 2, 1], dtype="int64")
    frame["it_needed"] = np.array([3, 3, 3, 3, 3, 2], dtype="int64")
    frame.index = pd.Index([10, 11, 12, 13, 14, 15])
    return frame


def test_near_adopters_lack_one_link_and_name_the_links_that_would_do(
    links_frame: pd.DataFrame,
) -> None:
    near = near_adopters(links_frame)
    assert list(near.index) == [10, 11, 15]
    assert near["missing"].tolist() == [
        ("production",),
        ("rd", "marketing"),
        ("rd", "marketing"),
    ]


def test_rate_if_the_near_adopters_adopted(links_frame: pd.DataFrame) -> None:
    near = near_adopters(links_frame)
    # one adopter of six now; three near adopters -> 4 / 6
    assert rate_if_adopted(links_frame, near) == pytest.approx(4 / 6)
    assert rate_gain_each(links_frame) == pytest.approx(1 / 6)
    empty = links_frame.iloc[:0]
    assert math.isnan(rate_gain_each(empty)) and math.isnan(rate_if_adopted(empty, empty))


# ----------------------------------------------------------------------------- shortlist


def history(rows: list[tuple[int, int, float, str, str, int]]) -> pd.DataFrame:
    """A cluster's rows from (enterprise, year, overall, stage, kind, flags)."""
    frame = pd.DataFrame(rows, columns=["enterprise", "year", "overall", "stage", "kind", "flags"])
    frame["assessment"] = np.arange(100, 100 + len(frame), dtype="int64")
    frame["overall"] = frame["overall"].astype("float64")
    frame["stage"] = stages(frame["stage"].tolist())
    frame["kind"] = pd.Categorical(frame["kind"], categories=["self", "certified"])
    return frame


@pytest.fixture
def cluster() -> pd.DataFrame:
    i, n, s = "integration", "innovation", "single_coverage"
    return history(
        [
            (1, 2018, 60, i, "self", 0),
            (1, 2019, 65, i, "self", 0),
            (1, 2020, 70, i, "self", 0),  # eligible, +10
            (2, 2019, 70, n, "self", 0),
            (2, 2020, 75, n, "certified", 0),  # eligible, certified
            (3, 2018, 70, i, "self", 0),
            (3, 2019, 62, i, "self", 0),
            (3, 2020, 72, i, "self", 0),  # fell 8 in 2019
            (4, 2020, 90, n, "certified", 0),  # one year only
            (5, 2019, 61, i, "self", 0),
            (5, 2020, 64, s, "self", 0),  # stage too low
            (6, 2018, 50, i, "self", 0),
            (6, 2020, 66, i, "certified", 1),  # a failed check
            (7, 2019, 58, i, "self", 0),
            (7, 2020, 59, i, "self", 0),  # overall too low
            (8, 2019, 85, n, "self", 0),
            (8, 2020, 82, n, "self", 0),  # lost 3
            (9, 2017, 40, i, "self", 0),  # outside the window
            (9, 2019, 80, i, "self", 0),
            (9, 2020, 80, i, "self", 0),  # eligible, gain 0
            (10, 2018, 61, i, "self", 0),
            (10, 2019, 63, i, "self", 0),
            (10, 2020, 70, i, "self", 0),  # eligible, ties with 1
            (11, 2019, 66, i, "self", 0),
            (11, 2020, 71, i, "certified", 0),  # eligible, certified
            (12, 2019, 90, n, "self", 0),  # no row in 2020
        ]
    )


def test_shortlist_ranks_certified_first_then_by_overall_then_by_id(
    cluster: pd.DataFrame,
) -> None:
    out = shortlist(cluster, 2020, ShortlistRule())
    # certified: 2 (75), 11 (71); then self: 9 (80), 1 (70), 10 (70, after 1 by id)
    assert out["enterprise"].tolist() == [2, 11, 9, 1, 10]
    assert out["rank"].tolist() == [1, 2, 3, 4, 5]
    assert out["overall"].tolist() == [75.0, 71.0, 80.0, 70.0, 70.0]
    assert out["gain"].tolist() == [5.0, 5.0, 0.0, 10.0, 9.0]
    assert out["years"].tolist() == [2, 2, 2, 3, 3]  # 9's 2017 row is outside 2018..2020
    assert out["assessment"].tolist() == [104, 124, 119, 102, 122]
    assert list(out.columns) == [
        "enterprise",
        "assessment",
        "overall",
        "stage",
        "kind",
        "gain",
        "years",
        "flags",
        "rank",
    ]


def test_shortlist_without_preference_for_certified_ranks_by_overall(
    cluster: pd.DataFrame,
) -> None:
    out = shortlist(cluster, 2020, ShortlistRule(prefer_certified=False))
    assert out["enterprise"].tolist() == [9, 2, 11, 1, 10]


def test_shortlist_leaves_out_excluded_firms_and_stops_at_its_size(cluster: pd.DataFrame) -> None:
    assert shortlist(cluster, 2020, ShortlistRule(), excluded={9, 2})["enterprise"].tolist() == [
        11,
        1,
        10,
    ]
    short = shortlist(cluster, 2020, ShortlistRule(size=2))
    assert short["enterprise"].tolist() == [2, 11] and short["rank"].tolist() == [1, 2]


def test_shortlist_reasons_say_which_condition_fails(cluster: pd.DataFrame) -> None:
    reasons = shortlist_reasons(cluster, 2020, ShortlistRule()).set_index("enterprise")
    assert list(reasons.index) == list(range(1, 12))  # 12 has no row in 2020
    failing = {e: [c for c in CONDITIONS if not reasons.loc[e, c]] for e in reasons.index}
    assert failing == {
        1: [],
        2: [],
        3: ["fall_ok"],
        4: ["gain_ok"],
        5: ["stage_ok"],
        6: ["flags_ok"],
        7: ["overall_ok"],
        8: ["gain_ok"],
        9: [],
        10: [],
        11: [],
    }
    assert reasons["eligible"].tolist() == [not f for f in failing.values()]
    assert math.isnan(reasons.loc[4, "gain"]) and reasons.loc[4, "years"] == 1
    assert reasons.loc[3, "fall"] == 8.0 and reasons.loc[8, "gain"] == -3.0


def test_a_shorter_window_forgets_an_older_fall(cluster: pd.DataFrame) -> None:
    # over 2019..2020 firm 3 went 62 -> 72 and firm 6 has only its 2020 row
    rule = ShortlistRule(improvement_years=2)
    reasons = shortlist_reasons(cluster, 2020, rule).set_index("enterprise")
    assert reasons.loc[3, "eligible"] and reasons.loc[3, "gain"] == 10.0
    assert not reasons.loc[6, "gain_ok"] and reasons.loc[6, "years"] == 1


def test_stricter_thresholds_narrow_the_shortlist(cluster: pd.DataFrame) -> None:
    rule = ShortlistRule(min_stage="innovation", min_gain=1.0, max_flags=1)
    assert shortlist(cluster, 2020, rule)["enterprise"].tolist() == [2]
    loose = ShortlistRule(min_overall=0.0, max_flags=1, min_stage="initial")
    assert set(shortlist(cluster, 2020, loose, excluded=())["enterprise"]) == {
        1,
        2,
        5,
        6,
        7,
        9,
        10,
        11,
    }


def test_a_certified_row_counts_over_a_self_row_of_the_same_year() -> None:
    frame = history(
        [
            (1, 2019, 60, "integration", "self", 0),
            (1, 2020, 68, "integration", "certified", 0),  # assessment 101
            (1, 2020, 65, "integration", "self", 0),  # assessment 102, later but self
        ]
    )
    out = shortlist(frame, 2020, ShortlistRule())
    assert out["assessment"].tolist() == [101] and out["kind"].tolist() == ["certified"]
    assert out["gain"].tolist() == [8.0] and out["years"].tolist() == [2]
    two_self = history(
        [
            (1, 2019, 60, "integration", "self", 0),
            (1, 2020, 61, "integration", "self", 0),
            (1, 2020, 64, "integration", "self", 0),
        ]
    )
    assert shortlist(two_self, 2020, ShortlistRule())["assessment"].tolist() == [102]


def test_an_unknown_stage_in_a_rule_is_refused() -> None:
    with pytest.raises(ValueError):
        ShortlistRule(min_stage="excellent")


# ----------------------------------------------------------------------------- indicators


def test_indicator_summary_shares_means_and_missing_columns() -> None:
    frame = pd.DataFrame(
        {
            "ind.erp": [1.0, 0.0, 1.0, np.nan],
            "ind.rd_ratio": [2.0, 4.0, np.nan, np.nan],
        }
    )
    out = indicator_summary(
        frame,
        ["erp", "rd_ratio", "gone"],
        {"erp": "share", "rd_ratio": "mean", "gone": "share"},
    )
    assert list(out.index) == ["erp", "rd_ratio", "gone"]
    # erp: two of the three answered firms -> 66.67 %; rd_ratio: (2 + 4) / 2 = 3
    assert out.loc["erp", "value"] == pytest.approx(200 / 3)
    assert (out.loc["erp", "n"], out.loc["erp", "left_out"]) == (3, 1)
    assert out.loc["rd_ratio", "value"] == 3.0
    assert (out.loc["rd_ratio", "n"], out.loc["rd_ratio", "left_out"]) == (2, 2)
    assert math.isnan(out.loc["gone", "value"])
    assert (out.loc["gone", "n"], out.loc["gone", "left_out"]) == (0, 4)
    with pytest.raises(ValueError):
        indicator_summary(frame, ["erp"], {"erp": "median"})
