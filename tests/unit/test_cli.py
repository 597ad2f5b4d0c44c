"""The assess command line: check, show, lock, score."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assess.catalog import default_root
from assess.cli import app
from tests.conftest import ROOT, SECTORS, extreme_answers

runner = CliRunner()
EXAMPLES = ROOT / "examples" / "answers"


def run(*args: str):
    return runner.invoke(app, list(args))


def write(tmp_path: Path, doc, name="answers.json") -> Path:
    path = tmp_path / name
    path.write_text(
        doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8"
    )
    return path


def test_check_passes_on_the_shipped_library():
    result = run("questionnaires", "check")
    assert result.exit_code == 0, result.output
    assert "lock file matches" in result.output


def test_check_prints_every_problem_as_file_path_message_and_fails(tmp_path):
    lib = tmp_path / "q"
    shutil.copytree(default_root(), lib, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    region = lib / "regions" / "jilin_city.yaml"
    region.write_text(
        region.read_text(encoding="utf-8").replace("rate: 0.70", "rate: 1.7"), encoding="utf-8"
    )
    core = lib / "core" / "v1.yaml"
    core.write_text(
        core.read_text(encoding="utf-8").replace("weight: 1.5", "weight: -1", 1), encoding="utf-8"
    )
    result = run("questionnaires", "check", "--root", str(lib))
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    rate = "targets.adoption_goal.rate: Input should be less than or equal to 1"
    assert f"regions/jilin_city.yaml: {rate}" in lines
    assert (
        "modules/food/v1.yaml: (composed): core v1 has problems of its own (listed above)" in lines
    )
    assert any(
        ln.startswith("core/v1.yaml: sections[core.infra].questions[core.infra.strategy].weight:")
        for ln in lines
    )
    assert all(ln.count(": ") >= 2 for ln in lines if not ln.endswith("problem(s)"))


def test_show_prints_a_readable_outline():
    result = run("questionnaires", "show", "petrochemicals")
    assert result.exit_code == 0
    assert (
        "石化" in result.output
        and "core.rd.design_tools" in result.output
        and "关键系统" in result.output
    )
    english = run("questionnaires", "show", "petrochemicals", "--lang", "en")
    assert "key system" in english.output


@pytest.mark.parametrize("sector", SECTORS)
def test_show_json_is_the_whole_composed_questionnaire(sector):
    result = run("questionnaires", "show", sector, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["id"] == sector and doc["version"] == 1 and doc["content_hash"].startswith("sha256:")
    for q in doc["questions"]:
        assert {"id", "type", "link", "aspect", "required", "allow_na", "key_system"} <= set(q)
        if q["type"] in ("single_choice", "multiple_choice"):
            assert all({"id", "score"} <= set(o) for o in q["options"])
        if q["type"] in ("percentage", "number", "ratio"):
            assert set(q["bounds"]) == {"min", "max"}
    assert sum(q["key_system"] for q in doc["questions"]) >= 4


def test_show_unknown_sector_fails_with_the_known_ones():
    result = run("questionnaires", "show", "shipbuilding")
    assert result.exit_code == 1 and "petrochemicals" in result.output


@pytest.mark.parametrize("sector", SECTORS)
def test_example_answers_score_without_error(sector):
    path = EXAMPLES / f"{sector}.json"
    result = run("score", str(path), "--json")
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert set(card["links"]) == {"rd", "production", "management", "marketing"}
    assert card["stage"] in ("initial", "single_coverage", "integration", "innovation")
    assert card["missing_required"] == []
    for key in ("overall", "aspects", "it_adopter", "it_links", "roadmap"):
        assert key in card
    assert all({"question", "to", "gain"} <= set(r) for r in card["roadmap"])
    text = run("score", str(path))
    assert text.exit_code == 0 and "发展水平" in text.output and "发展阶段" in text.output
    english = run("score", str(path), "--lang", "en")
    assert "Overall level" in english.output


def test_score_reports_every_answer_problem_as_json_and_fails(tmp_path, specs):
    answers = extreme_answers(specs["food"], best=True)
    answers.update({"core.mgmt.erp": "Q", "core.prod.nc_rate": 101, "bogus.id": 1})
    result = run(
        "score", str(write(tmp_path, {"questionnaire": "food", "answers": answers})), "--json"
    )
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    assert {e["question"]: e["code"] for e in errors} == {
        "core.mgmt.erp": "unknown_option",
        "core.prod.nc_rate": "out_of_range",
        "bogus.id": "unknown_question",
    }
    assert all(e["zh"] and e["en"] for e in errors)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("{not json", "malformed_json"),
        ('{"questionnaire": "food", "answers": {"core.prod.nc_rate": NaN}}', "not_finite"),
        ('{"questionnaire": "food", "answers": {"core.prod.nc_rate": Infinity}}', "not_finite"),
        ("[1, 2]", "wrong_type"),
        ('{"answers": {}}', "missing_questionnaire"),
        ('{"questionnaire": "food"}', "missing_answers"),
        ('{"questionnaire": "shipbuilding", "answers": {}}', "unknown_questionnaire"),
        ('{"questionnaire": "food", "version": 9, "answers": {}}', "unknown_version"),
        ('{"questionnaire": "food", "version": "1", "answers": {}}', "wrong_type"),
        ('{"questionnaire": "food", "answers": {}, "extra": 1}', "unknown_key"),
    ],
)
def test_score_rejects_bad_files_with_a_clear_message(tmp_path, content, code):
    result = run("score", str(write(tmp_path, content)), "--json")
    assert result.exit_code == 1
    (err,) = json.loads(result.output)["errors"]
    assert err["code"] == code and err["zh"] and err["en"]


def test_score_of_a_missing_file_fails_cleanly(tmp_path):
    result = run("score", str(tmp_path / "nope.json"))
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "cannot read the file" in result.output


def test_lock_refuses_to_change_a_published_hash(tmp_path):
    lib = tmp_path / "q"
    shutil.copytree(default_root(), lib, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    before = (lib / "lock.json").read_text(encoding="utf-8")
    mod = lib / "modules" / "auto" / "v1.yaml"
    mod.write_text(
        mod.read_text(encoding="utf-8").replace("weight: 2", "weight: 1.5", 1), encoding="utf-8"
    )
    result = run("questionnaires", "lock", "--root", str(lib))
    assert result.exit_code == 1 and "immutable" in result.output
    assert (lib / "lock.json").read_text(encoding="utf-8") == before


def test_the_installed_command_runs():
    exe = Path(sys.executable).with_name("assess")
    result = subprocess.run(
        [str(exe), "score", str(EXAMPLES / "general.json"), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["questionnaire"] == "general"
