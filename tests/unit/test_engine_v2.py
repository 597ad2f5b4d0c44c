"""The engine's version-2 mechanisms on a small hand-built spec: derived values, links that do
not apply, key systems confirmed by other answers and by their link's level, checks, and the
N/A and exemption answers a reviewer sees."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    AnswerArrays,
    AnswerErrors,
    Clause,
    Condition,
    Question,
    Spec,
    StageRule,
    score,
    score_batch,
)
from scoring.spec import Check, Formula

LADDER = ("A", "B", "C", "D")
RUNGS = (0.0, 0.33, 0.67, 1.0)
OWN = Clause(0, "equals", options=(0,))  # ctx.production == own


def q(qid: str, kind: str, group: str | None, **kw) -> Question:
    base = dict(id=qid, kind=kind, text_zh=qid, text_en=qid, group=group, scored=group is not None)
    base.update(weight=1.0, required=True, allow_na=False)
    if kind == "single_choice" and "options" not in kw:
        kw.update(options=LADDER, option_scores=RUNGS, exclusive=(False,) * 4)
    if kind in ("percentage", "derived") and "curve_x" not in kw:
        kw.update(curve_x=(0.0, 100.0), curve_y=(0.0, 1.0))
    if kind == "percentage":
        kw.update(lower=0.0, upper=100.0)
    base.update(kw)
    return Question(**base)  # type: ignore[arg-type]


QUESTIONS = (
    q(
        "ctx.production",
        "single_choice",
        None,
        options=("own", "none"),
        option_scores=(0, 0),
        exclusive=(False, False),
    ),
    q("ctx.hazard", "yes_no", None),
    q("rd.key", "single_choice", "rd", weight=2.0, key_in_use=2),
    q("rd.share", "percentage", "rd"),
    q("prod.key", "single_choice", "production", weight=2.0, key_in_use=2, show_if=(OWN,)),
    q("prod.coverage", "percentage", "production", show_if=(OWN,)),
    q(
        "prod.safety",
        "single_choice",
        "production",
        allow_na=True,
        show_if=(OWN, Clause(1, "equals", flag=True)),
    ),
    q("mgmt.key", "single_choice", "management", weight=2.0, key_in_use=2),
    q("mgmt.share", "percentage", "management"),
    q("mkt.key", "single_choice", "marketing", weight=2.0, key_in_use=2),
    q("mkt.share", "percentage", "marketing"),
    q("infra.staff", "number", None, lower=0.0, upper=1e6, curve_x=(0.0, 1.0), curve_y=(0.0, 1.0)),
    q(
        "infra.employees",
        "number",
        None,
        lower=1.0,
        upper=1e6,
        curve_x=(0.0, 1.0),
        curve_y=(0.0, 1.0),
    ),
    q(
        "infra.staff_share",
        "derived",
        "infrastructure",
        required=False,
        curve_x=(0.0, 5.0),
        curve_y=(0.0, 1.0),
        formula=Formula("ratio", (11, 12), 100.0),
    ),
    q("int.level", "percentage", "integration"),
    q("col.level", "percentage", "collaboration"),
    q("comp.level", "percentage", "competitiveness"),
)
RULES = (
    StageRule("undetermined", (Condition("missing_required", ">", 0),)),
    StageRule(
        "innovation",
        (
            Condition("overall", ">=", 75),
            Condition("min_link", ">=", 60),
            Condition("it_links", ">=", 3),
            Condition("links_without_it", "<=", 0),
        ),
    ),
    StageRule(
        "integration",
        (
            Condition("overall", ">=", 50),
            Condition("min_link", ">=", 40),
            Condition("it_links", ">=", 3),
        ),
    ),
    StageRule("single_coverage", (Condition("overall", ">=", 25), Condition("it_links", ">=", 2))),
    StageRule("initial", ()),
)
CHECK = Check(
    id="prod.coverage_confirms_key",
    when=(Clause(4, "any_of", options=(2, 3)),),
    expect=(Clause(5, "at_least", threshold=50.0),),
    key_column=4,
    message_zh="控制系统为日常使用，但覆盖率低于 50%",
    message_en="Control system in routine use, but coverage below 50%",
)
SPEC = Spec(
    questionnaire="mini",
    version=2,
    content_hash="sha256:test",
    questions=QUESTIONS,
    link_weights=(0.25, 0.25, 0.25, 0.25),
    aspect_weights=(0.2, 0.4, 0.2, 0.1, 0.1),
    adoption_min_links=3,
    stage_rules=RULES,
    stage_ladder=("initial", "single_coverage", "integration", "innovation"),
    checks=(CHECK,),
    min_link_level=25.0,
    reasons_required=True,
    link_gates=(0,),
)


def best(**changes) -> dict:
    answers = {
        "ctx.production": "own",
        "ctx.hazard": True,
        "rd.key": "D",
        "rd.share": 100,
        "prod.key": "D",
        "prod.coverage": 100,
        "prod.safety": "D",
        "mgmt.key": "D",
        "mgmt.share": 100,
        "mkt.key": "D",
        "mkt.share": 100,
        "infra.staff": 5,
        "infra.employees": 100,
        "int.level": 100,
        "col.level": 100,
        "comp.level": 100,
    }
    answers.update(changes)
    return {k: v for k, v in answers.items() if v is not None}


def test_everything_best_is_innovation_with_nothing_to_review():
    card = score(SPEC, best())
    assert card.overall == pytest.approx(100)
    assert card.stage == "innovation"
    assert card.applicable_links is None and card.flags == [] and card.exemptions == []
    assert card.exemption_effect is None


def test_a_derived_value_is_computed_and_cannot_be_typed():
    card = score(SPEC, best(**{"infra.staff": 2, "infra.employees": 80}))
    row = next(t for t in card.trace if t.question == "infra.staff_share")
    assert row.answer == pytest.approx(2.5)  # 2 / 80 × 100
    assert row.score == pytest.approx(0.5)  # on the curve 0 → 0, 5 → 1
    with pytest.raises(AnswerErrors) as err:
        score(SPEC, best(**{"infra.staff_share": 3}))
    assert err.value.errors[0].code == "derived"
    # A missing input leaves it empty: it scores 0, and the input is what is reported missing.
    card = score(SPEC, best(**{"infra.staff": None}))
    assert card.missing_required == ["infra.staff"]
    assert next(t for t in card.trace if t.question == "infra.staff_share").answer is None


@settings(max_examples=200, deadline=None)
@given(
    staff=st.floats(0, 1e6, allow_nan=False),
    employees=st.floats(1, 1e6, allow_nan=False),
)
def test_a_derived_value_equals_its_formula(staff, employees):
    batch = score_batch(
        SPEC,
        _frame([best(**{"infra.staff": staff, "infra.employees": employees})]),
    )
    expected = min(staff / employees * 100 / 5, 1.0) * 100
    assert batch.evaluation.aspects[0, 0] == pytest.approx(expected, abs=1e-9)


def test_a_firm_without_production_is_judged_on_the_three_other_links():
    card = score(SPEC, best(**{"ctx.production": "none", "prod.key": "A", "prod.coverage": 0}))
    assert card.links["production"] is None
    assert card.applicable_links == ["rd", "management", "marketing"]
    assert card.overall == pytest.approx(
        100
    )  # answers left in a link that does not apply count for nothing
    assert card.stage == "innovation" and card.it_adopter
    assert card.it_links == ["rd", "management", "marketing"]
    assert card.missing_required == []
    (gate,) = card.exemptions
    assert gate.question == "ctx.production" and gate.kind == "exemption"
    assert set(gate.leaves_out) == {"prod.key", "prod.coverage", "prod.safety"}
    # Counted at 0, the production link would be 0: the reviewer sees what the answer is worth.
    assert card.exemption_effect is not None
    assert card.exemption_effect.groups["production"] == (None, 0.0)
    assert card.exemption_effect.overall[1] < card.overall


def test_without_production_every_applicable_link_needs_it():
    card = score(SPEC, best(**{"ctx.production": "none", "mkt.key": "B"}))
    assert card.it_links == ["rd", "management"]
    assert not card.it_adopter and card.stage == "single_coverage"


@pytest.mark.parametrize("stage", ["initial", "single_coverage", "integration", "innovation"])
def test_a_firm_without_production_can_reach_every_stage(stage):
    rungs = {"initial": "A", "single_coverage": "C", "integration": "C", "innovation": "D"}
    level = {"initial": 0, "single_coverage": 30, "integration": 55, "innovation": 100}
    answers = best(**{"ctx.production": "none"})
    for k in ("rd.key", "mgmt.key", "mkt.key"):
        answers[k] = rungs[stage]
    for k in ("rd.share", "mgmt.share", "mkt.share", "int.level", "col.level", "comp.level"):
        answers[k] = level[stage]
    if stage == "single_coverage":
        answers["mkt.key"] = "B"
    assert score(SPEC, answers).stage == stage


def test_a_key_system_contradicted_by_the_modules_evidence_does_not_count_and_is_flagged():
    card = score(SPEC, best(**{"prod.coverage": 20}))
    assert "production" not in card.it_links
    (flag,) = card.flags
    assert flag.check == "prod.coverage_confirms_key" and flag.key_system
    assert flag.questions == ["prod.key", "prod.coverage"]
    assert card.stage == "integration"  # IT in three links: one below the top
    # A key system below "in use" is not contradicted by low coverage: no flag.
    assert score(SPEC, best(**{"prod.key": "B", "prod.coverage": 20})).flags == []


def test_a_key_system_counts_only_in_a_link_whose_own_level_supports_it():
    card = score(SPEC, best(**{"mgmt.key": "C", "mgmt.share": 0}))
    assert card.links["management"] == pytest.approx(100 * 2 * 0.67 / 3)  # 44.7: counts
    assert "management" in card.it_links  # 44.7 is above the level of 25
    card = score(_with_level(50.0), best(**{"mgmt.key": "C", "mgmt.share": 0}))
    assert "management" not in card.it_links and card.stage == "integration"


def test_an_exemption_and_an_na_are_listed_with_what_they_are_worth():
    card = score(SPEC, best(**{"ctx.hazard": False, "prod.coverage": 50, "prod.key": "C"}))
    (gate,) = card.exemptions
    assert gate.question == "ctx.hazard" and gate.answer is False
    assert gate.leaves_out == ["prod.safety"]
    effect = card.exemption_effect
    assert effect is not None
    now, counted = effect.groups["production"]
    # production: key 0.67 × 2 + coverage 0.5 → 1.84 of 3 now, of 4 if safety counted at 0.
    assert now == pytest.approx(100 * 1.84 / 3) and counted == pytest.approx(100 * 1.84 / 4)
    assert effect.overall[0] == pytest.approx(card.overall)
    na = score(SPEC, best(**{"prod.safety": "na"}))
    assert [(e.question, e.kind) for e in na.exemptions] == [("prod.safety", "na")]


def test_new_card_fields_stay_out_of_the_json_when_empty():
    data = json.loads(score(SPEC, best()).model_dump_json())
    for key in ("applicable_links", "flags", "exemptions", "exemption_effect"):
        assert key not in data
    data = json.loads(score(SPEC, best(**{"prod.coverage": 20})).model_dump_json())
    assert data["flags"][0]["check"] == "prod.coverage_confirms_key"


def test_batch_and_single_agree_on_the_v2_mechanisms():
    rows = [
        best(),
        best(**{"ctx.production": "none"}),
        best(**{"prod.coverage": 20}),
        best(**{"ctx.hazard": False}),
        best(**{"mgmt.key": "B", "mkt.key": "B"}),
    ]
    batch = score_batch(SPEC, _frame(rows)).to_frame()
    for i, answers in enumerate(rows):
        card = score(SPEC, answers)
        assert batch["stage"].iloc[i] == card.stage
        assert batch["overall"].iloc[i] == pytest.approx(card.overall)
        assert bool(batch["it_adopter"].iloc[i]) == card.it_adopter


def _with_level(level: float) -> Spec:
    import dataclasses

    return dataclasses.replace(SPEC, min_link_level=level)


def _frame(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame([{q.id: r.get(q.id) for q in QUESTIONS} for r in rows]).astype(object)


def test_the_never_clause_hides_a_question_and_counts_nothing():
    import dataclasses

    qs = list(QUESTIONS)
    qs[10] = dataclasses.replace(qs[10], show_if=(Clause(0, "never"),))
    spec = dataclasses.replace(SPEC, questions=tuple(qs))
    card = score(spec, best(**{"mkt.share": None}))
    assert card.missing_required == [] and card.exemptions == []
    assert next(t for t in card.trace if t.question == "mkt.share").status == "hidden"
    assert card.links["marketing"] == pytest.approx(100)
    arrays = AnswerArrays(np.full((1, len(qs)), np.nan), np.zeros((1, len(qs)), dtype=bool))
    assert math.isfinite(score(spec, arrays).overall)


def test_a_derived_value_leaves_out_hidden_and_na_operands():
    import dataclasses

    mean = q("mix", "derived", None, formula=Formula("mean", (3, 5)))
    spec = dataclasses.replace(SPEC, questions=(*QUESTIONS, mean))
    from scoring import encode_answers, evaluate

    for production, expected in (("own", 65.0), ("none", 40.0)):
        enc = encode_answers(
            spec, best(**{"ctx.production": production, "rd.share": 40, "prod.coverage": 90})
        )
        evaluate(spec, enc)
        assert enc.values[0, -1] == pytest.approx(expected)
