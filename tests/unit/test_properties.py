"""Properties that must hold for every answer set of every shipped questionnaire."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import AnswerArrays, encode_answers, evaluate, score, score_batch
from scoring.engine import visibility
from tests.conftest import SECTORS, answer_sets, raw_value

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def all_scores(card):
    return [card.overall, *card.links.values(), *card.aspects.values()]


@pytest.mark.parametrize("sector", SECTORS)
def test_scores_stay_between_0_and_100(specs, sector):
    spec = specs[sector]

    @SETTINGS
    @given(answer_sets(spec))
    def check(answers):
        card = score(spec, answers)
        for v in all_scores(card):
            assert v is not None and 0 <= v <= 100
        assert all(0 <= t.score <= 1 and t.points <= t.possible + 1e-12 for t in card.trace)

    check()


@pytest.mark.parametrize("sector", SECTORS)
def test_improving_any_single_answer_never_lowers_any_score(specs, sector):
    spec = specs[sector]
    scored = [q for q in spec.questions if q.scored]

    @SETTINGS
    @given(answer_sets(spec), st.data())
    def check(answers, data):
        q = data.draw(st.sampled_from(scored))
        new = data.draw(raw_value(q))
        old = answers.get(q.id)
        if old == "na" or new in ("na", None):
            return  # N/A is not a level; that is covered by its own property
        changed = {**answers, q.id: new}
        before, after = score(spec, answers), score(spec, changed)
        mine = lambda card: next(t for t in card.trace if t.question == q.id).score  # noqa: E731
        if mine(after) < mine(before):
            before, after = after, before  # the change made it worse: check the reverse step
        for b, a in zip(all_scores(before), all_scores(after), strict=True):
            assert a >= b - 1e-9

    check()


@pytest.mark.parametrize("sector", SECTORS)
def test_na_on_one_indicator_keeps_the_others_relative_weights(specs, sector):
    spec = specs[sector]
    na_able = [q for q in spec.questions if q.scored and q.allow_na]
    if not na_able:
        pytest.skip("no N/A-able question")

    @SETTINGS
    @given(answer_sets(spec), st.data())
    def check(answers, data):
        q = data.draw(st.sampled_from(na_able))
        if answers.get(q.id) == "na":
            return
        before = score(spec, answers)
        after = score(spec, {**answers, q.id: "na"})
        was = {t.question: t for t in before.trace}
        now = {t.question: t for t in after.trace}
        same_group = [k for k, t in now.items() if t.group == q.group and t.possible > 0]
        for a in same_group:
            for b in same_group:
                ratio_before = was[a].possible / was[b].possible
                assert now[a].possible / now[b].possible == pytest.approx(ratio_before, rel=1e-9)
        for k, t in now.items():  # other groups are untouched, unless their group weight moved
            if t.group != q.group and q.group not in (
                "rd",
                "production",
                "management",
                "marketing",
            ):
                assert t.possible == pytest.approx(was[k].possible, rel=1e-9)

    check()


@pytest.mark.parametrize("sector", SECTORS)
def test_batch_equals_single_to_1e_9(specs, sector):
    spec = specs[sector]

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(answer_sets(spec), min_size=1, max_size=12))
    def check(rows):
        frame = pd.DataFrame(rows, columns=[q.id for q in spec.questions]).astype(object)
        frame = frame.where(frame.notna(), None)
        batch = score_batch(spec, frame)
        out = batch.to_frame()
        for i, answers in enumerate(rows):
            card = score(spec, answers)
            assert math.isclose(out.loc[i, "overall"], card.overall, abs_tol=1e-9)
            for k, v in card.links.items():
                assert math.isclose(out.loc[i, f"link.{k}"], v, abs_tol=1e-9)
            for k, v in card.aspects.items():
                assert math.isclose(out.loc[i, f"aspect.{k}"], v, abs_tol=1e-9)
            assert out.loc[i, "stage"] == card.stage
            assert bool(out.loc[i, "it_adopter"]) == card.it_adopter
        # Chunking never changes a result: one chunk per row gives the same numbers.
        enc = [encode_answers(spec, a) for a in rows]
        for i, e in enumerate(enc):
            one = evaluate(spec, e, chunk=1)
            assert math.isclose(one.overall[0], batch.overall[i], abs_tol=1e-9)

    check()


@pytest.mark.parametrize("sector", SECTORS)
def test_the_visibility_kept_by_scoring_is_the_visibility(specs, sector):
    """evaluate(..., with_visibility=True) marks shown exactly what visibility() shows, with
    chunks of any size."""
    spec = specs[sector]

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(answer_sets(spec), min_size=1, max_size=9), st.integers(1, 4))
    def check(rows, chunk):
        enc = [encode_answers(spec, a) for a in rows]
        values = np.vstack([e.values for e in enc])
        na = np.vstack([e.na for e in enc])
        ev = evaluate(spec, AnswerArrays(values, na), chunk=chunk, with_visibility=True)
        assert ev.visible is not None
        np.testing.assert_array_equal(ev.visible, visibility(spec, values, na))
        assert evaluate(spec, enc[0]).visible is None

    check()
