"""Reading an answers file: NaN, Infinity and duplicate keys are reported with the rest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assess.questionnaire.answers_file import parse_answers, read_answers
from assess.questionnaire.catalog import NotPublished, default_root, load_catalog
from scoring import AnswerErrors
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "answers" / "food.json"


def example_text(**replace: str) -> str:
    """The food example as text, with some answers replaced by raw JSON text."""
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    text = json.dumps(doc, ensure_ascii=False)
    for qid, raw in replace.items():
        old = f'"{qid}": {json.dumps(doc["answers"][qid], ensure_ascii=False)}'
        assert old in text, qid
        text = text.replace(old, f'"{qid}": {raw}', 1)
    return text


def problems(text: str, catalog) -> list[tuple[str, str]]:
    with pytest.raises(AnswerErrors) as caught:
        parse_answers(text, catalog)
    assert all(e.zh and e.en for e in caught.value.errors)
    return [(e.question, e.code) for e in caught.value.errors]


def test_the_example_file_reads_cleanly(catalog):
    spec, answers = parse_answers(example_text(), catalog)
    assert spec.questionnaire == "food" and "core.mgmt.erp" in answers


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_number_is_reported_at_its_question(catalog, token):
    text = example_text(**{"core.prod.nc_rate": token})
    assert problems(text, catalog) == [("core.prod.nc_rate", "not_finite")]


def test_nan_is_reported_beside_every_other_problem_in_file_order(catalog):
    text = example_text(
        **{
            "core.infra.strategy": '"Q"',
            "core.infra.it_staff": '{"numerator": Infinity, "denominator": 320}',
            "core.mgmt.erp": "NaN",
            "core.prod.nc_rate": "101",
        }
    )
    found = problems(text, catalog)
    assert sorted(found) == sorted(
        [
            ("core.infra.strategy", "unknown_option"),
            ("core.infra.it_staff", "not_finite"),
            ("core.mgmt.erp", "not_finite"),
            ("core.prod.nc_rate", "out_of_range"),
        ]
    )
    order = list(json.loads(EXAMPLE.read_text(encoding="utf-8"))["answers"])
    assert [q for q, _ in found] == sorted((q for q, _ in found), key=order.index)


def test_a_non_finite_numerator_names_its_place_in_both_languages(catalog):
    text = example_text(**{"core.infra.it_staff": '{"numerator": NaN, "denominator": 320}'})
    with pytest.raises(AnswerErrors) as caught:
        parse_answers(text, catalog)
    (err,) = caught.value.errors
    assert err.question == "core.infra.it_staff" and err.code == "not_finite"
    assert 'answers."core.infra.it_staff".numerator' in err.zh
    assert 'answers."core.infra.it_staff".numerator' in err.en and "NaN" in err.en


def test_nan_outside_the_answers_is_reported_with_the_other_file_problems(catalog):
    text = '{"questionnaire": "food", "version": NaN, "answers": {"bogus.id": 1}, "x": 1}'
    found = problems(text, catalog)
    assert sorted(found) == [("(file)", "not_finite"), ("(file)", "unknown_key")]
    text = '{"questionnaire": "food", "answers": {"core.prod.nc_rate": -Infinity, "bogus": 1}}'
    assert problems(text, catalog) == [
        ("core.prod.nc_rate", "not_finite"),
        ("bogus", "unknown_question"),
    ]


def test_a_duplicate_question_is_refused_with_its_path(catalog):
    text = example_text(**{"core.mgmt.erp": '"C", "core.mgmt.erp": "D"'})
    with pytest.raises(AnswerErrors) as caught:
        parse_answers(text, catalog)
    (err,) = caught.value.errors
    assert (err.question, err.code) == ("core.mgmt.erp", "duplicate_key")
    assert 'answers."core.mgmt.erp"' in err.zh and 'answers."core.mgmt.erp"' in err.en


@pytest.mark.parametrize(
    ("text", "where", "path"),
    [
        (
            '{"questionnaire": "food", "questionnaire": "auto", "answers": {}}',
            "(file)",
            "questionnaire",
        ),
        ('{"questionnaire": "food", "answers": {}, "answers": {}}', "(file)", "answers"),
        (
            '{"questionnaire": "food", "answers": {"core.infra.it_staff":'
            ' {"numerator": 1, "numerator": 2, "denominator": 3}}}',
            "core.infra.it_staff",
            'answers."core.infra.it_staff".numerator',
        ),
    ],
)
def test_a_duplicate_key_is_refused_at_any_level(catalog, text, where, path):
    with pytest.raises(AnswerErrors) as caught:
        parse_answers(text, catalog)
    (err,) = caught.value.errors
    assert (err.question, err.code) == (where, "duplicate_key")
    assert path in err.en and path in err.zh


def test_a_key_given_three_times_is_reported_once(catalog):
    text = '{"questionnaire": "food", "answers": {"core.mgmt.erp": "A", "core.mgmt.erp": "B",'
    text += ' "core.mgmt.erp": "C"}}'
    assert problems(text, catalog) == [("core.mgmt.erp", "duplicate_key")]


def test_duplicates_and_nan_and_bad_answers_come_together(catalog):
    text = (
        '{"questionnaire": "food", "answers": {"core.mgmt.erp": "C", "core.mgmt.erp": "C",'
        ' "core.prod.nc_rate": NaN, "core.infra.strategy": "Q"}, "extra": [Infinity]}'
    )
    found = problems(text, catalog)
    assert found == [
        ("(file)", "not_finite"),
        ("(file)", "unknown_key"),
        ("core.mgmt.erp", "duplicate_key"),
        ("core.prod.nc_rate", "not_finite"),
        ("core.infra.strategy", "unknown_option"),
    ]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    dest = tmp_path / "questionnaires"
    shutil.copytree(default_root(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest


def test_a_questionnaire_changed_after_it_was_locked_is_refused_even_as_a_draft(library):
    path = library / "modules" / "food" / "v1.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("weight: 2", "weight: 3", 1), encoding="utf-8"
    )
    cat = load_catalog(library)
    for draft in (False, True):
        with pytest.raises(NotPublished) as caught:
            read_answers(EXAMPLE, cat, draft=draft)
        assert caught.value.code == "lock_mismatch"
        assert "food" in caught.value.zh and "immutable" in caught.value.en


def test_an_unlocked_version_is_read_only_as_a_draft(library):
    src = library / "modules" / "food" / "v1.yaml"
    (library / "modules" / "food" / "v3.yaml").write_text(
        src.read_text(encoding="utf-8").replace("version: 1\n", "version: 3\n", 1), encoding="utf-8"
    )
    cat = load_catalog(library)
    text = example_text().replace('"version": 1', '"version": 3')
    with pytest.raises(NotPublished) as caught:
        parse_answers(text, cat)
    assert caught.value.code == "unpublished" and "not published" in caught.value.en
    spec, _ = parse_answers(text, cat, draft=True)
    assert spec.version == 3
    assert parse_answers(example_text(), cat)[0].version == 1


def test_a_year_in_the_file_scores_for_that_year(catalog, tmp_path):
    import json as _json

    from assess.questionnaire.answers_file import parse_answers

    def spec_for_year(year):
        doc = {"questionnaire": "petrochemicals", "version": 2, "answers": {}}
        if year is not None:
            doc["year"] = year
        spec, _ = parse_answers(_json.dumps(doc), catalog, draft=True)
        return spec

    early, late = spec_for_year(2016), spec_for_year(2021)
    assert any(q.withheld for q in early.questions)
    assert not any(q.withheld for q in late.questions)
    assert not any(q.withheld for q in spec_for_year(None).questions)
    from scoring import AnswerErrors

    with pytest.raises(AnswerErrors) as err:
        spec_for_year(1899)
    assert [e.code for e in err.value.errors] == ["wrong_year"]
