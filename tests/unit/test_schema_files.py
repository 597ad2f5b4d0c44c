"""The questionnaire file schema: the generated JSON schemas in questionnaires/schema/ are
current, and a question's optional source is checked, shown by the CLI and on the fill page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from assess.assessment.filling import AnswerState
from assess.cli import app, json_schemas
from assess.questionnaire.catalog import default_root, load_catalog


@pytest.mark.parametrize("kind", ["core", "module", "methodology", "region"])
def test_generated_schema_is_up_to_date(kind):
    path = default_root() / "schema" / f"{kind}.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == json_schemas()[kind], (
        "regenerate with: assess questionnaires schema --out questionnaires/schema"
    )


def test_the_engine_knows_every_question_type_the_schema_allows():
    from assess.questionnaire.schema import QUESTION_TYPES, Question
    from scoring import spec

    engine_kinds = (
        spec.SINGLE,
        spec.MULTI,
        spec.PERCENT,
        spec.NUMBER,
        spec.RATIO,
        spec.YESNO,
        spec.TEXT,
        spec.EVIDENCE,
        spec.DERIVED,
    )
    assert set(QUESTION_TYPES) == set(engine_kinds)
    union = Question.__origin__.__args__  # type: ignore[attr-defined]
    assert {m.model_fields["type"].annotation.__args__[0] for m in union} == set(QUESTION_TYPES)


SOURCE = {
    "zh": "2017年全国问卷，基础建设第6项",
    "en": "2017 national questionnaire, infrastructure item 6",
}
SOURCED = "general.prod.oee"


def general_v2(tmp_path: Path, source: Any) -> Path:
    """A copy of the library with general v2: v1 again, with ``source`` on one question."""
    lib = tmp_path / "questionnaires"
    shutil.copytree(default_root(), lib, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    data = yaml.safe_load((lib / "modules" / "general" / "v1.yaml").read_text(encoding="utf-8"))
    data["version"] = 2
    question = next(q for s in data["sections"] for q in s["questions"] if q["id"] == SOURCED)
    question["source"] = source
    (lib / "modules" / "general" / "v2.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return lib


def test_a_question_source_is_optional_and_leaves_the_published_hashes_alone(tmp_path):
    lib = general_v2(tmp_path, SOURCE)
    cat = load_catalog(lib)
    assert [(p.file, p.path) for p in cat.check()] == [("lock.json", "general@2")]
    assert cat.compose("general", 1).by_id[SOURCED].source is None
    sourced = cat.compose("general", 2).by_id[SOURCED].source
    assert sourced is not None and sourced.model_dump() == SOURCE


def test_show_prints_a_question_source_in_the_chosen_language(tmp_path):
    lib = general_v2(tmp_path, SOURCE)
    runner = CliRunner()
    show = ["questionnaires", "show", "general", "--root", str(lib)]
    zh = runner.invoke(app, show)
    assert zh.exit_code == 0, zh.output
    lines = zh.output.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.split()[:1] == [SOURCED])
    assert lines[at + 1].strip() == f"来源：{SOURCE['zh']}", "the source follows its question"
    assert zh.output.count("来源：") == 1
    en = runner.invoke(app, [*show, "--lang", "en"])
    assert f"Source: {SOURCE['en']}" in en.output
    as_json = runner.invoke(app, [*show, "--json"])
    items = {x["id"]: x for x in json.loads(as_json.output)["questions"]}
    assert items[SOURCED]["source"] == SOURCE
    assert all("source" not in x for qid, x in items.items() if qid != SOURCED)


@pytest.mark.parametrize(
    ("source", "where", "message"),
    [
        ({**SOURCE, "item": 6}, "source.item", "Extra inputs are not permitted"),
        ({"zh": SOURCE["zh"]}, "source.en", "Field required"),
        ("2017 national questionnaire", "source", "valid dictionary"),
    ],
)
def test_a_malformed_source_is_refused_with_its_path(tmp_path, source, where, message):
    lib = general_v2(tmp_path, source)
    problems = load_catalog(lib).problems
    assert [p.file for p in problems] == ["modules/general/v2.yaml"]
    assert problems[0].path.endswith(f"questions[{SOURCED}].{where}")
    assert message in problems[0].message


def test_the_fill_page_shows_a_question_source_inside_its_help(tmp_path):
    from web.app import _templates

    q = load_catalog(general_v2(tmp_path, SOURCE)).compose("general", 2)
    template = _templates().get_template("_question.html")

    def render(qid: str) -> str:
        return template.render(
            question=q.by_id[qid],
            q=q,
            a=SimpleNamespace(id="a1"),
            states={},
            empty=AnswerState(),
            visible={qid},
            withheld={},
            derived={},
            reasons={},
            editable=False,
            oob=False,
            status_kind="",
        )

    page = render(SOURCED)
    help_block = page[page.index('<details class="q-help">') : page.index("</details>")]
    assert f'<p class="q-source">来源：{SOURCE["zh"]}</p>' in help_block
    assert "q-source" not in render("general.ctx.business"), "no source, no line"
