"""The cluster dashboard as an Excel download: the same figures as its JSON, every member, the
same access rules, hidden figures left empty with a note, and a file LibreOffice reads too.

The region view and the screening list as Excel downloads: every figure of the clusters' sheet
equals the region's JSON, a small cluster is empty with its note for a manager, the screening
sheet holds the whole list (every page) in order and never another cluster's firm.

One demo population (60 firms, 2013–2020) is built for the module, with two changes: four firms
(two of fine chemicals, two of auto) have their 2020 assessment filed under 2021 instead, so that
2021 is a year in which fewer than MIN_GROUP firms of the whole region were assessed; and every
score of SCREEN_YEAR records a failed consistency check, so that that year's screening list runs
over more than one page.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session, col, select, update

from assess.accounts.users import create_user
from assess.analytics import exports, frame, region_view, screen, views
from assess.analytics.privacy import MIN_GROUP
from assess.analytics.vocabulary import analytics_rules, methodology
from assess.demo import build_demo
from assess.settings import Settings
from assess.store import db
from assess.store.models import Assessment, Cluster, Enterprise, ScoreRecord, User
from tests.databases import migrated
from tests.web.conftest import FAST, PASSWORD, sign_in
from web import create_app
from web.routes import exports as export_routes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPARSE_YEAR = 2021
SCREEN_YEAR = 2018
HIDDEN_NOTE = f"不予显示（少于{MIN_GROUP}家）"
SHEETS = [
    "说明",
    "关键数字",
    "应用率趋势",
    "总体水平分布",
    "发展阶段",
    "四个环节",
    "临界企业",
    "国家指标",
    "成员企业",
]


# --- The population and the app ------------------------------------------------------------------


def _file_under_a_sparse_year(s: Session, clusters: dict[str, int]) -> list[int]:
    """File the 2020 assessment of two fine-chemicals and two auto firms under SPARSE_YEAR."""
    moved: list[int] = []
    for code in ("fine_chem", "auto"):
        firms = s.exec(
            select(Enterprise.id)
            .where(Enterprise.cluster_id == clusters[code])
            .order_by(col(Enterprise.id))
        ).all()
        ids = s.exec(
            select(Assessment.id)
            .where(col(Assessment.enterprise_id).in_(firms), Assessment.year == 2020)
            .order_by(col(Assessment.id))
            .limit(2)
        ).all()
        assert len(ids) == 2
        moved += [i for i in ids if i is not None]
    s.exec(update(Assessment).where(col(Assessment.id).in_(moved)).values(year=SPARSE_YEAR))
    return moved


def _fail_a_check_in_every_score_of(s: Session, year: int) -> None:
    """Record one failed consistency check on every score of ``year``: each is then flagged."""
    of_year = select(Assessment.id).where(Assessment.year == year)
    s.exec(update(ScoreRecord).where(col(ScoreRecord.assessment_id).in_(of_year)).values(flags=1))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """A migrated SQLite file with the demo population and a user per role we need."""
    url = f"sqlite:///{tmp_path_factory.mktemp('exports') / 'exports.db'}"
    migrated(url)
    eng = db.make_engine(url)
    with Session(eng) as s:
        build_demo(s, enterprises=60, processes=1)
        clusters = {c.code: c.id for c in s.exec(select(Cluster)) if c.id is not None}
        firm = s.exec(select(Enterprise).where(Enterprise.cluster_id == clusters["fine_chem"]))
        accounts: list[tuple[str, dict[str, Any]]] = [
            ("x-manager", dict(role="cluster_manager", cluster_ids=[clusters["fine_chem"]])),
            ("x-manager-en", dict(role="cluster_manager", cluster_ids=[clusters["fine_chem"]])),
            ("x-manager-auto", dict(role="cluster_manager", cluster_ids=[clusters["auto"]])),
            ("x-admin", dict(role="admin")),
            ("x-firm", dict(role="enterprise", enterprise_id=firm.first().id)),  # type: ignore[union-attr]
        ]
        for name, kw in accounts:
            locale = "en" if name.endswith("-en") else "zh_CN"
            create_user(s, username=name, password=PASSWORD, hasher=FAST, locale=locale, **kw)
        _file_under_a_sparse_year(s, clusters)
        _fail_a_check_in_every_score_of(s, SCREEN_YEAR)
        s.commit()
    frame.clear_cache()
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def app(engine: sa.Engine) -> FastAPI:
    settings = Settings(secret_key="test-secret-key-for-the-export-tests-0123456789")
    application = create_app(settings, engine=engine)
    if not any(getattr(r, "name", None) == "cluster_xlsx" for r in application.routes):
        application.include_router(export_routes.router)
    return application


@pytest.fixture(scope="module")
def clients(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    """A signed-in client per account (and one signed out)."""
    with ExitStack() as stack:
        out: dict[str, TestClient] = {}
        for who in ("x-manager", "x-manager-en", "x-manager-auto", "x-admin", "x-firm", ""):
            c = stack.enter_context(
                TestClient(app, raise_server_exceptions=False, follow_redirects=False)
            )
            if who:
                sign_in(c, who)
            out[who or "anonymous"] = c
        yield out


# --- Reading a workbook --------------------------------------------------------------------------


def _download(client: TestClient, query: str = "") -> openpyxl.Workbook:
    r = client.get(f"/cluster.xlsx?{query}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(r.content))


def _json(client: TestClient, query: str = "") -> dict[str, Any]:
    r = client.get(f"/cluster.json?{query}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _table(ws: Worksheet) -> list[dict[str, Any]]:
    """A sheet's rows as dictionaries by header."""
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def _cover(wb: openpyxl.Workbook) -> dict[str, str]:
    return {str(k): str(v) for k, v in wb["说明"].iter_rows(min_row=4, values_only=True)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- The tests -----------------------------------------------------------------------------------

FILTERS = [
    ("x-manager", ""),
    ("x-manager", "year=2019&kind=self"),
    ("x-admin", "cluster=auto&year=2018"),
    ("x-admin", ""),
]


def test_the_workbook_has_a_cover_and_one_sheet_per_table_in_order(clients):
    wb = _download(clients["x-manager"])
    assert wb.sheetnames == SHEETS
    assert wb["说明"]["A1"].value == "集群两化融合数据导出"
    for name in SHEETS[1:]:
        ws = wb[name]
        assert ws.freeze_panes == "A2", name
        assert all(cell.font.bold for cell in ws[1]), name


def test_the_cover_names_the_filters_the_versions_and_the_rules(clients):
    wb = _download(clients["x-admin"], "cluster=fine_chem&year=2019&kind=self")
    cover = _cover(wb)
    assert cover["集群"] == "精细化工"
    assert cover["年度"] == "2019"
    assert cover["园区"] == "全部园区"
    assert cover["行业"] == "全部行业"
    assert cover["规模"] == "全部规模"
    assert cover["评分类型"] == "企业自评"
    assert cover["问卷版本"] == "第1版"
    assert cover["问卷换版年度"] == "无"
    assert cover["评估方法版本"] == f"第{methodology().version}版"
    rules = analytics_rules()
    assert cover["分析规则版本"] == (
        f"第{rules.version}版（{'草案（尚未发布）' if rules.draft else '已发布'}）"
    )
    assert f"少于{MIN_GROUP}家" in cover["隐私保护"]
    assert "全国企业均值" in cover["全国参考值口径"]  # the overall level's national caliber
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d（北京时间，UTC\+8）", cover["导出时间"])


def test_the_cover_tells_a_version_change_and_the_latest_year_when_none_is_chosen(clients):
    cover = _cover(_download(clients["x-manager"]))
    assert cover["年度"] == f"最新有数据的年度（{SPARSE_YEAR}）"
    assert cover["问卷版本"] == "第1版、第2版"
    assert cover["问卷换版年度"] == "2020"


def test_the_cover_names_a_chosen_park_sector_and_size_in_words(engine):
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.username == "x-admin")).one()
        d = views.cluster_dashboard(s, admin, views.Filters(year=2019))
    park, sector, size = d.choices.parks[-1], d.choices.sectors[0], d.choices.sizes[0]
    narrowed = replace(
        d, filters=replace(d.filters, park=park.code, sector=sector.code, size=size.code)
    )
    cover = _cover(openpyxl.load_workbook(io.BytesIO(exports.dashboard_workbook(narrowed, []))))
    assert (cover["园区"], cover["行业"], cover["规模"]) == (
        park.name[0],
        sector.name[0],
        size.name[0],
    )
    assert "全部" not in cover["园区"] + cover["行业"] + cover["规模"]


