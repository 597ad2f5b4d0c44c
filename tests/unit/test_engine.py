"""Behaviour of the scoring engine on the shipped questionnaires."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from scoring import ASPECTS, AnswerArrays, AnswerErrors, evaluate, score, score_batch, what_if
from tests.conftest import SECTORS, extreme_answers, random_arrays


@pytest.mark.parametrize("sector", SECTORS)
def test_all_best_answers_give_100_and_the_top_stage(specs, sector):
    card = score(specs[sector], extreme_answers(specs[sector], best=True))
    assert card.overall == pytest.approx(100.0, abs=1e-9)
    assert all(v == pytest.approx(100.0) for v in card.links.values())
    assert all(v == pytest.approx(100.0) for v in card.aspects.values())
    assert card.stage == "innovation"
    assert card.it_adopter and card.it_links == ["rd", "production", "management", "marketing"]
    assert card.missing_required == []
    assert card.roadmap == [] and card.next_stage is None


@pytest.mark.parametrize("sector", SECTORS)
def test_all_worst_answers_give_0_and_the_initial_stage(specs, sector):
    card = score(specs[sector], extreme_answers(specs[sector], best=False))
    assert card.overall == pytest.approx(0.0, abs=1e-9)
    assert card.stage == "initial"
    assert not card.it_adopter and card.it_links == []
    assert card.next_stage is not None and card.next_stage.stage == "single_coverage"


def test_missing_required_answers_give_undetermined_and_are_listed(specs):
    spec = specs["food"]
    answers = extreme_answers(spec, best=True)
    del answers["core.mgmt.erp"], answers["core.ben.on_time"]
    card = score(spec, answers)
    assert card.stage == "undetermined"
    assert card.missing_required == ["core.mgmt.erp", "core.ben.on_time"]
    # What has been answered still reaches a stage, shown as provisional.
    assert card.provisional_stage in ("innovation", "integration", "single_coverage", "initial")
    undetermined = next(r for r in card.stage_rules if r.stage == "undetermined")
    assert undetermined.held and undetermined.conditions[0].actual == 2


def test_unanswered_optional_question_scores_zero_and_stays_in_the_denominator(specs):
    base = specs["general"]
    i = base.index["core.ben.cost"]
    questions = list(base.questions)
    questions[i] = dataclasses.replace(questions[i], required=False)
    spec = dataclasses.replace(base, questions=tuple(questions))
    optional = spec.questions[i]
    answers = extreme_answers(spec, best=True)
    del answers[optional.id]
    card = score(spec, answers)
    row = next(t for t in card.trace if t.question == optional.id)
    assert row.status == "unanswered" and row.points == 0 and row.possible > 0
    assert card.overall < 100


def test_na_answer_leaves_the_denominator(specs):
    spec = specs["petrochemicals"]
    q = next(q for q in spec.questions if q.scored and q.allow_na and q.group in ("rd",))
    answers = extreme_answers(spec, best=False)
    answers["core.rd.design_tools"] = "E"  # lift rd above zero so the denominator matters
    before = score(spec, answers)
    answers[q.id] = "na"
    after = score(spec, answers)
    row = next(t for t in after.trace if t.question == q.id)
    assert row.status == "na" and row.possible == 0
    # The same points are now divided among fewer weights: rd rises.
    assert after.links["rd"] > before.links["rd"]


def test_hidden_questions_are_ignored_even_when_answered(specs):
    spec = specs["food"]
    gated = next(q for q in spec.questions if q.show_if and q.scored)
    gate = spec.questions[gated.show_if[0].column]
    answers = extreme_answers(spec, best=True)
    hide = {False} if gate.kind == "yes_no" else set()
    if gate.kind == "yes_no":
        answers[gate.id] = not gated.show_if[0].flag if gated.show_if[0].flag is not None else False
    assert hide  # the food module gates on a yes/no context question
    answers[gated.id] = extreme_answers(spec, best=False)[gated.id]  # a bad answer, but hidden
    card = score(spec, answers)
    row = next(t for t in card.trace if t.question == gated.id)
    assert row.status == "hidden" and row.possible == 0
    assert card.overall == pytest.approx(100.0)
    assert gated.id not in card.missing_required


def test_key_system_below_in_use_level_means_no_it_in_that_link(specs):
    spec = specs["auto"]
    answers = extreme_answers(spec, best=True)
    answers["core.rd.design_tools"] = "B"  # pilot use only
    card = score(spec, answers)
    assert "rd" not in card.it_links and len(card.it_links) == 3
    assert card.it_adopter  # 3 of 4 links is enough by default
    assert card.stage == "single_coverage"  # integration needs IT in all four links
    answers["core.mgmt.erp"] = "B"
    card = score(spec, answers)
    assert not card.it_adopter and card.stage == "initial"


def test_trace_points_add_up_to_the_overall_level(specs):
    for sector, spec in specs.items():
        answers = extreme_answers(spec, best=True, seed=3)
        for i, q in enumerate(spec.questions):
            if q.scored and i % 3 == 0:
                answers[q.id] = extreme_answers(spec, best=False)[q.id]
        card = score(spec, answers)
        assert sum(t.points for t in card.trace) == pytest.approx(card.overall, abs=1e-9), sector
        assert sum(t.possible for t in card.trace) == pytest.approx(100.0, abs=1e-9), sector


def test_roadmap_gains_equal_what_if_deltas(specs):
    spec = specs["metallurgy"]
    answers = extreme_answers(spec, best=False)
    answers["core.mgmt.erp"] = "C"
    card = score(spec, answers)
    assert len(card.roadmap) == 5
    gains = [r.gain for r in card.roadmap]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0
    for item in card.roadmap:
        q = spec.questions[spec.index[item.question]]
        to = item.to
        if q.kind == "ratio":
            to = {"numerator": to, "denominator": q.scale}
        new = what_if(spec, answers, {item.question: to})
        assert new.overall - card.overall == pytest.approx(item.gain, abs=1e-9)
        assert new.stage == item.stage_after


def test_roadmap_flags_the_change_that_lifts_the_stage(specs):
    spec = specs["general"]
    answers = extreme_answers(spec, best=True)
    answers["core.prod.control_system"] = "B"
    answers["core.rd.design_tools"] = "B"
    card = score(spec, answers)
    assert card.stage == "initial"
    assert card.next_stage is not None and card.next_stage.stage == "single_coverage"
    need = next(n for n in card.next_stage.needs if n.metric == "it_links")
    assert need.actual == 2 and need.gap == 1
    assert {h.question for h in need.helps} == {"core.prod.control_system", "core.rd.design_tools"}
    lifting = [r for r in card.roadmap if r.lifts_stage]
    assert lifting and lifting[0].stage_after == "single_coverage"


def test_what_if_leaves_the_answers_untouched(specs):
    spec = specs["pharma"]
    answers = extreme_answers(spec, best=False)
    snapshot = dict(answers)
    card = what_if(spec, answers, {"core.mgmt.erp": "E"})
    assert answers == snapshot
    assert card.overall > score(spec, answers).overall


def test_what_if_rejects_invalid_changes(specs):
    spec = specs["pharma"]
    with pytest.raises(AnswerErrors) as err:
        what_if(spec, extreme_answers(spec, best=False), {"core.mgmt.erp": "Z"})
    assert err.value.errors[0].code == "unknown_option"


def test_batch_from_a_frame_matches_single_scores(specs):
    spec = specs["textiles"]
    rows = [extreme_answers(spec, best=b, seed=s) for b, s in ((True, 1), (False, 2), (True, 3))]
    rows[2]["core.mgmt.erp"] = "A"
    rows[1].pop("core.ben.cost")
    frame = pd.DataFrame(rows)
    result = score_batch(spec, frame)
    out = result.to_frame()
    for i, raw in enumerate(rows):
        card = score(spec, raw)
        assert out.loc[i, "overall"] == pytest.approx(card.overall, abs=1e-9)
        assert out.loc[i, "stage"] == card.stage
        assert bool(out.loc[i, "it_adopter"]) == card.it_adopter
        assert out.loc[i, "missing_required"] == len(card.missing_required)


def test_batch_reports_bad_cells_with_their_row(specs):
    spec = specs["auto"]
    frame = pd.DataFrame(
        [{"core.mgmt.erp": "C"}, {"core.mgmt.erp": "Q"}], index=["firm-a", "firm-b"]
    )
    with pytest.raises(AnswerErrors) as err:
        score_batch(spec, frame)
    (e,) = err.value.errors
    assert e.question == "core.mgmt.erp" and e.row == "firm-b" and e.code == "unknown_option"


def test_batch_of_zero_assessments_is_empty(specs):
    spec = specs["auto"]
    from scoring import AnswerArrays

    n = len(spec.questions)
    res = score_batch(spec, AnswerArrays(np.empty((0, n)), np.zeros((0, n), dtype=bool)))
    assert len(res.to_frame()) == 0


def test_scorecard_serialises_to_plain_json(specs):
    card = score(specs["food"], extreme_answers(specs["food"], best=True))
    data = card.model_dump(mode="json")
    assert set(data["links"]) == {"rd", "production", "management", "marketing"}
    assert not any(isinstance(v, float) and math.isnan(v) for v in data["links"].values())


@pytest.mark.parametrize("sector", SECTORS)
def test_chunk_size_and_threads_never_change_a_result(specs, sector):
    spec = specs[sector]
    arrays = random_arrays(spec, 3000, seed=7)
    whole = evaluate(spec, arrays, chunk=len(arrays.values), workers=1)
    for chunk, workers in ((256, 1), (256, 2), (100, 3)):
        ev = evaluate(spec, arrays, chunk=chunk, workers=workers)
        np.testing.assert_allclose(ev.overall, whole.overall, rtol=0, atol=1e-9)
        np.testing.assert_allclose(ev.links, whole.links, rtol=0, atol=1e-9)
        np.testing.assert_allclose(ev.aspects, whole.aspects, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(ev.stage_rule, whole.stage_rule)
        np.testing.assert_array_equal(ev.it_links, whole.it_links)
        np.testing.assert_array_equal(ev.missing, whole.missing)
    # And the batch agrees with scoring each row on its own.
    for r in (0, 1234, 2999):
        one = evaluate(spec, AnswerArrays(arrays.values[r : r + 1], arrays.na[r : r + 1]))
        assert math.isclose(one.overall[0], whole.overall[r], abs_tol=1e-9)
        assert one.stage_rule[0] == whole.stage_rule[r]


def test_an_na_cell_that_holds_a_value_is_refused(specs):
    spec = specs["general"]
    arrays = random_arrays(spec, 10, seed=1)
    col = next(i for i, q in enumerate(spec.questions) if q.allow_na)
    arrays.na[3, col], arrays.values[3, col] = True, 0.0
    with pytest.raises(ValueError, match="N/A"):
        evaluate(spec, arrays)


def test_normalised_scores_agree_with_the_group_sums(specs):
    from scoring.engine import normalise, visibility

    for sector in SECTORS:
        spec = specs[sector]
        arrays = random_arrays(spec, 500, seed=3)
        ev = evaluate(spec, arrays)
        norm = normalise(spec, arrays.values)
        assert ((norm >= 0) & (norm <= 1)).all()
        # A group score is the weighted mean of normalised answers over the questions that
        # are shown, scored and not N/A (the definition, computed the slow way).
        a = spec.arrays
        shown = visibility(spec, arrays.values, arrays.na)
        assert not shown.all()  # the random answers do hide some questions
        applicable = shown & ~arrays.na & a.scored
        num = (norm * applicable) @ a.membership
        den = applicable.astype(float) @ a.membership
        with np.errstate(invalid="ignore", divide="ignore"):
            expect = np.where(den > 0, 100 * num / den, np.nan)
        np.testing.assert_allclose(ev.links, expect[:, :4], rtol=0, atol=1e-9)
        aspects = [i for i, k in enumerate(ASPECTS) if k != "single_app"]
        np.testing.assert_allclose(ev.aspects[:, aspects], expect[:, 4:], rtol=0, atol=1e-9)
