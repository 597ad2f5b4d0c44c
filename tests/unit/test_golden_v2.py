"""Golden ScoreCards of the version 2 example answers, cross-checked by the reference scorer.

第2版示例答卷的标准计分结果：与引擎比对，并由独立的参考计分器（tests/reference.py）复核。
The version 1 goldens (test_golden.py) stay as they are. The files here are written by
scripts/golden_v2.py from the engine; the reference scorer, which shares no code with the
engine, is what shows they follow the rules. Beyond the goldens, the engine and the reference
scorer must also agree on assessment years before the items that carry ``valid_from`` and on
small variants of the examples that exercise one version 2 rule each.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from assess.questionnaire.answers_file import read_answers
from assess.questionnaire.catalog import Catalog, Questionnaire
from assess.questionnaire.compile import compile_spec
from scoring import ScoreCard, score
from tests.conftest import ROOT, SECTORS
from tests.reference import reference_score, valid
from tests.unit.test_golden import approx_groups, matches_golden

GOLDEN = ROOT / "tests" / "data" / "golden" / "v2"
EXAMPLES = ROOT / "examples" / "answers" / "v2"
VERSION = 2
LINKS = ["rd", "production", "management", "marketing"]


def example(catalog: Catalog, sector: str) -> tuple[Questionnaire, dict[str, Any]]:
    """The composed questionnaire and raw answers of a sector's version 2 example."""
    path = EXAMPLES / f"{sector}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["questionnaire"] == sector and doc["version"] == VERSION
    _, answers = read_answers(path, catalog)
    return catalog.compose(sector, VERSION), answers


