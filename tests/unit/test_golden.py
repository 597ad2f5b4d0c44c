"""Golden ScoreCards of the example answers, cross-checked by the reference scorer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assess.questionnaire.answers_file import read_answers
from scoring import ScoreCard, score
from tests.conftest import ROOT, SECTORS
from tests.reference import reference_score

GOLDEN = ROOT / "tests" / "data" / "golden"
EXAMPLES = ROOT / "examples" / "answers"


def approx_groups(got: dict[str, float | None], want: dict[str, float | None]) -> None:
    """Link or aspect scores equal; a link that does not apply has None on both sides."""
    assert list(got) == list(want)
    for k, v in want.items():
        if v is None:
            assert got[k] is None, k
        else:
            assert got[k] == pytest.approx(v, abs=1e-6), k


def matches_golden(card: ScoreCard, expected: dict[str, Any]) -> None:
    """A ScoreCard equals a golden file: scores, stage, adoption, missing answers, roadmap."""
    assert card.overall == pytest.approx(expected["overall"], abs=1e-6)
    approx_groups(card.links, expected["links"])
    approx_groups(card.aspects, expected["aspects"])
    assert card.stage == expected["stage"]
    assert card.it_links == expected["it_links"]
    assert card.it_adopter == expected["it_adopter"]
    assert card.missing_required == expected["missing_required"]
    got = [{"question": r.question, "to": r.to, "gain": r.gain} for r in card.roadmap]
    assert [g["question"] for g in got] == [e["question"] for e in expected["roadmap"]]
    for g, e in zip(got, expected["roadmap"], strict=True):
        assert (
            g["to"] == pytest.approx(e["to"]) if isinstance(e["to"], float) else g["to"] == e["to"]
        )
        assert g["gain"] == pytest.approx(e["gain"], abs=1e-6)


@pytest.mark.parametrize("sector", SECTORS)
def test_example_scorecard_matches_its_golden_file(catalog, sector):
    spec, answers = read_answers(EXAMPLES / f"{sector}.json", catalog)
    expected = json.loads((GOLDEN / f"{sector}.json").read_text(encoding="utf-8"))
    matches_golden(score(spec, answers), expected)


@pytest.mark.parametrize("sector", SECTORS)
def test_golden_file_agrees_with_the_reference_scorer(catalog, sector):
    _, answers = read_answers(EXAMPLES / f"{sector}.json", catalog)
    expected = json.loads((GOLDEN / f"{sector}.json").read_text(encoding="utf-8"))
    ref = reference_score(catalog.compose(sector, 1), answers)
    assert ref["overall"] == pytest.approx(expected["overall"], abs=1e-6)
    assert ref["links"] == pytest.approx(expected["links"], abs=1e-6)
    assert ref["aspects"] == pytest.approx(expected["aspects"], abs=1e-6)
    assert ref["stage"] == expected["stage"]
    assert ref["it_links"] == expected["it_links"]
    assert ref["it_adopter"] == expected["it_adopter"]
    assert ref["missing_required"] == expected["missing_required"]


def test_the_examples_cover_every_stage_but_undetermined():
    stages = {
        json.loads((GOLDEN / f"{s}.json").read_text(encoding="utf-8"))["stage"] for s in SECTORS
    }
    assert stages == {"initial", "single_coverage", "integration", "innovation"}
