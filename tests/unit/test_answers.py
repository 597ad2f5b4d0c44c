"""Invalid answers are reported all at once, with ids and zh/en messages, and never scored."""

from __future__ import annotations

import math

import pytest

from scoring import AnswerErrors, encode_answers, score
from tests.conftest import extreme_answers


def errors_of(spec, answers):
    with pytest.raises(AnswerErrors) as err:
        score(spec, answers)
    return {e.question: e for e in err.value.errors}


def test_every_problem_is_reported_at_once(specs):
    spec = specs["petrochemicals"]
    answers = extreme_answers(spec, best=True)
    answers.update(
        {
            "core.no_such_question": "A",
            "core.mgmt.erp": 3,
            "core.prod.nc_rate": 140,
            "core.ben.productivity": math.nan,
            "core.mkt.crm": "Z",
            "core.mgmt.hr": "na",
            "core.infra.pcs": {"numerator": 30, "denominator": 0},
        }
    )
    errs = errors_of(spec, answers)
    assert {k: e.code for k, e in errs.items()} == {
        "core.no_such_question": "unknown_question",
        "core.mgmt.erp": "wrong_type",
        "core.prod.nc_rate": "out_of_range",
        "core.ben.productivity": "not_finite",
        "core.mkt.crm": "unknown_option",
        "core.mgmt.hr": "na_not_allowed",
        "core.infra.pcs": "zero_denominator",
    }
    for e in errs.values():
        assert e.zh and e.en and e.zh != e.en


@pytest.mark.parametrize(
    ("question", "value", "code"),
    [
        ("core.prod.nc_rate", -1, "out_of_range"),
        ("core.prod.nc_rate", 1e308 * 10, "not_finite"),
        ("core.prod.nc_rate", "45", "wrong_type"),
        ("core.prod.nc_rate", True, "wrong_type"),
        ("core.ben.productivity", 10**9, "out_of_range"),
        ("core.ben.energy", -math.inf, "not_finite"),
        ("core.infra.security", "firewall", "wrong_type"),
        ("core.infra.security", ["firewall", "firewall"], "duplicate_option"),
        ("core.infra.security", ["firewall", "none"], "exclusive_option"),
        ("core.infra.security", ["firewall", "moat"], "unknown_option"),
        ("core.infra.pcs", {"numerator": 30}, "wrong_type"),
        ("core.infra.pcs", {"numerator": -3, "denominator": 10}, "out_of_range"),
        ("core.infra.pcs", {"numerator": 3, "denominator": math.nan}, "not_finite"),
        ("core.infra.pcs", {"numerator": 10**6, "denominator": 1}, "out_of_range"),
        ("core.notes.next_year", "x" * 100_000, "too_long"),
        ("core.notes.next_year", 12, "wrong_type"),
        ("core.mgmt.erp", ["C"], "wrong_type"),
    ],
)
def test_bad_value_gets_a_specific_code(specs, question, value, code):
    spec = specs["auto"]
    answers = extreme_answers(spec, best=True)
    answers[question] = value
    errs = errors_of(spec, answers)
    assert list(errs) == [question]
    assert errs[question].code == code


def test_yes_no_takes_booleans_only(specs):
    spec = specs["food"]
    q = next(q for q in spec.questions if q.kind == "yes_no")
    errs = errors_of(spec, {q.id: "yes"})
    assert errs[q.id].code == "wrong_type"


def test_na_is_accepted_where_allowed(specs):
    spec = specs["auto"]
    q = next(q for q in spec.questions if q.allow_na)
    enc = encode_answers(spec, {q.id: "na"})
    col = spec.index[q.id]
    assert enc.na[0, col] and math.isnan(enc.values[0, col])


def test_answers_must_be_a_mapping(specs):
    with pytest.raises(AnswerErrors) as err:
        encode_answers(specs["auto"], ["core.mgmt.erp"])  # type: ignore[arg-type]
    assert err.value.errors[0].code == "wrong_type"


def test_null_means_unanswered(specs):
    spec = specs["auto"]
    answers = extreme_answers(spec, best=True)
    answers["core.mgmt.erp"] = None
    card = score(spec, answers)
    assert card.missing_required == ["core.mgmt.erp"] and card.stage == "undetermined"
