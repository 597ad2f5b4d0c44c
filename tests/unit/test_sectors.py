"""The sectors are the module folders: a new sector is a new file, and every file that names a
sector (methodology weights, region clusters) is checked against the folders that exist."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from assess.cli import app
from assess.questionnaire.answers_file import read_answers
from assess.questionnaire.catalog import default_root, load_catalog
from assess.questionnaire.compile import compile_spec
from scoring import score
from tests.conftest import ROOT

NEW = "pharma_devices"
GOLDEN = ROOT / "tests" / "data" / "golden"
EXAMPLES = ROOT / "examples" / "answers"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    dest = tmp_path / "questionnaires"
    shutil.copytree(default_root(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest


def renamed(qid: str) -> str:
    """A general-module id moved to the new sector; core ids stay."""
    return NEW + qid.removeprefix("general") if qid.startswith("general.") else qid


def add_sector(library: Path, sector_id: str = NEW, folder: str = NEW) -> Path:
    """Copy the general module as a new sector with its own id, names and question ids."""
    data: dict[str, Any] = yaml.safe_load(
        (library / "modules" / "general" / "v1.yaml").read_text(encoding="utf-8")
    )
    data["sector"] = {"id": sector_id, "name": {"zh": "医药器械", "en": "Medical devices"}}
    data["title"] = {"zh": "两化融合评估问卷（医药器械）", "en": "Assessment (medical devices)"}
    for section in data["sections"]:
        section["id"] = renamed(section["id"])
        for q in section["questions"]:
            q["id"] = renamed(q["id"])
            for c in q.get("show_if", []):
                c["question"] = renamed(c["question"])
    path = library / "modules" / folder / "v1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_new_sector_file_loads_composes_and_scores_with_no_code_change(library, tmp_path):
    add_sector(library)
    cat = load_catalog(library)
    assert cat.problems == []
    assert NEW in cat.sectors and len(cat.sectors) == 8
    # Published only once it is locked; nothing else in the library is disturbed.
    assert [(p.file, p.path) for p in cat.check()] == [("lock.json", f"{NEW}@1")]
    cli = CliRunner()
    locked = cli.invoke(app, ["questionnaires", "lock", "--root", str(library)])
    assert locked.exit_code == 0, locked.output
    cat = load_catalog(library)
    assert cat.check() == []

    q = cat.compose(NEW)
    assert (q.sector.name.zh, q.version) == ("医药器械", 1)
    default = cat.methodologies[1].link_weights["default"]
    assert compile_spec(q).link_weights == (
        default.rd,
        default.production,
        default.management,
        default.marketing,
    ), "a sector the methodology does not weight falls back to its default weights"

    # The general example answers, moved to the new sector, score as they do for general
    # (whose weights are the default ones): the new file is scored by the same engine.
    example = json.loads((EXAMPLES / "general.json").read_text(encoding="utf-8"))
    example["questionnaire"] = NEW
    example["answers"] = {renamed(k): v for k, v in example["answers"].items()}
    answers_path = tmp_path / "answers.json"
    answers_path.write_text(json.dumps(example, ensure_ascii=False), encoding="utf-8")
    spec, answers = read_answers(answers_path, cat)
    card = score(spec, answers)
    golden = json.loads((GOLDEN / "general.json").read_text(encoding="utf-8"))
    assert card.overall == pytest.approx(golden["overall"], abs=1e-9)
    assert card.links == pytest.approx(golden["links"], abs=1e-9)
    assert card.stage == golden["stage"]

    shown = cli.invoke(app, ["questionnaires", "show", NEW, "--root", str(library)])
    assert shown.exit_code == 0, shown.output
    assert f"[{NEW} v1]" in shown.output


def test_the_methodology_may_weight_a_new_sector_once_its_folder_exists(library):
    add_sector(library)
    edit(
        library / "methodology" / "v1.yaml",
        "  default: {rd: 0.25, production: 0.30, management: 0.25, marketing: 0.20}\n",
        "  default: {rd: 0.25, production: 0.30, management: 0.25, marketing: 0.20}\n"
        f"  {NEW}: {{rd: 0.30, production: 0.30, management: 0.20, marketing: 0.20}}\n",
    )
    cat = load_catalog(library)
    assert cat.problems == []
    assert compile_spec(cat.compose(NEW)).link_weights == (0.30, 0.30, 0.20, 0.20)


def test_a_methodology_weighting_an_unknown_sector_is_refused_naming_the_file(library):
    edit(
        library / "methodology" / "v1.yaml",
        "  default: {rd: 0.25, production: 0.30, management: 0.25, marketing: 0.20}\n",
        "  default: {rd: 0.25, production: 0.30, management: 0.25, marketing: 0.20}\n"
        "  aerospace: {rd: 0.30, production: 0.30, management: 0.20, marketing: 0.20}\n",
    )
    cat = load_catalog(library)
    assert [(p.file, p.path) for p in cat.problems] == [
        ("methodology/v1.yaml", "link_weights.aerospace")
    ]
    message = cat.problems[0].message
    assert "'aerospace'" in message and "modules/aerospace/" in message
    assert 1 not in cat.methodologies, "the refused methodology is not used"
    composed = [p for p in cat.check() if p.path == "(composed)"]
    assert {p.file for p in composed} == {f"modules/{s}/v1.yaml" for s in cat.sectors}
    assert all("methodology v1 has problems of its own" in p.message for p in composed)


def test_a_region_naming_an_unknown_default_sector_is_refused_naming_the_file(library):
    edit(
        library / "regions" / "jilin_city.yaml",
        "{id: carbon_fibre, default_sector: textiles,",
        "{id: carbon_fibre, default_sector: carbon_fibre,",
    )
    cat = load_catalog(library)
    assert [(p.file, p.path) for p in cat.problems] == [
        ("regions/jilin_city.yaml", "clusters[carbon_fibre].default_sector")
    ]
    assert "unknown sector 'carbon_fibre'" in cat.problems[0].message
    assert "jilin_city" not in cat.regions
    assert cat.check() == cat.problems, "reported once: not again as a region missing from the lock"


def test_a_region_may_default_a_cluster_to_a_new_sector(library):
    add_sector(library)
    edit(
        library / "regions" / "jilin_city.yaml",
        "{id: carbon_fibre, default_sector: textiles,",
        f"{{id: carbon_fibre, default_sector: {NEW},",
    )
    cat = load_catalog(library)
    assert cat.problems == []
    clusters = {c.id: c.default_sector for c in cat.regions["jilin_city"].clusters}
    assert clusters["carbon_fibre"] == NEW


@pytest.mark.parametrize("bad", ["Pharma-Devices", "9pharma", "pharma devices", "default"])
def test_a_sector_id_must_be_a_safe_identifier(library, bad):
    path = add_sector(library, sector_id=bad, folder=bad)
    cat = load_catalog(library)
    rel = path.relative_to(library).as_posix()
    assert [(p.file, p.path) for p in cat.problems] == [(rel, "sector.id")]
    assert bad not in cat.sectors


def test_a_broken_module_file_is_reported_once_not_again_through_the_methodology(library):
    path = add_sector(library)
    edit(path, "version: 1\n", "version: 1\nsurprise: true\n")
    edit(
        library / "methodology" / "v1.yaml",
        "  default: {rd: 0.25, production: 0.30, management: 0.25, marketing: 0.20}\n",
        "  default: {rd: 0.25, production: 0.30, management: 0.25, marketing: 0.20}\n"
        f"  {NEW}: {{rd: 0.30, production: 0.30, management: 0.20, marketing: 0.20}}\n",
    )
    cat = load_catalog(library)
    assert [(p.file, p.path) for p in cat.problems] == [(f"modules/{NEW}/v1.yaml", "surprise")]
    assert 1 in cat.methodologies
