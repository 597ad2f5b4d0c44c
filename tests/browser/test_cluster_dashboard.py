"""The cluster dashboard as the demo's cluster manager uses it, in a real browser: its four charts
are drawn, a cluster chosen in the filter swaps the dashboard and draws them again, the Excel
download carries the figure of the page, the member table sorts and pages, a demonstration
enterprise is confirmed and reopened, and the region page and the screening list are filled in.

The manager (demo-cluster) manages 基础化工, 精细化工 and 生态食品; the one cluster chosen is
生态食品, which in this demo holds more members than one page of the member table shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlmodel import Session

from assess.demo import DEMO_PASSWORD, build_demo
from assess.store import db
from tests.browser.conftest import serve
from tests.databases import migrated

CLUSTER = "eco_food"
CLUSTER_NAME = "生态食品"
OTHER_NAMES = ("基础化工", "精细化工")
MANAGER_NAME = "演示集群管理人员"  # the demo manager's display name, shown beside a decision
CHARTS = ("#trajectory", "#boxes", "#stages", "#links")
HEATMAPS = ("#heat-years", "#heat-links")
FLOAT_TAIL = re.compile(r"\d+\.\d{3,}")
ONE_DECIMAL_PERCENT = re.compile(r"\d+\.\d%")

# How many different colours the canvas of a chart holds (counting stops at 3): 0 when the chart
# has no canvas yet, 1 when its canvas is blank or one flat colour.
CANVAS_COLOURS = """(selector) => {
    const canvas = document.querySelector(selector + ' canvas');
    if (!canvas || !canvas.width || !canvas.height) return 0;
    const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    for (let i = 0; i < px.length; i += 4) {
        colours.add((px[i] << 24 | px[i + 1] << 16 | px[i + 2] << 8 | px[i + 3]) >>> 0);
        if (colours.size > 2) break;
    }
    return colours.size;
}"""
# True once every chart of the list has a canvas holding more than one colour.
ALL_DRAWN = "(selectors) => selectors.every(s => (" + CANVAS_COLOURS + ")(s) > 1)"


@dataclass
class Demo:
    """The demo served over HTTP: where, and its database."""

    url: str
    engine: Any


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A demo of 240 firms (every cluster of the manager holds at least 26 members, 生态食品 37)
    with its accounts, served by uvicorn in a background thread for the whole module."""
    folder = tmp_path_factory.mktemp("cluster-dashboard")
    url = f"sqlite:///{folder / 'demo.db'}"
    migrated(url)
    engine = db.make_engine(url)
    with Session(engine) as s:
        build_demo(s, enterprises=240, processes=1)
        s.commit()
    with serve(engine, folder) as base:
        yield Demo(base, engine)
    engine.dispose()


def _manager_page(browser: Any, demo: Demo, errors: list[str]) -> Any:
    """A new page of a Chinese desktop browser signed in as the demo cluster manager through
    the sign-in form; script errors and error responses of the page are added to ``errors``."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"script: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{demo.url}/signin")
    page.fill("input[name=username]", "demo-cluster")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda u: "/signin" not in u)
    return page


def _shoot(page: Any, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot, copied to $ASSESS_SCREENSHOTS (when set) for a person to see."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    folder = os.environ.get("ASSESS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / name)
    return shot


def _wait_drawn(page: Any, selectors: tuple[str, ...]) -> None:
    """Wait until every chart of ``selectors`` has a canvas of more than one colour."""
    page.wait_for_function(ALL_DRAWN, arg=list(selectors), timeout=15_000)
    for selector in selectors:
        assert page.evaluate(CANVAS_COLOURS, selector) > 1, selector


def _float_tails(page: Any) -> list[str]:
    """Numbers in the visible text of the page with three decimals or more."""
    return FLOAT_TAIL.findall(page.locator("body").inner_text())


def _adoption_tile(page: Any) -> str:
    """The figure of the dashboard's adoption-rate tile, as shown (e.g. "54.5%")."""
    tile = page.locator(".tiles .figure").filter(
        has=page.locator(".label", has_text=re.compile(r"^信息技术应用率$"))
    )
    assert tile.count() == 1, tile.count()
    return str(tile.locator(".big").inner_text()).strip()


def _levels(page: Any) -> list[float | None]:
    """The overall level of each row of the member table on the page shown (None for "—")."""
    cells = page.locator("#members table.members tbody tr td:nth-child(5)").all_inner_texts()
    return [None if c.strip() == "—" else float(c) for c in cells]


def _names(page: Any) -> list[str]:
    """The enterprise of each row of the member table on the page shown."""
    return [
        str(n).strip()
        for n in page.locator("#members table.members tbody tr td:nth-child(1)").all_inner_texts()
    ]