def golden(sector: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{sector}.json").read_text(encoding="utf-8"))


def agree(q: Questionnaire, card: ScoreCard, ref: dict[str, Any]) -> None:
    """Engine and reference scorer give the same card (roadmap aside), flags included."""
    assert card.overall == pytest.approx(ref["overall"], abs=1e-6)
    approx_groups(card.links, ref["links"])
    approx_groups(card.aspects, ref["aspects"])
    assert card.stage == ref["stage"]
    assert card.it_links == ref["it_links"]
    assert card.it_adopter == ref["it_adopter"]
    assert card.missing_required == ref["missing_required"]
    assert (card.applicable_links or LINKS) == ref["applicable_links"]
    assert sorted(f.check for f in card.flags) == sorted(ref["failed_checks"])
    confirming = {c.id for c in q.checks if c.confirms_key}
    assert {f.check for f in card.flags if f.key_system} == {
        c for c in ref["failed_checks"] if c in confirming
    }


@pytest.mark.parametrize("sector", SECTORS)
def test_v2_example_scorecard_matches_its_golden_file(catalog, sector):
    q, answers = example(catalog, sector)
    expected = golden(sector)
    card = score(compile_spec(q), answers)
    assert (card.questionnaire, card.version) == (expected["questionnaire"], expected["version"])
    matches_golden(card, expected)


@pytest.mark.parametrize("sector", SECTORS)
def test_v2_golden_file_agrees_with_the_reference_scorer(catalog, sector):
    q, answers = example(catalog, sector)
    expected = golden(sector)
    ref = reference_score(q, answers)
    assert ref["overall"] == pytest.approx(expected["overall"], abs=1e-6)
    approx_groups(ref["links"], expected["links"])
    approx_groups(ref["aspects"], expected["aspects"])
    assert ref["stage"] == expected["stage"]
    assert ref["it_links"] == expected["it_links"]
    assert ref["it_adopter"] == expected["it_adopter"]
    assert ref["missing_required"] == expected["missing_required"]


@pytest.mark.parametrize("sector", SECTORS)
def test_v2_example_flags_and_applicable_links_agree_with_the_reference(catalog, sector):
    q, answers = example(catalog, sector)
    agree(q, score(compile_spec(q), answers), reference_score(q, answers))


def test_the_v2_examples_cover_every_stage_but_undetermined():
    stages = {golden(s)["stage"] for s in SECTORS}
    assert stages == {"initial", "single_coverage", "integration", "innovation"}


def test_a_v2_example_has_no_production_shop(catalog):
    """A firm without a production shop: production has no score and leaves the stage rules."""
    found = []
    for sector in SECTORS:
        q, answers = example(catalog, sector)
        if answers.get("core.ctx.production") != "none":
            continue
        found.append(sector)
        assert golden(sector)["links"]["production"] is None
        assert "production" not in reference_score(q, answers)["applicable_links"]
    assert found


def test_a_v2_example_fails_a_check_that_confirms_a_key_system(catalog):
    """A key system the module's own evidence contradicts is flagged and does not count."""
    found = []
    for sector in SECTORS:
        q, answers = example(catalog, sector)
        ref = reference_score(q, answers)
        confirming = {c.id: c for c in q.checks if c.confirms_key}
        for check_id in ref["failed_checks"]:
            if check_id not in confirming:
                continue
            key = q.by_id[confirming[check_id].when[0].question]
            found.append(check_id)
            # answered at or above "in use", yet its link has no IT
            ids = [o.id for o in key.options]
            assert ids.index(answers[key.id]) >= ids.index(key.key_system.in_use_at)
            assert key.link not in golden(sector)["it_links"]
            card = score(compile_spec(q), answers)
            assert any(f.check == check_id and f.key_system for f in card.flags)
    assert found


def test_a_v2_example_has_an_na_and_an_exemption(catalog):
    """One example answers N/A on a shown question and gives a context answer that leaves a
    scored question out; both are listed for the certifier."""
    found = []
    for sector in SECTORS:
        q, answers = example(catalog, sector)
        ref = reference_score(q, answers)
        shown = ref["visible"]
        na = [x.id for x in q.questions if shown[x.id] and answers.get(x.id) == "na"]
        gates = {
            c.question
            for x in q.questions
            if x.is_scored and not shown[x.id]
            for c in x.show_if
            if shown[c.question] and not q.by_id[c.question].is_scored
        }
        exempt = [g for g in gates if answers.get(g) is not None]
        if not (na and exempt):
            continue
        card = score(compile_spec(q), answers)
        kinds = {(e.question, e.kind) for e in card.exemptions}
        assert {(x, "na") for x in na} <= kinds
        assert any((g, "exemption") in kinds for g in exempt)
        found.append(sector)
    assert found


def for_year(q: Questionnaire, answers: dict[str, Any], year: int) -> dict[str, Any]:
    """The example as a firm would have answered it in ``year``: a rung not offered yet is
    replaced by the best one offered below it; a multiple-choice option not offered is dropped."""
    out = dict(answers)
    for x in q.questions:
        v = answers.get(x.id)
        if v is None or v == "na" or x.type not in ("single_choice", "multiple_choice"):
            continue
        offered = [o.id for o in x.options if valid(o.valid_from, year)]
        if x.type == "multiple_choice":
            out[x.id] = [o for o in v if o in offered]
        elif v not in offered:
            ids = [o.id for o in x.options]
            out[x.id] = max((o for o in offered if ids.index(o) < ids.index(v)), key=ids.index)
    return out


@pytest.mark.parametrize("year", [2015, 2017, 2018, 2020])
@pytest.mark.parametrize("sector", SECTORS)
def test_engine_and_reference_agree_in_earlier_years(catalog, sector, year):
    """valid_from: a question is hidden before its year, a rung not offered, the ladder rescaled."""
    q, answers = example(catalog, sector)
    answers = for_year(q, answers, year)
    agree(q, score(compile_spec(q, year), answers), reference_score(q, answers, year))


# One version 2 rule each, on top of an example: (sector, changed answers, removed answers).
VARIANTS = {
    # every input of a derived value hidden: the derived value is not applicable
    "auto_no_simulation_types": ("auto", {"auto.ctx.cae_applicable": []}, []),
    # a mean over the operands that are answered (NVH asked, not answered)
    "auto_mean_of_answered": ("auto", {"auto.ctx.cae_applicable": ["STRUCT", "NVH"]}, []),
    # a derived ratio over a zero denominator is empty and scores 0
    "general_zero_revenue": ("general", {"core.ctx.revenue": 0}, []),
    # answers to a link that does not apply are ignored
    "general_production_answered_anyway": (
        "general",
        {"core.prod.control_execution": "D", "general.prod.key_equipment_total": 10},
        [],
    ),
    # the key system named by a confirming check, contradicted through a derived value
    "textiles_low_nc_rate": ("textiles", {"textiles.prod.dcs_coverage": 20}, []),
    # no fibre, no downstream process: the derived NC rate and its check drop out
    "textiles_no_fibre": (
        "textiles",
        {"textiles.ctx.fibre_form": "NONE", "textiles.ctx.carbon_fibre": False},
        [],
    ),
    # a key system in use in a link scoring below it_adoption.min_link_level does not count
    "petrochemicals_weak_production": (
        "petrochemicals",
        {
            "petrochemicals.prod.apc": "A",
            "petrochemicals.prod.alarm_management": "A",
            "petrochemicals.prod.historian": "A",
            "petrochemicals.safety.sis": "A",
            "petrochemicals.safety.gds": "A",
            "petrochemicals.env.cems": "A",
            "petrochemicals.env.wastewater": "A",
            "petrochemicals.env.ldar": "A",
            "petrochemicals.energy.ems": "A",
            "petrochemicals.env.circular": "A",
            "petrochemicals.prod.lims": "A",
            "petrochemicals.eq.integrity": "A",
            "petrochemicals.logistics.tank_farm": "A",
            "core.prod.mes": "A",
            "core.prod.maintenance": "A",
        },
        [],
    ),
    # the gate of the production link unanswered: nothing of production counts, undetermined
    "food_production_unanswered": ("food", {}, ["core.ctx.production"]),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_engine_and_reference_agree_on_variants_of_the_examples(catalog, name):
    sector, changes, removed = VARIANTS[name]
    q, answers = example(catalog, sector)
    answers = {k: v for k, v in {**answers, **changes}.items() if k not in removed}
    card = score(compile_spec(q), answers)
    ref = reference_score(q, answers)
    agree(q, card, ref)
    if name == "petrochemicals_weak_production":
        level = q.methodology.it_adoption.min_link_level
        assert ref["links"]["production"] < level
        assert "production" not in ref["it_links"]
    if name == "textiles_low_nc_rate":
        assert "textiles.check.nc_confirms_control" in ref["failed_checks"]
        assert "production" not in ref["it_links"]
    if name == "auto_no_simulation_types":
        assert not ref["visible"]["auto.rd.cae_coverage"]
