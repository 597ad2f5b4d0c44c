"""docs/methodology.md §10.8, the version-2 worked example, agrees with the engine."""

from __future__ import annotations

import re

import pytest

from assess.questionnaire.answers_file import read_answers
from scoring import score
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
EXAMPLE = DOC[DOC.index("### 10.8 Worked example") :]


@pytest.fixture(scope="module")
def card(catalog):
    path = ROOT / "examples" / "answers" / "v2" / "petrochemicals.json"
    spec, answers = read_answers(path, catalog)
    return score(spec, answers)


def bold_numbers() -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\*\*([\d.,]+)\*\*", EXAMPLE)]


def test_the_version_2_example_figures_come_from_the_engine(card):
    trace = {t.question: t for t in card.trace}
    effect = card.exemption_effect
    assert effect is not None
    expected = [
        trace["core.infra.it_staff_share"].answer,
        trace["core.infra.pcs_per_100"].answer,
        trace["core.infra.ops_share_5y"].answer,
        card.links["production"],
        effect.groups["production"][1],
        effect.overall[1],
        card.overall,
    ]
    assert bold_numbers() == [round(x, 2) for x in expected]
    assert card.stage == "single_coverage" and "**单项覆盖**" in EXAMPLE
    assert card.it_links == ["rd", "production", "management", "marketing"]
    kinds = {(e.question, e.kind) for e in card.exemptions}
    assert kinds == {
        ("petrochemicals.prod.apc", "na"),
        ("petrochemicals.ben.unplanned_shutdowns", "na"),
        ("petrochemicals.ctx.major_hazard", "exemption"),
    }
    why = next(r for r in card.stage_rules if r.stage == "integration")
    assert [c.metric for c in why.conditions if not c.held] == ["aspect.integration"]