def _confirmed_count(page: Any) -> int:
    """The demonstration page's count of confirmed enterprises (its first tile)."""
    tile = page.locator(".tiles .figure").filter(
        has=page.locator(".label", has_text=re.compile(r"^已确认$"))
    )
    return int(tile.locator(".big").inner_text())


def test_the_dashboard_of_all_the_managers_clusters_draws_four_charts_and_rounds_its_rates(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = _manager_page(browser, demo, errors)
    page.goto(f"{demo.url}/cluster")
    _wait_drawn(page, CHARTS)
    meta = page.locator(".page-head .meta").inner_text()
    for name in (CLUSTER_NAME, *OTHER_NAMES):
        assert name in meta, meta
    rate = _adoption_tile(page)
    assert re.fullmatch(r"\d{1,3}\.\d%", rate), rate
    assert _float_tails(page) == []
    _shoot(page, tmp_path, "cluster-dashboard-1.png")
    assert not errors, errors
    page.context.close()


def test_choosing_one_cluster_swaps_the_dashboard_and_draws_its_charts_again(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = _manager_page(browser, demo, errors)
    page.goto(f"{demo.url}/cluster")
    _wait_drawn(page, CHARTS)
    before = json.loads(page.locator("#cluster-data").get_attribute("data-chart"))

    page.select_option("select[name=cluster]", CLUSTER)
    page.wait_for_url(re.compile(rf"[?&]cluster={CLUSTER}(&|$)"))
    meta = page.locator(".page-head .meta")
    meta.filter(has_not_text=OTHER_NAMES[0]).wait_for()  # the swapped dashboard is in place
    assert CLUSTER_NAME in meta.inner_text(), meta.inner_text()
    for name in OTHER_NAMES:
        assert name not in meta.inner_text(), meta.inner_text()
    assert page.locator("select[name=cluster]").input_value() == CLUSTER
    links = page.locator("nav.cluster-links a[href*='/demonstration']")
    assert links.all_inner_texts() == [CLUSTER_NAME]
    rate = _adoption_tile(page)
    assert re.fullmatch(r"\d{1,3}\.\d%", rate), rate
    assert _float_tails(page) == []
    _shoot(page, tmp_path, "cluster-dashboard-2.png")
    assert page.locator("#cluster-data").count() == 1, (
        "the dashboard swapped in by htmx has lost its chart data (#cluster-data), so its"
        " charts are not drawn again"
    )
    after = json.loads(page.locator("#cluster-data").get_attribute("data-chart"))
    assert after != before
    _wait_drawn(page, CHARTS)
    _shoot(page, tmp_path, "cluster-dashboard-2b.png")
    assert not errors, errors
    page.context.close()


def test_the_excel_download_of_one_cluster_carries_the_adoption_rate_of_its_tile(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = _manager_page(browser, demo, errors)
    page.goto(f"{demo.url}/cluster?cluster={CLUSTER}")
    rate = _adoption_tile(page)
    assert re.fullmatch(r"\d{1,3}\.\d%", rate), rate
    with page.expect_download() as caught:
        page.get_by_role("link", name="导出 Excel").click()
    download = caught.value
    assert download.failure() is None
    filename = download.suggested_filename
    assert filename.endswith(".xlsx"), filename
    assert CLUSTER_NAME in filename, filename
    saved = tmp_path / "dashboard.xlsx"
    download.save_as(saved)
    book = openpyxl.load_workbook(saved, read_only=True)
    try:
        assert "关键数字" in book.sheetnames, book.sheetnames
        rows = {r[0]: r for r in book["关键数字"].iter_rows(values_only=True) if r and r[0]}
    finally:
        book.close()
    assert "信息技术应用率" in rows, list(rows)
    value = rows["信息技术应用率"][1]
    assert isinstance(value, (int, float)), value
    assert f"{value:.1f}%" == rate, (value, rate)
    assert rows["信息技术应用率"][2] == "%", rows["信息技术应用率"]
    _shoot(page, tmp_path, "cluster-dashboard-3.png")
    assert not errors, errors
    page.context.close()


def test_the_member_table_sorts_by_overall_level_and_pages_forth_and_back(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = _manager_page(browser, demo, errors)
    page.goto(f"{demo.url}/cluster?cluster={CLUSTER}")
    members = page.locator("#members")
    assert "第 1 / 2 页" in members.locator(".pager .where").inner_text()
    header = members.locator("table.members thead a", has_text="总体水平")
    assert header.get_attribute("aria-sort") is None  # sorted by name to begin with

    header.click()
    # A level reads best first: the first click sorts from the highest.
    members.locator("thead a[aria-sort='descending']", has_text="总体水平").wait_for()
    sorted_by = members.locator("thead a[aria-sort]")
    assert sorted_by.inner_text() == "总体水平"
    assert sorted_by.get_attribute("aria-sort") == "descending"
    levels = _levels(page)
    shown = [x for x in levels if x is not None]
    assert len(levels) == 25 and shown, levels
    assert levels[0] == max(shown), levels
    assert shown == sorted(shown, reverse=True), levels
    first_page = _names(page)
    assert _float_tails(page) == []
    _shoot(page, tmp_path, "cluster-dashboard-4.png")

    members.locator(".pager a[rel=next]").click()
    page.wait_for_function(
        "() => document.querySelector('#members .pager .where').textContent.includes('第 2 ')"
    )
    second = [x for x in _levels(page) if x is not None]
    assert set(_names(page)).isdisjoint(first_page)
    assert not second or max(second) <= min(shown), (second, shown)
    assert members.locator("thead a[aria-sort]").get_attribute("aria-sort") == "descending"
    _shoot(page, tmp_path, "cluster-dashboard-4b.png")

    members.locator(".pager a[rel=prev]").click()
    page.wait_for_function(
        "() => document.querySelector('#members .pager .where').textContent.includes('第 1 ')"
    )
    assert _names(page) == first_page
    assert not errors, errors
    page.context.close()


def test_a_candidate_confirmed_on_the_demonstration_page_is_listed_with_the_manager_and_reopened(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = _manager_page(browser, demo, errors)
    page.goto(f"{demo.url}/cluster?cluster={CLUSTER}")
    page.locator("nav.cluster-links a", has_text=CLUSTER_NAME).click()
    page.wait_for_url(re.compile(rf"/cluster/{CLUSTER}/demonstration"))
    assert CLUSTER_NAME in page.locator(".page-head .meta").inner_text()
    count = _confirmed_count(page)
    candidate = page.locator("#candidates tbody tr[data-enterprise]").first
    enterprise = candidate.get_attribute("data-enterprise")
    name = str(candidate.locator("td").nth(1).inner_text()).strip()
    assert name
    assert page.locator(f"#confirmed tr[data-enterprise='{enterprise}']").count() == 0
    _shoot(page, tmp_path, "cluster-dashboard-5.png")

    confirm = candidate.locator("form.decide").filter(
        has=page.locator("input[name=decision][value=confirmed]")
    )
    confirm.locator("input[name=reason]").fill("连续三年评估水平领先")
    confirm.get_by_role("button", name="确认").click()
    row = page.locator(f"#confirmed tr[data-enterprise='{enterprise}']")
    row.wait_for()
    text = row.inner_text()
    assert name in text and MANAGER_NAME in text and "连续三年评估水平领先" in text, text
    assert _confirmed_count(page) == count + 1
    decided = page.locator(f"#candidates tr[data-enterprise='{enterprise}']").inner_text()
    assert "已确认" in decided and MANAGER_NAME in decided, decided
    _shoot(page, tmp_path, "cluster-dashboard-5b.png")

    # Reopening needs a reason: without one the browser does not send the form.
    reopen = row.locator("form.decide")
    reason = reopen.locator("input[name=reason]")
    reopen.get_by_role("button", name="重新审议").click()
    assert reason.evaluate("e => e.validity.valueMissing") is True
    assert row.count() == 1
    reason.fill("复核后再议")
    reopen.get_by_role("button", name="重新审议").click()
    row.wait_for(state="detached")
    assert _confirmed_count(page) == count
    again = page.locator(f"#candidates tr[data-enterprise='{enterprise}']")
    assert again.locator("input[name=decision][value=confirmed]").count() == 1
    assert _float_tails(page) == []
    _shoot(page, tmp_path, "cluster-dashboard-5c.png")
    assert not errors, errors
    page.context.close()


def test_the_region_page_draws_its_heatmaps_and_the_screening_page_gives_reasons(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = _manager_page(browser, demo, errors)
    page.goto(f"{demo.url}/region")
    _wait_drawn(page, HEATMAPS)
    region = page.locator("table.region").inner_text()
    assert CLUSTER_NAME in region
    assert ONE_DECIMAL_PERCENT.search(region), region
    assert _float_tails(page) == []
    _shoot(page, tmp_path, "cluster-dashboard-6.png")

    page.goto(f"{demo.url}/cluster")
    page.locator("nav.cluster-links a[href*='/screening']").click()
    page.wait_for_url(re.compile(r"/screening"))
    rows = page.locator("table.screening tbody tr").filter(has=page.locator("ul.reasons li"))
    assert rows.count() >= 1
    first = rows.first
    assert first.locator("td a[href*='/report']").count() == 1
    reason = str(first.locator("ul.reasons li").first.inner_text()).strip()
    assert "：" in reason and len(reason.split("：", 1)[1]) > 0, reason
    assert _float_tails(page) == []
    _shoot(page, tmp_path, "cluster-dashboard-6b.png")
    assert not errors, errors
    page.context.close()