def test_the_export_time_is_china_time(engine):
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.username == "x-admin")).one()
        d = views.cluster_dashboard(s, admin, views.Filters(year=2019))
        data = exports.dashboard_workbook(d, [], now=datetime(2026, 11, 30, 7, 20, tzinfo=UTC))
    cover = _cover(openpyxl.load_workbook(io.BytesIO(data)))
    assert cover["导出时间"].startswith("2026-11-30 15:20")


@pytest.mark.parametrize(("who", "query"), FILTERS)
def test_key_figures_equal_the_dashboard_json(clients, who, query):
    wb = _download(clients[who], query)
    d = _json(clients[who], query)
    rows = _table(wb["关键数字"])
    assert len(rows) == len(exports.TILE_ROWS)
    expected = dict(d["tiles"])
    expected["near_rate_if"] = d["near_rate_if"]
    expected["projected_year"] = d["trajectory"]["projected_year"]
    for row, (key, label, _) in zip(rows, exports.TILE_ROWS, strict=True):
        assert row["指标"] == exports.TEXT[label][0]
        assert row["数值"] == expected[key], key
        assert row["数值"] is None or _is_number(row["数值"]), key


@pytest.mark.parametrize(("who", "query"), FILTERS)
def test_the_four_links_equal_the_dashboard_json(clients, who, query):
    wb = _download(clients[who], query)
    d = _json(clients[who], query)
    rows = _table(wb["四个环节"])
    assert [r["环节"] for r in rows] == [link["name"][0] for link in d["links"]]
    for row, link in zip(rows, d["links"], strict=True):
        assert row["本集群中位数"] == link["median"]
        assert row["本集群企业数"] == link["n"]
        assert row["全地区中位数"] == link["region_median"]
        assert row["全地区企业数"] == link["region_n"]
        assert all(_is_number(row[k]) for k in ("本集群中位数", "本集群企业数", "全地区企业数"))


