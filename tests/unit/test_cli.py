"""The assess command line: check, show, lock, score."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assess.cli import app
from assess.questionnaire.catalog import default_root
from assess.questionnaire.compile import shipped_catalog
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
    result = run("questionnaires", "show", "petrochemicals")  # the latest published: version 2
    assert result.exit_code == 0
    assert (
        "石化" in result.output
        and "core.rd.digital_design_tools" in result.output
        and "关键系统" in result.output
    )
    english = run("questionnaires", "show", "petrochemicals", "--lang", "en")
    assert "key system" in english.output
    older = run("questionnaires", "show", "petrochemicals", "--version", "1")
    assert older.exit_code == 0 and "core.rd.design_tools " in older.output


@pytest.mark.parametrize("sector", SECTORS)
def test_show_json_is_the_whole_composed_questionnaire(sector):
    result = run("questionnaires", "show", sector, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    latest = shipped_catalog().versions()[sector][-1]
    assert latest == 2  # version 2 is published; a bare `show` gives the latest
    assert doc["id"] == sector and doc["version"] == latest
    assert doc["content_hash"].startswith("sha256:")
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
        "score",
        str(write(tmp_path, {"questionnaire": "food", "version": 1, "answers": answers})),
        "--json",
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


def test_score_lists_nan_beside_every_other_problem_in_both_languages(tmp_path):
    text = (EXAMPLES / "food.json").read_text(encoding="utf-8")
    text = text.replace('"core.mgmt.erp": "C"', '"core.mgmt.erp": NaN', 1)
    text = text.replace('"core.infra.strategy": "B"', '"core.infra.strategy": "Q"', 1)
    assert text.count("NaN") == 1 and '"Q"' in text
    path = write(tmp_path, text)
    result = run("score", str(path), "--json")
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    assert [(e["question"], e["code"]) for e in errors] == [
        ("core.infra.strategy", "unknown_option"),
        ("core.mgmt.erp", "not_finite"),
    ]
    shown = run("score", str(path))
    assert shown.exit_code == 1 and "2 个问题 / problem(s), nothing scored" in shown.output
    assert "core.mgmt.erp: NaN 不是有限数字" in shown.output
    assert "NaN is not a finite number" in shown.output and "core.infra.strategy:" in shown.output


def test_score_refuses_duplicate_keys_with_their_path(tmp_path):
    text = (EXAMPLES / "food.json").read_text(encoding="utf-8")
    text = text.replace('"core.mgmt.erp": "C"', '"core.mgmt.erp": "C", "core.mgmt.erp": "D"', 1)
    result = run("score", str(write(tmp_path, text)))
    assert result.exit_code == 1
    assert 'core.mgmt.erp: 键 "core.mgmt.erp" 在同一对象中出现了不止一次' in result.output
    assert 'duplicate key "core.mgmt.erp"' in result.output
    assert 'answers."core.mgmt.erp"' in result.output


@pytest.fixture
def library(tmp_path: Path) -> Path:
    lib = tmp_path / "q"
    shutil.copytree(default_root(), lib, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return lib


def test_score_refuses_a_questionnaire_changed_after_it_was_locked(library):
    mod = library / "modules" / "food" / "v1.yaml"
    mod.write_text(
        mod.read_text(encoding="utf-8").replace("weight: 2", "weight: 3", 1), encoding="utf-8"
    )
    for extra in ([], ["--draft"]):
        result = run("score", str(EXAMPLES / "food.json"), "--root", str(library), *extra)
        assert result.exit_code == 2
        assert "问卷 food 第 1 版的文件与 lock.json 不符" in result.output
        assert "questionnaire food v1 no longer matches lock.json" in result.output
        assert "发展水平" not in result.output
    as_json = run("score", str(EXAMPLES / "food.json"), "--root", str(library), "--json")
    assert as_json.exit_code == 2
    (err,) = json.loads(as_json.output)["errors"]
    assert err["code"] == "lock_mismatch" and err["zh"] and err["en"]
    other = run("score", str(EXAMPLES / "auto.json"), "--root", str(library))
    assert other.exit_code == 0, other.output


def test_score_takes_an_unpublished_version_only_with_draft(library, tmp_path):
    src = library / "modules" / "food" / "v1.yaml"  # version 1's module as a version 3 draft
    (library / "modules" / "food" / "v3.yaml").write_text(
        src.read_text(encoding="utf-8").replace("version: 1\n", "version: 3\n", 1), encoding="utf-8"
    )
    text = (EXAMPLES / "food.json").read_text(encoding="utf-8")
    path = write(tmp_path, text.replace('"version": 1', '"version": 3', 1))
    refused = run("score", str(path), "--root", str(library))
    assert refused.exit_code == 2
    assert "尚未发布" in refused.output and "--draft" in refused.output
    assert "is not published" in refused.output
    draft = run("score", str(path), "--root", str(library), "--draft", "--json")
    assert draft.exit_code == 0, draft.output
    assert json.loads(draft.stdout)["version"] == 3
    assert "draft: food v3 is not published" in draft.stderr
    published = run("score", str(EXAMPLES / "food.json"), "--root", str(library), "--json")
    assert published.exit_code == 0 and "draft" not in published.stderr


def test_check_and_lock_cover_the_region_profiles(library):
    lock_before = (library / "lock.json").read_text(encoding="utf-8")
    region = library / "regions" / "jilin_city.yaml"
    text = region.read_text(encoding="utf-8")
    (library / "regions" / "changchun.yaml").write_text(
        text.replace("id: jilin_city", "id: changchun", 1), encoding="utf-8"
    )
    unlocked = run("questionnaires", "check", "--root", str(library))
    assert (
        unlocked.exit_code == 1
        and "lock.json: regions.changchun: region profile not locked" in unlocked.output
    )
    locked = run("questionnaires", "lock", "--root", str(library))
    assert locked.exit_code == 0 and "locked: regions.changchun" in locked.output
    lock_after = (library / "lock.json").read_text(encoding="utf-8")
    assert json.loads(lock_after)["questionnaires"] == json.loads(lock_before)["questionnaires"]
    assert lock_before.split('"regions"')[0] == lock_after.split('"regions"')[0]
    assert run("questionnaires", "check", "--root", str(library)).exit_code == 0
    region.write_text(
        text.replace("key_projects_per_year: 30", "key_projects_per_year: 40"), encoding="utf-8"
    )
    edited = run("questionnaires", "lock", "--root", str(library))
    assert (
        edited.exit_code == 1 and "lock.json: regions.jilin_city: published region" in edited.output
    )
    assert (library / "lock.json").read_text(encoding="utf-8") == lock_after


def test_show_prints_formulas_and_the_year_a_rung_applies_from():
    result = CliRunner().invoke(app, ["questionnaires", "show", "general", "--version", "2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        "= core.infra.ops_spend_5y ÷ (core.infra.build_spend_5y + core.infra.ops_spend_5y) × 100"
        in out
    )
    platform = out[out.index("core.col.platform ") :]
    assert (
        "基于平台开发工业应用，开展数据服务  (自 2018)" in platform[: platform.index("\n  core.")]
    )


def test_score_lists_exemptions_and_their_worth():
    path = "examples/answers/v2/petrochemicals.json"
    result = CliRunner().invoke(app, ["score", "--draft", path])
    assert result.exit_code == 0, result.output
    assert "petrochemicals.ctx.major_hazard = false → petrochemicals.safety." in result.output
    assert "若按 0 分计入，总体水平为 50.61 (当前 53.15)" in result.output


def test_analytics_rules_are_published_like_questionnaires_and_never_edited(library):
    from assess.questionnaire.catalog import load_catalog

    rules = library / "analytics" / "v1.yaml"
    text = rules.read_text(encoding="utf-8")
    assert load_catalog(library).analytics_rules().version == 1
    # A new version is used only once it is published (locked); a draft waits.
    (library / "analytics" / "v2.yaml").write_text(
        text.replace("version: 1", "version: 2\ndraft: true", 1).replace(
            "min_overall: 60", "min_overall: 65", 1
        ),
        encoding="utf-8",
    )
    assert load_catalog(library).analytics_rules().version == 1
    assert run("questionnaires", "check", "--root", str(library)).exit_code == 0
    v2 = (library / "analytics" / "v2.yaml").read_text(encoding="utf-8")
    (library / "analytics" / "v2.yaml").write_text(v2.replace("draft: true\n", ""), "utf-8")
    unlocked = run("questionnaires", "check", "--root", str(library))
    assert unlocked.exit_code == 1 and "analytics.analytics@2: analytics rules not locked" in (
        unlocked.output
    )
    assert (
        "locked: analytics.analytics@2"
        in run("questionnaires", "lock", "--root", str(library)).output
    )
    assert load_catalog(library).analytics_rules().shortlist.min_overall == 65
    # A published version is immutable.
    rules.write_text(text.replace("max_fall: 5", "max_fall: 8"), encoding="utf-8")
    edited = run("questionnaires", "check", "--root", str(library))
    assert edited.exit_code == 1 and "published analytics rules changed" in edited.output
