"""The shipped questionnaire library: content rules, versions and the lock file."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from assess.questionnaire.catalog import default_root, load_catalog, write_lock
from assess.questionnaire.schema import LINKS
from tests.conftest import SECTORS

# What DOMAIN.md §4 says each sector module asks about, as words that must appear in it.
SECTOR_TOPICS = {
    "petrochemicals": [
        "DCS",
        "APC",
        "SIS",
        "重大危险源",
        "CEMS",
        "LDAR",
        "实时数据库",
        "能源",
        "LIMS",
        "副产品",
    ],
    "auto": [
        "冲压",
        "焊接",
        "涂装",
        "总装",
        "联网",
        "MES",
        "安灯",
        "PLM",
        "仿真",
        "EDI",
        "VIN",
        "SPC",
    ],
    "metallurgy": ["L1", "L2", "L3", "能源管控", "TRT", "在线", "预测性", "排放"],
    "food": ["HACCP", "追溯", "冷链", "LIMS", "配方", "电商"],
    "pharma": ["GMP", "追溯码", "批记录", "LIMS", "QMS", "医疗器械", "药物警戒"],
    "textiles": ["DCS", "纺丝", "落筒", "检测", "MES", "能源"],
    "general": ["数控", "联网", "APS", "SPC"],
}


def test_the_shipped_library_passes_its_own_check(catalog):
    assert catalog.check() == []


def test_all_seven_sectors_are_published(catalog):
    assert catalog.sectors == tuple(sorted(SECTOR_TOPICS))


@pytest.mark.parametrize("sector", SECTORS)
def test_each_questionnaire_rates_all_four_links(catalog, sector):
    q = catalog.compose(sector)
    scored = [x for x in q.questions if x.is_scored]
    assert len(scored) >= 45
    per_link = Counter(x.link for x in scored if x.link)
    for link in LINKS:
        assert per_link[link] >= 6, link
        assert any(getattr(x, "key_system", None) and x.link == link for x in scored), link


@pytest.mark.parametrize("sector", SECTORS)
def test_each_sector_module_asks_what_the_sector_needs(catalog, sector):
    module = catalog.modules[sector][1]
    questions = [x for s in module.sections for x in s.questions]
    scored = [x for x in questions if x.is_scored]
    assert len(scored) >= 12
    assert all(x.id.startswith(sector + ".") for x in questions)
    text = json.dumps(module.model_dump(mode="json"), ensure_ascii=False)
    missing = [t for t in SECTOR_TOPICS[sector] if t not in text]
    assert missing == []
    assert Counter(x.link for x in scored).most_common(1)[0][0] == "production"


def test_every_question_has_both_languages_and_a_computation_help(catalog):
    for sector in SECTORS:
        for x in catalog.compose(sector).questions:
            assert x.text.zh and x.text.en and x.help.zh and x.help.en, x.id
            assert len(x.help.zh) >= 8, x.id


def test_national_indicators_read_core_questions(catalog):
    m = catalog.methodologies[1]
    wanted = {
        "digital_rd_tools",
        "key_process_nc_rate",
        "digital_management",
        "erp_uptake",
        "mes_uptake",
        "plm_uptake",
        "scm_uptake",
        "ecommerce_uptake",
    }
    assert wanted <= {i.id for i in m.national_indicators}
    for ind in m.national_indicators:
        assert ind.question.startswith("core.")
        for ref in ind.references:
            assert ref.caliber.zh and ref.date and ref.source


def test_methodology_defaults_match_the_documented_values(catalog):
    m = catalog.methodologies[1]
    assert {a.id: a.weight for a in m.aspects} == {
        "infrastructure": 0.15,
        "single_app": 0.45,
        "integration": 0.20,
        "collaboration": 0.10,
        "competitiveness": 0.10,
    }
    assert m.it_adoption.min_links == 3
    assert [r.stage for r in m.stages.rules] == [
        "undetermined",
        "innovation",
        "integration",
        "single_coverage",
        "initial",
    ]
    lw = m.link_weights
    for process in ("petrochemicals", "metallurgy", "textiles"):
        weights = lw[process].model_dump()
        assert max(weights, key=weights.get) == "production"
    for trace in ("food", "pharma"):
        assert lw[trace].marketing > lw["default"].marketing


def test_the_jilin_region_has_nine_clusters_six_parks_and_the_targets(catalog):
    r = catalog.regions["jilin_city"]
    assert len(r.clusters) == 9 and len(r.parks) == 6
    assert {c.name.zh: c.default_sector for c in r.clusters}["碳纤维"] == "textiles"
    assert {c.default_sector for c in r.clusters} <= set(SECTORS)
    t = r.targets
    assert (t.adoption_baseline.year, t.adoption_baseline.rate) == (2013, 0.5)
    assert (t.adoption_goal.year, t.adoption_goal.rate) == (2020, 0.7)
    assert (t.demo_enterprises_per_cluster_min, t.demo_enterprises_per_cluster_max) == (5, 8)
    assert t.key_projects_per_year == 30


@pytest.fixture
def library(tmp_path: Path) -> Path:
    dest = tmp_path / "questionnaires"
    shutil.copytree(default_root(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest


def test_editing_a_published_version_is_caught(library):
    path = library / "modules" / "food" / "v1.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("weight: 2", "weight: 3", 1), encoding="utf-8")
    problems = load_catalog(library).check()
    assert [(p.file, p.path) for p in problems] == [("lock.json", "food@1")]
    assert "immutable" in problems[0].message


def test_editing_the_methodology_is_caught_in_every_sector(library):
    path = library / "methodology" / "v1.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("value: 75", "value: 70"), encoding="utf-8"
    )
    problems = load_catalog(library).check()
    assert sorted(p.path for p in problems) == sorted(f"{s}@1" for s in SECTORS)


def test_comments_and_layout_are_not_edits(library):
    path = library / "core" / "v1.yaml"
    path.write_text("# a comment\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_catalog(library).check() == []


def test_a_new_version_must_be_locked_before_it_counts(library):
    src = library / "modules" / "auto" / "v1.yaml"
    (library / "modules" / "auto" / "v3.yaml").write_text(
        src.read_text(encoding="utf-8").replace("version: 1\n", "version: 3\n", 1), encoding="utf-8"
    )
    problems = load_catalog(library).check()
    assert [(p.path, "not locked" in p.message) for p in problems] == [("auto@3", True)]
    cat = load_catalog(library)
    assert cat.compose("auto").version == 3 and cat.compose("auto", 1).version == 1


def test_file_problems_are_reported_with_a_readable_path(library):
    path = library / "modules" / "pharma" / "v1.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("type: percentage", "type: percent", 1).replace(
        "score: 1,", "score: 1.5,", 1
    )
    path.write_text(text, encoding="utf-8")
    problems = [p for p in load_catalog(library).check() if p.file != "lock.json"]
    rendered = [str(p) for p in problems]
    assert rendered, "the broken file must be reported"
    assert all(r.startswith("modules/pharma/v1.yaml: sections[") for r in rendered)
    assert any("questions[pharma." in r and "percent" in r for r in rendered)


def test_duplicate_yaml_keys_are_refused(library):
    path = library / "regions" / "jilin_city.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "period_end: 2025\n", encoding="utf-8")
    problems = load_catalog(library).problems
    assert [p.file for p in problems] == ["regions/jilin_city.yaml"]
    assert problems[0].path.startswith("line ")
    assert "duplicate key 'period_end'" in problems[0].message


def test_a_scored_question_cannot_hang_on_a_scored_answer(library):
    path = library / "modules" / "general" / "v1.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = next(
        q
        for s in data["sections"]
        for q in s["questions"]
        if q.get("scored", True) and q["type"] not in ("text", "evidence") and not q.get("show_if")
    )
    target["show_if"] = [{"question": "core.mgmt.erp", "any_of": ["C", "D", "E"]}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = load_catalog(library).check()
    assert [p.file for p in problems] == ["modules/general/v1.yaml"]
    assert f"{target['id']}: a scored question may only depend on unscored" in problems[0].message


def test_a_module_may_gate_an_unscored_question_on_a_core_answer(library):
    path = library / "modules" / "general" / "v1.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sections"][0]["questions"].append(
        {
            "id": "general.notes.erp_detail",
            "type": "text",
            "required": False,
            "text": {"zh": "ERP 说明", "en": "ERP notes"},
            "help": {"zh": "简述 ERP 覆盖的业务范围", "en": "What the ERP covers"},
            "show_if": [{"question": "core.mgmt.erp", "any_of": ["C", "D", "E"]}],
        }
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = load_catalog(library).check()
    assert [(p.file, p.path) for p in problems] == [("lock.json", "general@1")]


# The hashes published before region profiles joined the lock. Never edit these lines: a published
# version is immutable, and this proves the lock's questionnaire entries stayed byte-identical.
PUBLISHED_V1 = {
    "auto@1": "sha256:b7cc5b537d6f89e51761999fa9e78adf9611e0b2b97edac980579409a0f08a2d",
    "food@1": "sha256:876e225cde86db328223f8f1e9d629508d752b667e4e8d679ef40e1a4f6bee94",
    "general@1": "sha256:c31da282e8f7c2a13d883a0d3be097b2d2bfd19ce3da396e917314e5df97d927",
    "metallurgy@1": "sha256:719b4d389436fc71384853207419b4d6237bae66469481c2261207e4fa4c6997",
    "petrochemicals@1": "sha256:7b46b99aae6fac45045f26943773fb3eb242a82d766ec09631b782f2617528c2",
    "pharma@1": "sha256:c752af8349b625eae17dc66d1722f40f0e9f6f6641ce913f3fa746ae7a8fda98",
    "textiles@1": "sha256:946d6678e8c0add12880f56cdb141f6de4636cb53fa8346bf60e29b0e4da664c",
}


def test_published_questionnaire_hashes_never_change(catalog):
    text = (default_root() / "lock.json").read_text(encoding="utf-8")
    locked = json.loads(text)["questionnaires"]
    assert {k: locked[k] for k in PUBLISHED_V1} == PUBLISHED_V1
    for key, digest in PUBLISHED_V1.items():
        assert f'"{key}": "{digest}"' in text
        sector, version = key.split("@")
        assert catalog.compose(sector, int(version)).content_hash == digest


def test_the_region_profile_is_locked(catalog):
    assert catalog.region_lock == catalog.region_hashes()
    assert set(catalog.region_lock) == {"jilin_city", "jilin_city@2"}


def test_editing_a_published_region_profile_is_caught(library):
    path = library / "regions" / "jilin_city.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "key_projects_per_year: 30", "key_projects_per_year: 31"
        ),
        encoding="utf-8",
    )
    problems = load_catalog(library).check()
    assert [(p.file, p.path) for p in problems] == [("lock.json", "regions.jilin_city")]
    assert "immutable" in problems[0].message and "new region" in problems[0].message


def test_region_comments_and_layout_are_not_edits(library):
    path = library / "regions" / "jilin_city.yaml"
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_catalog(library).check() == []


def test_a_new_region_must_be_locked_and_locking_it_changes_no_entry(library):
    src = library / "regions" / "jilin_city.yaml"
    (library / "regions" / "changchun.yaml").write_text(
        src.read_text(encoding="utf-8").replace("id: jilin_city", "id: changchun", 1),
        encoding="utf-8",
    )
    before = json.loads((library / "lock.json").read_text(encoding="utf-8"))
    cat = load_catalog(library)
    assert [(p.path, "not locked" in p.message) for p in cat.check()] == [
        ("regions.changchun", True)
    ]
    assert write_lock(cat) == ["regions.changchun"]
    after = json.loads((library / "lock.json").read_text(encoding="utf-8"))
    assert after["questionnaires"] == before["questionnaires"]
    assert after["regions"] == before["regions"] | {"changchun": cat.region_hashes()["changchun"]}
    assert load_catalog(library).check() == []
    assert write_lock(load_catalog(library)) == []


def test_a_locked_region_without_its_file_is_reported(library):
    (library / "regions" / "jilin_city.yaml").unlink()
    problems = load_catalog(library).check()
    assert [(p.file, p.path, p.message) for p in problems] == [
        ("regions/jilin_city/v2.yaml", "region", "no region profile regions/jilin_city.yaml"),
        ("lock.json", "regions.jilin_city", "locked region profile has no file any more"),
    ]


NOTES = "regions/jilin_city/v2.yaml"


def _edit_notes(library: Path, edit) -> None:
    path = library / NOTES
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_a_region_s_notes_name_questions_and_options_of_their_version(library):
    cat = load_catalog(library)
    notes = cat.region_notes("jilin_city", 2)
    assert ("food.mkt.online_channels", "regional") in notes
    assert "吉林大米" in notes[("food.mkt.consumer_code", None)].zh
    assert cat.region_notes("jilin_city", 1) == {} and cat.region_notes("nowhere", 2) == {}

    def wrong(doc):
        doc["notes"][0]["question"] = "food.mkt.trace_platform"  # asked in version 1 only
        doc["notes"][1]["option"] = "jilin"

    _edit_notes(library, wrong)
    problems = [(p.file, p.path, p.message) for p in load_catalog(library).check()]
    assert problems == [
        (
            NOTES,
            "notes[0].question",
            "no questionnaire of version 2 asks 'food.mkt.trace_platform'",
        ),
        (NOTES, "notes[1].option", "food.mkt.online_channels has no option 'jilin'"),
        ("lock.json", "regions.jilin_city@2", problems[2][2]),
    ]
    assert problems[2][2].startswith("published region notes changed")


def test_published_region_notes_are_locked_and_never_change(library):
    def publish(doc):
        doc.pop("draft", None)

    _edit_notes(library, publish)
    lock = json.loads((library / "lock.json").read_text(encoding="utf-8"))
    lock["regions"].pop("jilin_city@2", None)  # as before the notes were published
    (library / "lock.json").write_text(json.dumps(lock), encoding="utf-8")
    cat = load_catalog(library)
    assert [(p.path, p.message) for p in cat.check()] == [
        (
            "regions.jilin_city@2",
            "region notes not locked: publish it with `assess questionnaires lock`",
        )
    ]
    assert write_lock(cat) == ["regions.jilin_city@2"]
    assert load_catalog(library).check() == []

    def edit(doc):
        doc["notes"][0]["text"]["zh"] = "改过的说明"

    _edit_notes(library, edit)
    [problem] = load_catalog(library).check()
    assert problem.path == "regions.jilin_city@2"
    assert problem.message.startswith("published region notes changed")

    def draft_again(doc):
        doc["notes"][0]["text"]["zh"] = "改过的说明"
        doc["draft"] = True

    _edit_notes(library, draft_again)
    [problem] = load_catalog(library).check()
    assert problem.message == "locked region notes marked as a draft again: remove the draft mark"


def test_a_lock_file_from_before_regions_reports_the_region_as_unlocked(library):
    path = library / "lock.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["regions"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    problems = load_catalog(library).check()
    assert [(p.path, "not locked" in p.message) for p in problems] == [
        ("regions.jilin_city", True),
        ("regions.jilin_city@2", True),
    ]