@pytest.mark.parametrize(("who", "query"), FILTERS)
def test_the_adoption_trend_equals_the_dashboard_json(clients, who, query):
    wb = _download(clients[who], query)
    t = _json(clients[who], query)["trajectory"]
    rows = _table(wb["应用率趋势"])
    assert [r["年度"] for r in rows] == t["span"]
    observed = {y: i for i, y in enumerate(t["years"])}
    for j, row in enumerate(rows):
        assert row["规划路径（%）"] == t["glide"][j]
        assert row["趋势（%）"] == t["fitted"][j]
        assert row["预测区间下限（%）"] == t["lower"][j]
        assert row["预测区间上限（%）"] == t["upper"][j]
        i = observed.get(row["年度"])
        if i is None:
            assert (row["评估企业数"], row["应用企业数"], row["应用率（%）"]) == (None, None, None)
            continue
        assert row["评估企业数"] == t["counts"][i]
        assert row["应用企业数"] == t["adopters"][i]
        assert row["应用率（%）"] == t["rates"][i]
        assert _is_number(row["应用率（%）"])
        versions = t["versions"]["by_year"][str(row["年度"])]
        assert row["问卷版本"] == "、".join(f"第{v}版" for v in versions)


def test_levels_and_stages_by_year_equal_the_dashboard_json(clients):
    wb = _download(clients["x-manager"], "year=2019")
    d = _json(clients["x-manager"], "year=2019")
    boxes = _table(wb["总体水平分布"])
    stages = _table(wb["发展阶段"])
    assert [r["年度"] for r in boxes] == [b["year"] for b in d["boxes"]]
    for box, stage, b in zip(boxes, stages, d["boxes"], strict=True):
        got = [box[k] for k in ("最低", "下四分位数", "中位数", "上四分位数", "最高")]
        assert got == b["box"]
        assert box["企业数"] == b["n"] == stage["企业数"]
        by_name = {d["stage_names"][s][0]: n for s, n in b["stages"].items()}
        assert {k: stage[k] for k in by_name} == by_name


def test_figures_are_numeric_cells_with_one_decimal_for_levels_and_percentages(clients):
    wb = _download(clients["x-manager"], "year=2019")
    one_decimal = {
        "应用率趋势": ["应用率（%）", "规划路径（%）", "趋势（%）"],
        "总体水平分布": ["最低", "中位数", "最高"],
        "四个环节": ["本集群中位数", "全地区中位数"],
        "成员企业": ["总体水平", "较上年变化", "行业内百分位"],
        "国家指标": ["数值", "全国参考值1"],
    }
    for sheet, headers in one_decimal.items():
        ws = wb[sheet]
        names = [c.value for c in ws[1]]
        for header in headers:
            column = names.index(header) + 1
            cells = [ws.cell(row=r, column=column) for r in range(2, ws.max_row + 1)]
            filled = [c for c in cells if c.value is not None]
            assert filled, (sheet, header)
            assert all(c.data_type == "n" and _is_number(c.value) for c in filled), (sheet, header)
            assert all(c.number_format == "0.0" for c in filled), (sheet, header)
    counts = wb["四个环节"]
    assert all(counts.cell(row=r, column=3).data_type == "n" for r in range(2, counts.max_row + 1))


