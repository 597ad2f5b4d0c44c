"""Screening: the rules that flag a submission (jumps, a key system gone, copied answers, failed
engine checks), the per-sector IsolationForest outlier scores and the merged ranking, on small
hand-made frames and on seeded synthetic populations where ordinary firms must stay unflagged."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring.screening import (
    FLAG_COLUMNS,
    RANKING_COLUMNS,
    ScreenRule,
    outlier_scores,
    ranking,
    rule_flags,
)
from scoring.spec import LINKS

LINK_FIGURES = [f"link.{k}" for k in LINKS]
APPLIED = [f"applied.{k}" for k in LINKS]
FEATURES = ["overall", *LINK_FIGURES]
JUMP = ScreenRule("jump", "jump")
BACK = ScreenRule("back", "key_system_back", weight=2.0)
COPIED = ScreenRule("copied", "copied", weight=3.0)
CHECKS = ScreenRule("checks", "engine_checks", weight=0.5)


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """A frame of the given rows; every column a rule reads has an unremarkable default."""
    base: dict[str, Any] = {
        "version": 1,
        "overall": 50.0,
        **dict.fromkeys(LINK_FIGURES, 50.0),
        **dict.fromkeys(APPLIED, 1.0),
        "flags": 0,
        "digest": "",
    }
    records = [{"assessment": i + 1, **base, **row} for i, row in enumerate(rows)]
    out = pd.DataFrame.from_records(records)
    return out.astype({"assessment": "int64", "enterprise": "int64", "year": "int64"})


def fired(flags: pd.DataFrame) -> list[tuple[int, str, str]]:
    """The (assessment, rule, figure) triples of a flag table, in its order."""
    return list(
        zip(
            flags["assessment"].tolist(),
            flags["rule"].tolist(),
            flags["figure"].tolist(),
            strict=True,
        )
    )


# ----------------------------------------------------------------------------- rules


def test_a_rule_of_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        ScreenRule("x", "leap")


def test_a_rule_read_from_data_keeps_its_figures_as_a_tuple() -> None:
    rule = ScreenRule("j", "jump", figures=["overall", "link.rd"])  # type: ignore[arg-type]
    assert rule.figures == ("overall", "link.rd")
    assert ScreenRule("j", "jump").figures == ("overall", *LINK_FIGURES)


def test_a_jump_over_the_threshold_fires_and_one_just_under_it_does_not() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "overall": 40.0},
        {"enterprise": 1, "year": 2019, "overall": 65.5},  # +25.5 > 25
        {"enterprise": 2, "year": 2018, "overall": 40.0},
        {"enterprise": 2, "year": 2019, "overall": 64.9},  # +24.9
        {"enterprise": 3, "year": 2018, "overall": 40.0},
        {"enterprise": 3, "year": 2019, "overall": 65.0},  # exactly 25: not more than it
    )
    flags = rule_flags(f, [JUMP])
    assert list(flags.columns) == list(FLAG_COLUMNS)
    assert fired(flags) == [(2, "jump", "overall")]
    row = flags.iloc[0]
    assert (row["enterprise"], row["year"], row["kind"]) == (1, 2019, "jump")
    assert (row["before"], row["after"], row["other"], row["weight"]) == (40.0, 65.5, (), 1.0)


def test_a_fall_counts_as_a_jump_and_each_watched_figure_fires_on_its_own() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "link.rd": 80.0, "link.marketing": 20.0},
        {"enterprise": 1, "year": 2019, "link.rd": 30.0, "link.marketing": 60.0},
    )
    assert fired(rule_flags(f, [JUMP])) == [(2, "jump", "link.rd"), (2, "jump", "link.marketing")]
    only_rd = ScreenRule("rd", "jump", figures=("link.rd",))
    assert fired(rule_flags(f, [only_rd])) == [(2, "rd", "link.rd")]


def test_a_new_questionnaire_version_allows_a_larger_change() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "overall": 40.0, "version": 1},
        {"enterprise": 1, "year": 2019, "overall": 70.0, "version": 2},  # +30 across versions
        {"enterprise": 2, "year": 2018, "overall": 40.0, "version": 1},
        {"enterprise": 2, "year": 2019, "overall": 76.0, "version": 2},  # +36 across versions
        {"enterprise": 3, "year": 2018, "overall": 40.0, "version": 2},
        {"enterprise": 3, "year": 2019, "overall": 70.0, "version": 2},  # +30 on one version
    )
    assert fired(rule_flags(f, [JUMP])) == [(4, "jump", "overall"), (6, "jump", "overall")]


def test_a_previous_row_three_years_back_is_not_compared_but_two_years_back_is() -> None:
    f = frame(
        {"enterprise": 1, "year": 2015, "overall": 10.0},
        {"enterprise": 1, "year": 2018, "overall": 90.0},
        {"enterprise": 2, "year": 2016, "overall": 10.0},
        {"enterprise": 2, "year": 2018, "overall": 90.0},
    )
    assert fired(rule_flags(f, [JUMP])) == [(4, "jump", "overall")]
    wide = ScreenRule("wide", "jump", max_gap=3)
    assert fired(rule_flags(f, [wide])) == [(2, "wide", "overall"), (4, "wide", "overall")]


def test_the_previous_row_is_the_latest_earlier_year_whatever_the_frame_order() -> None:
    f = frame(
        {"enterprise": 1, "year": 2019, "overall": 62.0},
        {"enterprise": 2, "year": 2018, "overall": 50.0},
        {"enterprise": 1, "year": 2017, "overall": 30.0},
        {"enterprise": 1, "year": 2018, "overall": 58.0},  # +28 on 2017; 2019 is +4 on it
    )
    flags = rule_flags(f, [JUMP])
    assert fired(flags) == [(4, "jump", "overall")]
    assert (flags.iloc[0]["before"], flags.iloc[0]["after"]) == (30.0, 58.0)


def test_two_rows_of_one_year_are_not_compared_and_the_next_year_meets_the_later_one() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "overall": 20.0},
        {"enterprise": 1, "year": 2018, "overall": 80.0},  # the same year: no jump from row 1
        {"enterprise": 1, "year": 2019, "overall": 50.0},  # compared with row 2, the higher id
    )
    flags = rule_flags(f, [JUMP])
    assert fired(flags) == [(3, "jump", "overall")]
    assert flags.iloc[0]["before"] == 80.0


def test_a_link_that_does_not_apply_on_either_side_is_not_compared() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "link.rd": math.nan},
        {"enterprise": 1, "year": 2019, "link.rd": 95.0},
        {"enterprise": 2, "year": 2018, "link.rd": 95.0},
        {"enterprise": 2, "year": 2019, "link.rd": math.nan},
    )
    assert rule_flags(f, [JUMP]).empty


def test_a_key_system_back_fires_only_when_in_use_last_time_and_not_now() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "applied.rd": 1.0, "applied.marketing": 0.0},
        {"enterprise": 1, "year": 2019, "applied.rd": 0.0, "applied.marketing": 1.0},
        {"enterprise": 2, "year": 2018, "applied.production": 1.0, "applied.management": math.nan},
        {"enterprise": 2, "year": 2019, "applied.production": math.nan, "applied.management": 0.0},
        {"enterprise": 3, "year": 2015, "applied.management": 1.0},
        {"enterprise": 3, "year": 2018, "applied.management": 0.0},  # three years on: not compared
    )
    flags = rule_flags(f, [BACK])
    assert fired(flags) == [(2, "back", "applied.rd")]
    row = flags.iloc[0]
    assert (row["kind"], row["before"], row["after"], row["weight"]) == (
        "key_system_back",
        1.0,
        0.0,
        2.0,
    )


def test_three_firms_sharing_answers_in_one_year_each_list_the_other_two() -> None:
    f = frame(
        {"enterprise": 1, "year": 2019, "digest": "aaa"},
        {"enterprise": 2, "year": 2019, "digest": "aaa"},
        {"enterprise": 3, "year": 2019, "digest": "aaa"},
        {"enterprise": 4, "year": 2019, "digest": "bbb"},
    )
    flags = rule_flags(f, [COPIED])
    assert fired(flags) == [(1, "copied", ""), (2, "copied", ""), (3, "copied", "")]
    assert flags["other"].tolist() == [(2, 3), (1, 3), (1, 2)]
    assert flags["kind"].tolist() == ["copied"] * 3
    assert flags["weight"].tolist() == [3.0] * 3
    assert flags["before"].isna().all()


def test_the_same_answers_in_two_years_or_unknown_digests_are_no_copy() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "digest": "aaa"},
        {"enterprise": 1, "year": 2019, "digest": "aaa"},  # the same firm kept its answers
        {"enterprise": 2, "year": 2017, "digest": "aaa"},  # another firm, another year
        {"enterprise": 3, "year": 2019, "digest": ""},
        {"enterprise": 4, "year": 2019, "digest": ""},
        {"enterprise": 5, "year": 2019, "digest": None},
        {"enterprise": 6, "year": 2019, "digest": None},
    )
    assert rule_flags(f, [COPIED]).empty


def test_a_copy_lists_only_other_firms_even_when_one_firm_has_two_rows_in_the_year() -> None:
    f = frame(
        {"enterprise": 1, "year": 2019, "digest": "aaa"},
        {"enterprise": 1, "year": 2019, "digest": "aaa"},
        {"enterprise": 2, "year": 2019, "digest": "aaa"},
    )
    flags = rule_flags(f, [COPIED])
    assert flags["other"].tolist() == [(3,), (3,), (1, 2)]


def test_engine_checks_fire_on_failed_checks_and_carry_their_number() -> None:
    f = frame(
        {"enterprise": 1, "year": 2019, "flags": 0},
        {"enterprise": 2, "year": 2019, "flags": 2},
    )
    flags = rule_flags(f, [CHECKS])
    assert fired(flags) == [(2, "checks", "")]
    assert (flags.iloc[0]["after"], flags.iloc[0]["weight"]) == (2.0, 0.5)
    assert math.isnan(flags.iloc[0]["before"])


def test_flags_come_rule_by_rule_in_the_given_order_then_by_assessment() -> None:
    f = frame(
        {"enterprise": 1, "year": 2018, "overall": 10.0, "flags": 1, "digest": "x"},
        {"enterprise": 1, "year": 2019, "overall": 90.0, "applied.rd": 0.0},
        {"enterprise": 2, "year": 2018, "flags": 3, "digest": "x"},
    )
    flags = rule_flags(f, [CHECKS, JUMP, COPIED, BACK])
    assert fired(flags) == [
        (1, "checks", ""),
        (3, "checks", ""),
        (2, "jump", "overall"),
        (1, "copied", ""),
        (3, "copied", ""),
        (2, "back", "applied.rd"),
    ]


def test_an_empty_frame_gives_an_empty_flag_table_with_all_columns() -> None:
    empty = frame({"enterprise": 1, "year": 2019}).iloc[:0]
    flags = rule_flags(empty, [JUMP, BACK, COPIED, CHECKS])
    assert flags.empty
    assert list(flags.columns) == list(FLAG_COLUMNS)


def test_rule_ids_must_be_unique() -> None:
    f = frame({"enterprise": 1, "year": 2019})
    with pytest.raises(ValueError, match="unique"):
        rule_flags(f, [JUMP, ScreenRule("jump", "engine_checks")])


def smooth_population(firms: int = 300, years: int = 6, seed: int = 7) -> pd.DataFrame:
    """Ordinary firms: a level each, moving a few points a year, on one questionnaire."""
    rng = np.random.default_rng(seed)
    n = firms * years
    enterprise = np.repeat(np.arange(1, firms + 1), years)
    year = np.tile(np.arange(2014, 2014 + years), firms)
    level = np.repeat(rng.uniform(25, 75, firms), years)
    drift = rng.normal(0, 3, (firms, years)).cumsum(axis=1).ravel()
    data: dict[str, Any] = {
        "assessment": rng.permutation(n) + 1,
        "enterprise": enterprise,
        "year": year,
        "version": 1,
        "overall": level + drift,
        "flags": 0,
        "digest": [f"{i:064x}" for i in range(n)],
    }
    for k in LINKS:
        data[f"link.{k}"] = level + drift + rng.normal(0, 2, n)
        data[f"applied.{k}"] = 1.0
    return pd.DataFrame(data)


def test_a_smooth_population_of_ordinary_firms_raises_no_flags() -> None:
    f = smooth_population()
    assert rule_flags(f, [JUMP, BACK, COPIED, CHECKS]).empty


def test_one_firm_in_a_smooth_population_that_jumps_is_the_only_one_flagged() -> None:
    f = smooth_population()
    at = f.index[(f["enterprise"] == 17) & (f["year"] == 2017)][0]
    before = f.loc[(f["enterprise"] == 17) & (f["year"] == 2016), "overall"].iloc[0]
    f.loc[at, "overall"] = before + 40.0
    flags = rule_flags(f, [JUMP])
    # the jumped year fires, and so does the fall back the year after
    assert set(flags["enterprise"]) == {17}
    assert set(flags["figure"]) == {"overall"}
    assert sorted(flags["year"]) == [2017, 2018]


# ----------------------------------------------------------------------------- outliers


#: The figures the planted-row tests judge on. An isolation forest picks a feature at random
#: for each split, so an extreme in one feature stands out less the more features there are:
#: with all five figures some ordinary firms at the edge of every figure score as high as a
#: row distorted in a single one.
THREE = ["overall", "link.rd", "link.production"]


def sector(n: int, seed: int, name: str = "auto") -> pd.DataFrame:
    """``n`` ordinary firms of one sector: five figures around a shared level near 50."""
    rng = np.random.default_rng(seed)
    level = rng.normal(50, 3, n)
    data: dict[str, Any] = {"sector": name}
    for figure in FEATURES:
        data[figure] = level + rng.normal(0, 3, n)
    return pd.DataFrame(data)


def planted(seed: int = 0) -> pd.DataFrame:
    """200 ordinary firms plus two planted rows: a research link far too high, an overall far
    too low for the links. Assessment ids 1..202; the planted rows are 201 and 202."""
    f = sector(200, seed)
    extreme = f.iloc[:2].copy()
    extreme.loc[:, FEATURES] = 50.0
    extreme.iloc[0, extreme.columns.get_loc("link.rd")] = 100.0
    extreme.iloc[1, extreme.columns.get_loc("overall")] = 5.0
    out = pd.concat([f, extreme], ignore_index=True)
    out.insert(0, "assessment", np.arange(1, len(out) + 1))
    out["sector"] = out["sector"].astype("category")
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_extreme_rows_score_highest_and_name_the_distorted_figure(seed: int) -> None:
    f = planted(seed)
    scores = outlier_scores(f, THREE)
    assert list(scores.columns) == ["assessment", "outlier", "top", "z"]
    assert scores.index.equals(f.index)
    highest = scores.sort_values("outlier", ascending=False)["assessment"].head(2)
    assert set(highest) == {201, 202}
    rd, overall = scores.iloc[200], scores.iloc[201]
    assert rd["top"][0] == "link.rd" and rd["z"]["link.rd"] > 5
    assert overall["top"][0] == "overall" and overall["z"]["overall"] < -5
    assert all(0 < s <= 1 for s in scores["outlier"])


@pytest.mark.parametrize("features", [THREE, FEATURES])
def test_an_ordinary_sector_has_few_high_scores_and_few_named_figures(features: list[str]) -> None:
    scores = outlier_scores(sector(400, seed=5), features)
    assert (scores["outlier"] >= 0.6).mean() < 0.05
    assert scores["outlier"].median() < 0.5
    named = scores["top"].map(len) > 0
    assert named.mean() < 0.25  # |z| >= 2 on one of five near-normal figures now and then
    for top, z in zip(scores["top"], scores["z"], strict=True):
        assert list(z) == list(top)
        assert all(abs(v) >= 2 for v in z.values())
        assert [abs(z[t]) for t in top] == sorted((abs(z[t]) for t in top), reverse=True)


def test_a_sector_under_the_minimum_size_is_not_judged() -> None:
    f = pd.concat([sector(60, seed=1), sector(19, seed=2, name="pharma")], ignore_index=True)
    f["sector"] = f["sector"].astype("category")
    scores = outlier_scores(f, FEATURES, min_group=20)
    small = f["sector"] == "pharma"
    assert scores.loc[small, "outlier"].isna().all()
    assert scores.loc[small, "top"].tolist() == [()] * 19
    assert scores.loc[small, "z"].tolist() == [{}] * 19
    assert scores.loc[~small, "outlier"].notna().all()
    assert "assessment" not in scores.columns  # the frame had none to copy


def test_each_sector_is_judged_against_its_own_firms_only() -> None:
    auto = sector(60, seed=2)
    steel = sector(50, seed=1, name="steel")
    steel[FEATURES] += 30.0  # much higher levels, ordinary among their own
    both = pd.concat([auto, steel], ignore_index=True)
    scores = outlier_scores(both, FEATURES)
    alone = pd.concat([outlier_scores(auto, FEATURES), outlier_scores(steel, FEATURES)])
    assert np.array_equal(scores["outlier"].to_numpy(), alone["outlier"].to_numpy())
    assert scores["top"].tolist() == alone["top"].tolist()
    pooled = outlier_scores(both, FEATURES, by=None)  # one pool: the sectors' levels differ
    assert not np.array_equal(pooled["outlier"].to_numpy(), scores["outlier"].to_numpy())


def test_the_same_random_state_gives_the_same_scores() -> None:
    f = planted()
    first = outlier_scores(f, FEATURES, random_state=4)
    again = outlier_scores(f, FEATURES, random_state=4)
    assert np.array_equal(first["outlier"].to_numpy(), again["outlier"].to_numpy())
    assert first["top"].tolist() == again["top"].tolist()


def test_missing_values_take_the_median_and_an_empty_feature_is_left_out() -> None:
    f = planted()
    f["link.rd"] = f["link.rd"].astype("float64")
    with_empty = f.assign(**{"aspect.integration": math.nan})
    base = outlier_scores(f, FEATURES)
    extra = outlier_scores(with_empty, [*FEATURES, "aspect.integration"])
    assert np.array_equal(base["outlier"].to_numpy(), extra["outlier"].to_numpy())
    f.loc[5, "link.rd"] = math.nan
    gap = outlier_scores(f, FEATURES)
    assert not math.isnan(gap.loc[5, "outlier"])
    assert "link.rd" not in gap.loc[5, "z"]


def test_a_feature_without_spread_falls_back_to_its_deviation_and_then_to_one() -> None:
    f = sector(100, seed=9)
    f["rare"] = 0.0
    f.loc[:4, "rare"] = 1.0  # 95 zeros: the MAD is 0, the standard deviation is not
    f["constant"] = 7.0
    scores = outlier_scores(f, [*FEATURES, "rare", "constant"])
    z = 1.0 / np.std(f["rare"].to_numpy())
    assert scores.loc[0, "z"]["rare"] == round(z, 2)
    assert all("constant" not in t for t in scores["top"])
    assert scores["outlier"].notna().all()


def test_the_robust_z_divides_by_the_median_absolute_deviation_times_1_4826() -> None:
    x = [*range(24), 40]  # median 12; absolute deviations' median 6
    f = pd.DataFrame({"sector": "auto", "x": np.array(x, dtype=float)})
    scores = outlier_scores(f, ["x"])
    assert scores.loc[24, "z"] == {"x": round(28 / (6 * 1.4826), 2)}
    assert scores.loc[24, "top"] == ("x",)
    assert scores.loc[0, "top"] == ()  # 12 / 8.9 is under 2
    assert scores["outlier"].idxmax() == 24


def test_top_holds_at_most_the_asked_number_of_figures() -> None:
    f = planted()
    f.loc[200, LINK_FIGURES] = [100.0, 0.0, 100.0, 0.0]
    scores = outlier_scores(f, FEATURES, top=2)
    assert len(scores.loc[200, "top"]) == 2
    assert set(scores.loc[200, "z"]) == set(scores.loc[200, "top"])


# ----------------------------------------------------------------------------- ranking


def flag_table(*rows: tuple[int, str, float]) -> pd.DataFrame:
    """A flag table of (assessment, rule, weight) rows; the other columns are placeholders."""
    return pd.DataFrame(
        {
            "assessment": [r[0] for r in rows],
            "enterprise": [r[0] for r in rows],
            "year": 2019,
            "rule": [r[1] for r in rows],
            "kind": "jump",
            "figure": "overall",
            "before": math.nan,
            "after": math.nan,
            "other": [()] * len(rows),
            "weight": [r[2] for r in rows],
        },
        columns=list(FLAG_COLUMNS),
    )


def scored(**by_assessment: float) -> pd.DataFrame:
    """An outlier table as outlier_scores gives it, for assessments ``a<id>=score``."""
    ids = [int(k[1:]) for k in by_assessment]
    return pd.DataFrame(
        {
            "assessment": ids,
            "outlier": list(by_assessment.values()),
            "top": [()] * len(ids),
            "z": [{} for _ in ids],
        },
        index=pd.Index(range(100, 100 + len(ids))),
    )


def test_priorities_add_rule_weights_once_each_and_the_outlier_score_over_the_threshold() -> None:
    flags = flag_table(
        (1, "jump", 1.0),
        (1, "jump", 1.0),  # the same rule on a second figure adds nothing more
        (1, "checks", 0.5),
        (3, "copied", 1.0),
        (5, "copied", 1.0),
    )
    outliers = scored(a1=0.62, a2=0.7, a3=0.55, a4=0.5, a6=math.nan)
    ranked = ranking(flags, outliers, outlier_weight=2.0)
    assert list(ranked.columns) == list(RANKING_COLUMNS)
    assert ranked["assessment"].tolist() == [1, 2, 3, 5]
    assert ranked["priority"].tolist() == pytest.approx([1.5 + 1.24, 1.4, 1.0, 1.0])
    assert ranked["rules"].tolist() == [("checks", "jump"), (), ("copied",), ("copied",)]
    assert ranked["outlier"].tolist()[:3] == [0.62, 0.7, 0.55]  # 0.55 shown, not counted
    assert math.isnan(ranked["outlier"].iloc[3])


def test_ties_go_by_assessment_and_a_score_at_the_threshold_counts() -> None:
    flags = flag_table((9, "copied", 1.0), (4, "copied", 1.0), (7, "jump", 0.25))
    ranked = ranking(flags, scored(a8=0.75, a2=0.6), outlier_threshold=0.6)
    assert ranked["assessment"].tolist() == [4, 9, 8, 2, 7]
    assert ranked["priority"].tolist() == pytest.approx([1.0, 1.0, 0.75, 0.6, 0.25])


def test_ranking_nothing_gives_an_empty_table_with_all_columns() -> None:
    ranked = ranking(flag_table(), scored(a1=0.3))
    assert ranked.empty
    assert list(ranked.columns) == list(RANKING_COLUMNS)


def test_ranking_refuses_outliers_it_cannot_match_to_assessments() -> None:
    with pytest.raises(ValueError, match="assessment"):
        ranking(flag_table(), scored(a1=0.9).drop(columns="assessment"))


def test_screening_a_population_end_to_end_puts_the_planted_cases_first() -> None:
    f = smooth_population(firms=120, years=4, seed=2)
    f["sector"] = pd.Categorical(np.where(f["enterprise"] % 2 == 0, "auto", "steel"))
    jumped = f.index[(f["enterprise"] == 10) & (f["year"] == 2016)][0]
    f.loc[jumped, "link.rd"] += 45.0
    copies = f.index[f["enterprise"].isin([20, 21]) & (f["year"] == 2017)]
    f.loc[copies, "digest"] = "same"
    f.loc[f.index[(f["enterprise"] == 30) & (f["year"] == 2015)], "flags"] = 2
    flags = rule_flags(f, [JUMP, BACK, COPIED, CHECKS])
    ranked = ranking(flags, outlier_scores(f, FEATURES), outlier_threshold=0.7)
    ids = f.set_index(["enterprise", "year"])["assessment"]
    expected = {ids[(10, 2016)], ids[(10, 2017)], ids[(20, 2017)], ids[(21, 2017)]}
    expected |= {ids[(30, 2015)]}
    assert expected <= set(ranked["assessment"])
    assert len(ranked) <= len(expected) + 5  # ordinary firms stay off the list, or nearly


def test_a_key_system_lost_across_questionnaire_versions_fires_only_when_asked() -> None:
    # one firm: production applied in 2019 (version 1), not in 2020 (version 2)
    frame = pd.DataFrame(
        {
            "assessment": [1, 2],
            "enterprise": [7, 7],
            "year": [2019, 2020],
            "version": [1, 2],
            **{f"applied.{k}": [1.0, 0.0 if k == "production" else 1.0] for k in LINKS},
        }
    )
    always = ScreenRule(id="back", kind="key_system_back")
    same_only = ScreenRule(id="back", kind="key_system_back", across_versions=False)
    assert rule_flags(frame, [always])["figure"].tolist() == ["applied.production"]
    assert rule_flags(frame, [same_only]).empty
