"""docs/methodology.md must agree with the engine and with the methodology file."""

from __future__ import annotations

import re

import pytest

from assess.questionnaire.answers_file import read_answers
from scoring import score
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
EXAMPLE = DOC[DOC.index("## 7. Worked example") : DOC.index("## 8.")]


@pytest.fixture(scope="module")
def card(catalog):
    spec, answers = read_answers(ROOT / "examples" / "answers" / "petrochemicals.json", catalog)
    return score(spec, answers)


def bold(label_pattern: str) -> float:
    m = re.search(label_pattern + r".*?\*\*([\d.]+)\*\*", EXAMPLE, flags=re.S)
    assert m, label_pattern
    return float(m.group(1))


def test_worked_example_link_scores_match_the_engine(card):
    assert bold(r"S_rd =") == round(card.links["rd"], 2)
    assert bold(r"production") == round(card.links["production"], 2)
    assert bold(r"management") == round(card.links["management"], 2)
    assert bold(r"marketing") == round(card.links["marketing"], 2)
    assert bold(r"\*\*单项应用\*\* with") == round(card.aspects["single_app"], 2)


def test_worked_example_rd_rows_match_the_trace(card):
    rows = re.findall(
        r"^\| (\S+?)(?: \(key system\))? \| (\S+) \| (\d) \| ([\d.]+) \|$", EXAMPLE, re.M
    )
    trace = {t.question: t for t in card.trace if t.group == "rd"}
    assert {r[0] for r in rows} == set(trace)
    for qid, _answer, weight, value in rows:
        assert float(weight) == trace[qid].weight
        assert float(value) == pytest.approx(trace[qid].score, abs=5e-3)


def test_worked_example_overall_table_matches_the_engine(card):
    table = dict(re.findall(r"^\| (\S+) \| ([\d.]+) \| 0\.\d+ \| [\d.]+ \|$", EXAMPLE, re.M))
    names = {
        "基础建设": "infrastructure",
        "单项应用": "single_app",
        "综合集成": "integration",
        "协同与创新": "collaboration",
        "竞争力与效益": "competitiveness",
    }
    assert set(table) == set(names)
    for zh, key in names.items():
        assert float(table[zh]) == round(card.aspects[key], 2)
    assert bold(r"\*\*overall\*\*") == round(card.overall, 2)


def test_worked_example_stage_and_roadmap_match_the_engine(card):
    assert card.stage == "single_coverage" and "**单项覆盖 (single_coverage)**" in EXAMPLE
    top = card.roadmap[0]
    assert f"`{top.question}`" in EXAMPLE and f"**+{top.gain:.2f}**" in EXAMPLE
    need = card.next_stage.needs[0]
    assert need.metric == "aspect.integration" and f"{need.actual:.2f} < {need.value:g}" in EXAMPLE
    assert f"integration to {need.helps[0].metric_after:.2f}" in EXAMPLE


def test_documented_weights_match_the_methodology_file(catalog):
    m = catalog.methodologies[1]
    for a in m.aspects:
        assert re.search(rf"\| {a.name.zh}[^|]*\| {a.weight:.2f} \|", DOC), a.id
    for sector, lw in m.link_weights.items():
        row = next(
            ln for ln in DOC.splitlines() if ln.startswith("| ") and sector in ln.split("|")[1]
        )
        cells = [float(c) for c in row.split("|")[2:6]]
        assert cells == [lw.rd, lw.production, lw.management, lw.marketing], sector
    assert f"at least **{m.it_adoption.min_links} of the 4**" in DOC