@pytest.mark.parametrize(
    ("who", "query"), [("x-manager", ""), ("x-admin", ""), ("x-admin", "year=2016")]
)
def test_the_member_sheet_holds_exactly_the_members_of_the_member_table(clients, who, query):
    first = clients[who].get(f"/cluster/members.json?{query}").json()
    names: list[str] = []
    for page in range(1, first["total"] // first["size"] + 2):
        names += [
            r["name"]
            for r in clients[who].get(f"/cluster/members.json?{query}&page={page}").json()["rows"]
        ]
    rows = _table(_download(clients[who], query)["成员企业"])
    assert len(rows) == first["total"] == len(names)
    assert sorted(r["企业名称"] for r in rows) == sorted(names)
    if who == "x-admin" and not query:
        assert first["total"] > views.MEMBER_PAGE_SIZE  # more than one page was read


def test_a_member_row_carries_the_member_tables_figures(clients):
    page = clients["x-manager"].get("/cluster/members.json?year=2019").json()["rows"][0]
    rows = {
        r["企业名称"]: r for r in _table(_download(clients["x-manager"], "year=2019")["成员企业"])
    }
    row = rows[page["name"]]
    assert row["集群"] == page["cluster"][0]
    assert row["最近评估年度"] == page["year"]
    assert row["总体水平"] == page["overall"]
    assert row["较上年变化"] == page["change"]
    assert row["行业内百分位"] == page["percentile"]
    assert row["信息技术应用企业"] == ("是" if page["adopter"] else "否")


def test_a_manager_asking_for_a_cluster_not_theirs_gets_the_dashboards_404(clients):
    assert clients["x-manager-auto"].get("/cluster.json?cluster=fine_chem").status_code == 404
    r = clients["x-manager-auto"].get("/cluster.xlsx?cluster=fine_chem")
    assert r.status_code == 404
    assert r.headers["content-type"] != XLSX
    assert clients["x-manager"].get("/cluster.xlsx?cluster=fine_chem").status_code == 200


def test_only_managers_and_administrators_may_download(clients):
    assert clients["x-firm"].get("/cluster.xlsx").status_code == 403
    assert clients["anonymous"].get("/cluster.xlsx").status_code in (303, 401)
    assert clients["x-admin"].get("/cluster.xlsx").status_code == 200


def test_a_malformed_filter_is_refused_as_on_the_dashboard(clients):
    r = clients["x-manager"].get("/cluster.xlsx?year=19x")
    assert r.status_code == clients["x-manager"].get("/cluster.json?year=19x").status_code
    assert r.status_code >= 400


def test_the_download_is_offered_under_a_chinese_name(clients):
    r = clients["x-manager"].get("/cluster.xlsx?cluster=fine_chem&year=2019")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert encoded is not None
    assert unquote(encoded.group(1)) == "集群看板_精细化工_2019.xlsx"
    assert disposition.isascii()


def test_an_english_session_gets_english_sheets_and_headers(clients):
    r = clients["x-manager-en"].get("/cluster.xlsx?year=2019")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[:2] == ["About", "Key figures"]
    assert [c.value for c in wb["Four links"][1]][:4] == [
        "Link",
        "Median, these clusters",
        "Firms, these clusters",
        "Median, region",
    ]
    assert "cluster_dashboard_Fine_chemicals_2019.xlsx" in r.headers["content-disposition"]


def test_a_region_median_over_too_few_firms_is_an_empty_cell_with_a_note(clients):
    query = f"year={SPARSE_YEAR}"
    links = _json(clients["x-manager"], query)["links"]
    assert all(link["region_n"] == 4 and link["region_median"] is None for link in links)
    rows = _table(_download(clients["x-manager"], query)["四个环节"])
    for row in rows:
        assert row["全地区中位数"] is None
        assert row["全地区企业数"] == 4
        assert _is_number(row["本集群中位数"])  # the manager's own two firms they may see
        assert HIDDEN_NOTE in row["说明"]
    # The administrator may see every firm: the same figure is there for them.
    for row in _table(_download(clients["x-admin"], query)["四个环节"]):
        assert _is_number(row["全地区中位数"])
        assert not row["说明"]


def test_a_percentile_among_too_few_peers_is_an_empty_cell_with_a_note(clients):
    rows = _table(_download(clients["x-manager"], f"year={SPARSE_YEAR}")["成员企业"])
    sparse = [r for r in rows if r["最近评估年度"] == SPARSE_YEAR]
    assert len(sparse) == 2
    for row in sparse:
        assert row["行业内百分位"] is None
        assert HIDDEN_NOTE in row["说明"]
    assert any(_is_number(r["行业内百分位"]) and not r["说明"] for r in rows)


def test_figures_hidden_from_a_viewer_are_noted_not_zero(engine):
    """A tile the view hides (its rate is missing though firms were assessed) is left empty."""
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.username == "x-admin")).one()
        d = views.cluster_dashboard(s, admin, views.Filters(year=2019))
    assert d.tiles is not None
    hidden = replace(d, tiles=replace(d.tiles, adopters=0, adoption_rate=None, gap=None))
    wb = openpyxl.load_workbook(io.BytesIO(exports.dashboard_workbook(hidden, [])))
    rows = {r["指标"]: r for r in _table(wb["关键数字"])}
    assert rows["信息技术应用企业数"]["数值"] is None
    assert HIDDEN_NOTE in rows["信息技术应用企业数"]["说明"]
    assert rows["当年已评估企业数"]["数值"] == d.tiles.assessed


# --- LibreOffice reads the same numbers -----------------------------------------------------------


def _csv_sheets(xlsx: Path, out: Path, names: list[str] = SHEETS) -> dict[str, list[list[str]]]:
    """Every sheet (``names``) of ``xlsx`` as LibreOffice exports it to CSV (UTF-8, values as
    stored)."""
    soffice = shutil.which("soffice")
    assert soffice is not None
    profile = out / "profile"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheets = {}
    for name in names:
        path = out / f"{xlsx.stem}-{name}.csv"
        with path.open(encoding="utf-8", newline="") as f:
            sheets[name] = list(csv.reader(f))
    return sheets


def _same(text: str, value: Any) -> bool:
    if value is None:
        return text == ""
    if _is_number(value):
        return text != "" and float(text) == float(value)
    return text == str(value)


def test_libreoffice_reads_the_same_numbers(clients, tmp_path):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot check the file opens there")
    r = clients["x-manager"].get("/cluster.xlsx?year=2019")
    xlsx = tmp_path / "dashboard.xlsx"
    xlsx.write_bytes(r.content)
    sheets = _csv_sheets(xlsx, tmp_path)
    wb = openpyxl.load_workbook(xlsx)
    for name in ("关键数字", "应用率趋势", "四个环节", "总体水平分布", "成员企业"):
        expected = [list(row) for row in wb[name].iter_rows(values_only=True)]
        got = sheets[name]
        assert len(got) == len(expected), name
        for got_row, want_row in zip(got, expected, strict=True):
            for text, value in zip(got_row, want_row, strict=True):
                assert _same(text, value), (name, got_row, want_row)
    tiles = {row[0]: row[1] for row in sheets["关键数字"][1:]}
    assert (
        float(tiles["信息技术应用率"])
        == _json(clients["x-manager"], "year=2019")["tiles"]["adoption_rate"]
    )


# --- The region view as a workbook ---------------------------------------------------------------

REGION_SHEETS = ["说明", "各集群", "应用率热力图", "环节中位数", "国家指标"]
#: Header of a figure on the clusters' sheet → its field in the region's JSON.
REGION_NUMBERS = {
    "企业数": "n",
    "中位数": "median",
    "下四分位数": "q1",
    "上四分位数": "q3",
    "应用企业数": "adopters",
    "应用率（%）": "rate",
    "应用率较上年变化（百分点）": "change",
    "预计达到目标年度": "projected_year",
    "临界企业数": "near",
}
REGION_FILTERS = [
    ("x-manager", ""),
    ("x-manager", f"year={SPARSE_YEAR}"),
    ("x-manager-auto", "year=2019&size=20_299"),
    ("x-admin", "year=2019"),
    ("x-admin", f"year={SPARSE_YEAR}"),
]


def _xlsx(client: TestClient, path: str, query: str = "") -> openpyxl.Workbook:
    r = client.get(f"{path}?{query}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(r.content))


def _json_of(client: TestClient, path: str, query: str = "") -> dict[str, Any]:
    r = client.get(f"{path}?{query}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _region_groups(d: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """The rows the region's sheets hold, from its JSON: each cluster, then the total."""
    return [(r["name"][0], r["figures"]) for r in d["rows"]] + [("全部集群", d["total"])]


def _filename(r: Any) -> str:
    encoded = re.search(r"filename\*=UTF-8''(\S+)", r.headers["content-disposition"])
    assert encoded is not None
    return unquote(encoded.group(1))


def test_the_region_workbook_has_a_cover_and_one_sheet_per_table(clients):
    wb = _xlsx(clients["x-manager"], "/region.xlsx", "year=2019")
    assert wb.sheetnames == REGION_SHEETS
    for name in REGION_SHEETS[1:]:
        ws = wb[name]
        assert ws.freeze_panes == "A2", name
        assert all(cell.font.bold for cell in ws[1]), name
        assert ws.column_dimensions["A"].width >= 8, name


def test_the_region_cover_names_the_region_the_filters_the_versions_and_the_privacy_rule(clients):
    d = _json_of(clients["x-manager"], "/region.json", "year=2019&kind=self")
    wb = _xlsx(clients["x-manager"], "/region.xlsx", "year=2019&kind=self")
    assert wb["说明"]["A1"].value == "地区各集群两化融合数据导出"
    cover = _cover(wb)
    assert cover["地区"] == d["region"][0] != ""
    assert cover["年度"] == "2019"
    assert (cover["园区"], cover["行业"], cover["规模"]) == ("全部园区", "全部行业", "全部规模")
    assert cover["评分类型"] == "企业自评"
    assert cover["问卷版本"] == "第1版"
    assert cover["是否混用问卷版本"] == "否"
    assert cover["评估方法版本"] == f"第{methodology().version}版"
    rules = analytics_rules()
    assert cover["分析规则版本"] == (
        f"第{rules.version}版（{'草案（尚未发布）' if rules.draft else '已发布'}）"
    )
    assert f"少于{MIN_GROUP}家" in cover["隐私保护"]
    assert "汇总" in cover["查看范围"] and f"少于{MIN_GROUP}家" in cover["查看范围"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d（北京时间，UTC\+8）", cover["导出时间"])


def test_the_region_cover_tells_mixed_versions_and_the_latest_year_when_none_is_chosen(clients):
    cover = _cover(_xlsx(clients["x-admin"], "/region.xlsx"))
    assert cover["年度"] == f"最新有数据的年度（{SPARSE_YEAR}）"
    assert cover["问卷版本"] == "第1版、第2版"
    assert cover["是否混用问卷版本"].startswith("是")
    assert cover["问卷换版年度"] == "2020"


def test_the_region_export_time_is_china_time(engine):
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.username == "x-admin")).one()
        v = region_view.region_view(s, admin, views.Filters(year=2019))
    data = exports.region_workbook(v, now=datetime(2026, 11, 30, 23, 5, tzinfo=UTC))
    cover = _cover(openpyxl.load_workbook(io.BytesIO(data)))
    assert cover["导出时间"].startswith("2026-12-01 07:05")


@pytest.mark.parametrize(("who", "query"), REGION_FILTERS)
def test_every_figure_of_the_clusters_sheet_equals_the_region_json(clients, who, query):
    d = _json_of(clients[who], "/region.json", query)
    rows = _table(_xlsx(clients[who], "/region.xlsx", query)["各集群"])
    groups = _region_groups(d)
    stages = {s: name[0] for s, name in d["stages"].items()}
    assert [r["集群"] for r in rows] == [name for name, _ in groups]
    numeric = set(REGION_NUMBERS) | set(stages.values())
    # No figure column goes unchecked: the rest are the name, words and notes.
    assert set(rows[0]) - numeric <= {"集群", "目标进度", "本人管理的集群", "说明"}
    shown = 0
    for row, (name, g) in zip(rows, groups, strict=True):
        if g is None:
            assert all(row[h] is None for h in numeric | {"目标进度"}), name
            assert row["说明"], name
            continue
        shown += 1
        for header, key in REGION_NUMBERS.items():
            assert row[header] == g[key], (name, header)
            assert row[header] is None or _is_number(row[header]), (name, header)
        assert {stages[s]: k for s, k in g["stages"].items()} == {
            h: row[h] for h in stages.values()
        }
        assert row["目标进度"] == exports.TEXT[f"goal.{g['reason']}"][0]
        assert not row["说明"], name
    assert shown > 0


@pytest.mark.parametrize(("who", "query"), REGION_FILTERS)
def test_the_heatmap_link_and_indicator_sheets_equal_the_region_json(clients, who, query):
    d = _json_of(clients[who], "/region.json", query)
    wb = _xlsx(clients[who], "/region.xlsx", query)
    groups = _region_groups(d)
    years = [str(y) for y in d["years"] if y <= d["year"]]
    links = {link["name"][0]: link["code"] for link in d["links"]}
    indicators = {
        o["name"][0]
        + (f"（{d['indicator_units'][o['code']]}）" if d["indicator_units"][o["code"]] else ""): o[
            "code"
        ]
        for o in d["indicators"]
    }
    for sheet, field, columns in (
        ("应用率热力图", "rates", {y: y for y in years}),
        ("环节中位数", "links", links),
        ("国家指标", "indicators", indicators),
    ):
        rows = _table(wb[sheet])
        assert [c for c in rows[0] if c not in ("集群", "说明")] == list(columns), sheet
        assert [r["集群"] for r in rows] == [name for name, _ in groups], sheet
        for row, (name, g) in zip(rows, groups, strict=True):
            for header, key in columns.items():
                want = None if g is None else g[field].get(key)
                assert row[header] == want, (sheet, name, header)
                assert want is None or _is_number(row[header]), (sheet, name, header)
            assert bool(row["说明"]) == (g is None), (sheet, name)


def test_a_cluster_of_too_few_firms_is_empty_with_its_note_for_another_clusters_manager(clients):
    query = f"year={SPARSE_YEAR}"
    d = _json_of(clients["x-manager"], "/region.json", query)
    by_code = {r["code"]: r for r in d["rows"]}
    auto, fine = by_code["auto"], by_code["fine_chem"]
    assert auto["figures"] is None and 0 < auto["hidden"]["n"] < MIN_GROUP
    assert d["total"] is None
    wb = _xlsx(clients["x-manager"], "/region.xlsx", query)
    rows = {r["集群"]: r for r in _table(wb["各集群"])}
    hidden = rows[auto["name"][0]]
    assert all(hidden[h] is None for h in REGION_NUMBERS)
    assert hidden["说明"] == auto["hidden"]["zh"]
    assert f"少于 {MIN_GROUP} 家" in hidden["说明"]
    # The manager's own two firms they may see; the region's four they may not.
    mine = rows[fine["name"][0]]
    assert mine["企业数"] == 2 and _is_number(mine["中位数"]) and not mine["说明"]
    assert mine["本人管理的集群"] == "是"
    assert rows["全部集群"]["企业数"] is None
    assert HIDDEN_NOTE in rows["全部集群"]["说明"]
    for sheet in ("应用率热力图", "环节中位数", "国家指标"):
        row = {r["集群"]: r for r in _table(wb[sheet])}[auto["name"][0]]
        assert [v for k, v in row.items() if k not in ("集群", "说明")] == [None] * (len(row) - 2)
        assert row["说明"] == auto["hidden"]["zh"], sheet
    # The administrator sees the same cluster's figures.
    admin = {
        r["集群"]: r for r in _table(_xlsx(clients["x-admin"], "/region.xlsx", query)["各集群"])
    }
    assert admin[auto["name"][0]]["企业数"] == 2
    assert _is_number(admin[auto["name"][0]]["中位数"])
    assert admin["全部集群"]["企业数"] == 4


def test_a_size_filter_that_leaves_too_few_firms_hides_other_clusters_but_not_ones_own(clients):
    query = "year=2019&size=20_299"
    d = _json_of(clients["x-manager-auto"], "/region.json", query)
    small = [r for r in d["rows"] if r["figures"] is None and r["hidden"]["n"] > 0]
    assert small, "the filter should leave some cluster with fewer than MIN_GROUP firms"
    rows = {
        r["集群"]: r
        for r in _table(_xlsx(clients["x-manager-auto"], "/region.xlsx", query)["各集群"])
    }
    for r in small:
        assert rows[r["name"][0]]["企业数"] is None
        assert rows[r["name"][0]]["说明"] == r["hidden"]["zh"]
    own = [r for r in d["rows"] if r["own"]]
    assert [r["code"] for r in own] == ["auto"] and own[0]["figures"] is not None
    assert rows[own[0]["name"][0]]["企业数"] == own[0]["figures"]["n"]


def test_region_figures_are_numbers_with_one_decimal(clients):
    ws = _xlsx(clients["x-admin"], "/region.xlsx", "year=2019")["各集群"]
    header = [c.value for c in ws[1]]
    for name, fmt in (("中位数", "0.0"), ("应用率（%）", "0.0"), ("企业数", "0")):
        column = header.index(name) + 1
        cells = [ws.cell(row=r, column=column) for r in range(2, ws.max_row + 1)]
        assert all(c.data_type == "n" and c.number_format == fmt for c in cells), name
    heat = _xlsx(clients["x-admin"], "/region.xlsx", "year=2019")["应用率热力图"]
    assert heat.conditional_formatting, "the heatmap sheet is coloured like the page's"


def test_the_region_download_is_offered_under_a_chinese_name(clients):
    d = _json_of(clients["x-admin"], "/region.json", "year=2019")
    r = clients["x-admin"].get("/region.xlsx?year=2019")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["content-disposition"].isascii()
    assert _filename(r) == f"各集群对比_{d['region'][0]}_2019.xlsx"


def test_an_english_session_gets_an_english_region_workbook(clients):
    wb = _xlsx(clients["x-manager-en"], "/region.xlsx", "year=2019")
    assert wb.sheetnames == [
        "About",
        "Clusters",
        "Adoption heatmap",
        "Link medians",
        "National indicators",
    ]
    assert wb["Clusters"]["A1"].value == "Cluster"


# --- The screening list as a workbook ------------------------------------------------------------

SCREEN_QUERIES = [
    ("x-admin", f"year={SCREEN_YEAR}"),
    ("x-manager", f"year={SCREEN_YEAR}"),
    ("x-manager-auto", f"cluster=auto&year={SCREEN_YEAR}"),
    ("x-admin", "year=2020"),
    ("x-admin", ""),
]


def _screening_pages(client: TestClient, query: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first page of /screening.json and the rows of every page, in order."""
    first = _json_of(client, "/screening.json", query)
    rows = list(first["rows"])
    for page in range(2, first["pages"] + 1):
        rows += _json_of(client, "/screening.json", f"{query}&page={page}")["rows"]
    return first, rows


@pytest.mark.parametrize(("who", "query"), SCREEN_QUERIES)
def test_the_screening_sheet_holds_every_row_of_the_list_in_order(clients, who, query):
    first, expected = _screening_pages(clients[who], query)
    rows = _table(_xlsx(clients[who], "/screening.xlsx", query)["待核查"])
    assert len(rows) == first["total"] == len(expected)
    assert rows, "a list with nothing in it proves nothing"
    got = [(r["序号"], r["企业名称"], r["年度"], r["优先级"], r["离群分数"]) for r in rows]
    assert got == [(e["rank"], e["name"], e["year"], e["priority"], e["outlier"]) for e in expected]
    for row, e in zip(rows, expected, strict=True):
        assert (row["集群"], row["行业"]) == (e["cluster"][0], e["sector"][0])
        assert (row["原因"] or "").splitlines() == [
            f"{x['name'][0]}：{x['text'][0]}" for x in e["reasons"]
        ]
        assert _is_number(row["优先级"])
    if who == "x-admin" and query == f"year={SCREEN_YEAR}":
        assert first["pages"] > 1 and first["total"] > screen.SCREEN_PAGE_SIZE


def test_priorities_and_outlier_scores_are_numbers_with_two_decimals(clients, engine):
    ws = _xlsx(clients["x-admin"], "/screening.xlsx", f"year={SCREEN_YEAR}")["待核查"]
    header = [c.value for c in ws[1]]
    column = header.index("优先级") + 1
    cells = [ws.cell(row=r, column=column) for r in range(2, ws.max_row + 1)]
    assert cells and all(c.data_type == "n" and c.number_format == "0.00" for c in cells)
    # The demo's sectors are too small for an outlier score: give one row a score of its own.
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.username == "x-admin")).one()
        v = exports.all_screen_rows(s, admin, SCREEN_YEAR, None)
    scored = replace(v, rows=[replace(v.rows[0], outlier=0.73), *v.rows[1:]])
    ws = openpyxl.load_workbook(io.BytesIO(exports.screening_workbook(scored)))["待核查"]
    cell = ws.cell(row=2, column=header.index("离群分数") + 1)
    assert (cell.value, cell.data_type, cell.number_format) == (0.73, "n", "0.00")
    assert ws.cell(row=3, column=header.index("离群分数") + 1).value is None


def test_the_screening_cover_names_the_year_the_cluster_and_the_checks_in_force(clients):
    query = f"cluster=fine_chem&year={SCREEN_YEAR}"
    first = _json_of(clients["x-manager"], "/screening.json", query)
    cover = _cover(_xlsx(clients["x-manager"], "/screening.xlsx", query))
    rules = analytics_rules()
    assert cover["年度"] == str(SCREEN_YEAR)
    assert cover["集群"] == "精细化工"
    assert cover["查看范围"] == "精细化工"
    assert cover["分析规则版本"] == (
        f"第{rules.version}版（{'草案（尚未发布）' if rules.draft else '已发布'}）"
    )
    assert cover["现行核查规则"] == "、".join(name[0] for name in screen.rule_names().values())
    assert cover["待核查评估数"] == str(first["total"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d（北京时间，UTC\+8）", cover["导出时间"])
    everything = _cover(_xlsx(clients["x-admin"], "/screening.xlsx"))
    assert everything["集群"] == "全部（您有权查看的集群）"
    assert everything["年度"] == str(_json_of(clients["x-admin"], "/screening.json")["year"])


def test_a_manager_never_sees_another_clusters_firm_in_the_screening_workbook(clients, engine):
    with Session(engine) as s:
        fine = s.exec(select(Cluster.id).where(Cluster.code == "fine_chem")).one()
        outsiders = list(s.exec(select(Enterprise.name).where(Enterprise.cluster_id != fine)))
    admin = _table(_xlsx(clients["x-admin"], "/screening.xlsx", f"year={SCREEN_YEAR}")["待核查"])
    assert set(outsiders) & {r["企业名称"] for r in admin}, "outsiders are on the full list"
    for query in ("", f"year={SCREEN_YEAR}", "year=2020", f"year={SPARSE_YEAR}"):
        wb = _xlsx(clients["x-manager"], "/screening.xlsx", query)
        cells = [
            str(value)
            for ws in wb.worksheets
            for row in ws.iter_rows(values_only=True)
            for value in row
            if value is not None
        ]
        seen = [name for name in outsiders if any(name in cell for cell in cells)]
        assert not seen, (query, seen)
    own = _table(_xlsx(clients["x-manager"], "/screening.xlsx", f"year={SCREEN_YEAR}")["待核查"])
    assert own and all(r["集群"] == "精细化工" for r in own)


def test_a_manager_asking_for_the_screening_of_a_cluster_not_theirs_gets_404(clients):
    assert clients["x-manager"].get("/screening.json?cluster=auto").status_code == 404
    r = clients["x-manager"].get("/screening.xlsx?cluster=auto")
    assert r.status_code == 404
    assert r.headers["content-type"] != XLSX
    assert clients["x-manager-auto"].get("/screening.xlsx?cluster=auto").status_code == 200
    assert clients["x-admin"].get("/screening.xlsx?cluster=auto").status_code == 200


@pytest.mark.parametrize("path", ["/region.xlsx", "/screening.xlsx"])
def test_only_managers_and_administrators_may_download_the_region_and_the_screening(clients, path):
    assert clients["x-firm"].get(path).status_code == 403
    assert clients["anonymous"].get(path).status_code in (303, 401)
    assert clients["x-manager"].get(path).status_code == 200
    assert clients["x-admin"].get(path).status_code == 200


@pytest.mark.parametrize("path", ["/region", "/screening"])
def test_a_malformed_year_is_refused_as_on_the_page(clients, path):
    r = clients["x-manager"].get(f"{path}.xlsx?year=19x")
    assert r.status_code == clients["x-manager"].get(f"{path}.json?year=19x").status_code
    assert r.status_code >= 400


def test_the_screening_download_is_offered_under_a_chinese_name(clients):
    r = clients["x-manager"].get(f"/screening.xlsx?cluster=fine_chem&year={SCREEN_YEAR}")
    assert r.headers["content-disposition"].isascii()
    assert _filename(r) == f"待核查评估_精细化工_{SCREEN_YEAR}.xlsx"
    r = clients["x-admin"].get(f"/screening.xlsx?year={SCREEN_YEAR}")
    assert _filename(r) == f"待核查评估_{SCREEN_YEAR}.xlsx"


def test_a_year_with_nothing_flagged_gives_the_header_alone(clients):
    first = _json_of(clients["x-admin"], "/screening.json", "year=2013")
    assert first["total"] == 0
    wb = _xlsx(clients["x-admin"], "/screening.xlsx", "year=2013")
    assert [c.value for c in wb["待核查"][1]][:2] == ["序号", "企业名称"]
    assert wb["待核查"].max_row == 1
    assert _cover(wb)["待核查评估数"] == "0"


def test_a_region_without_data_gives_empty_tables_not_an_error(engine):
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.username == "x-admin")).one()
        v = region_view.region_view(s, admin, views.Filters(year=2019))
    empty = replace(v, year=None, years=[], rows=[], total=None)
    wb = openpyxl.load_workbook(io.BytesIO(exports.region_workbook(empty)))
    assert wb.sheetnames == REGION_SHEETS
    assert all(wb[name].max_row == 1 for name in REGION_SHEETS[1:])
    assert _cover(wb)["年度"] == "暂无数据"
    assert exports.region_filename(empty).endswith(".xlsx")


@pytest.mark.parametrize(
    ("path", "sheets"),
    [
        (f"/region.xlsx?year={SPARSE_YEAR}", REGION_SHEETS),
        (f"/screening.xlsx?year={SCREEN_YEAR}", ["说明", "待核查"]),
    ],
)
def test_libreoffice_reads_the_region_and_screening_workbooks_as_written(
    clients, tmp_path, path, sheets
):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot check the file opens there")
    xlsx = tmp_path / "export.xlsx"
    xlsx.write_bytes(clients["x-manager"].get(path).content)
    got = _csv_sheets(xlsx, tmp_path, sheets)
    wb = openpyxl.load_workbook(xlsx)
    for name in sheets[1:]:
        expected = [list(row) for row in wb[name].iter_rows(values_only=True)]
        assert len(got[name]) == len(expected), name
        for got_row, want_row in zip(got[name], expected, strict=True):
            for text, value in zip(got_row, want_row, strict=True):
                assert _same(text, value), (name, got_row, want_row)
