"""The printed cluster report on the demo: the demo's cluster manager opens it, its charts are
drawn, and printed to A4 it is a document of several pages that names the clusters and shows the
figures of the page, with no number carrying a float's tail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, select

from assess.analytics import demonstration
from assess.demo import DEMO_PASSWORD, build_demo
from assess.store import db
from assess.store.models import User
from tests.browser.conftest import serve
from tests.databases import migrated

TITLE = "集群两化融合发展报告"
FLOAT_TAIL = re.compile(r"\d+\.\d{3,}")
CHARTS = ("#trajectory", "#boxes", "#stages", "#links")
# The colours a canvas holds (up to a few): a blank or one-colour canvas has at most one.
COLOURS = """(sel) => {
    const c = document.querySelector(sel);
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length && seen.size < 4; i += 4) {
        seen.add(data[i] + ',' + data[i + 1] + ',' + data[i + 2] + ',' + data[i + 3]);
    }
    return seen.size;
}"""
# In print media: each chart's box and its drawing.
GEOMETRY = """() => [...document.querySelectorAll('.cluster-report .chart')].map(c => {
    const r = e => { const b = e.getBoundingClientRect();
                     return {left: b.left, top: b.top, right: b.right, bottom: b.bottom}; };
    return {id: c.id, chart: r(c), canvas: r(c.querySelector('canvas')),
            sheet: r(c.closest('.cluster-report'))};
})"""
# In print media: the tables wider than the sheet (a table too wide is cut at the page's edge).
TOO_WIDE = """() => {
    const sheet = document.querySelector('.cluster-report').getBoundingClientRect();
    return [...document.querySelectorAll('.cluster-report table')]
        .filter(t => t.getBoundingClientRect().right > sheet.right + 1).map(t => t.className);
}"""


@dataclass
class Demo:
    url: str
    engine: object


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A small demo (its firms, years and accounts) served by uvicorn in a background thread,
    with one demonstration enterprise of the basic chemicals cluster confirmed."""
    folder = tmp_path_factory.mktemp("cluster-report")
    url = f"sqlite:///{folder / 'demo.db'}"
    migrated(url)
    engine = db.make_engine(url)
    with Session(engine) as s:
        build_demo(s, enterprises=150, processes=1)
        s.commit()
        manager = s.exec(select(User).where(User.username == "demo-cluster")).one()
        view = demonstration.demonstration_view(s, manager, "basic_chem", None)
        if view.candidates and view.year is not None:
            first = view.candidates[0]
            demonstration.decide(
                s, manager, "basic_chem", view.year, first.enterprise, "confirmed", ""
            )
            s.commit()
    with serve(engine, folder) as base:
        yield Demo(base, engine)
    engine.dispose()


def _signed_in(browser: object, demo: Demo) -> object:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{demo.url}/signin")
    page.fill("input[name=username]", "demo-cluster")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/signin" not in url)
    return page


def _keep(path: Path) -> None:
    """A copy of a screenshot or PDF for a person to look at, when ASSESS_SCREENSHOTS is set."""
    folder = os.environ.get("ASSESS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text cannot be read")
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_demo_managers_report_draws_its_charts_and_prints_to_several_a4_pages(
    demo, browser, tmp_path
):
    page = _signed_in(browser, demo)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{demo.url}/cluster/report")
    for chart in CHARTS:
        page.locator(f"{chart} canvas").wait_for()
        assert page.evaluate(COLOURS, f"{chart} canvas") > 1, chart
    assert page.locator("h1").inner_text() == TITLE
    clusters = page.locator(".subtitle").inner_text()
    assert "基础化工" in clusters
    rate = page.locator(".key-figures td.rate").inner_text().split("%")[0]
    assert re.fullmatch(r"\d+\.\d", rate), rate
    assert page.locator("[data-action='print']").is_visible()
    shot = tmp_path / "cluster-report-screen.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)

    pdf_path = tmp_path / "cluster-report.pdf"
    pdf = page.pdf(path=str(pdf_path), format="A4", print_background=True)
    _keep(pdf_path)
    assert pdf_path.stat().st_size > 0
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= 2, pages
    text = _pdf_text(pdf_path)
    assert TITLE in text
    assert "基础化工" in text
    assert f"{rate}%" in text
    assert not FLOAT_TAIL.findall(text), FLOAT_TAIL.findall(text)
    # The running header and footer on every page.
    assert text.count(TITLE) >= pages + 1  # the heading, and the header of each page
    for n in range(1, pages + 1):
        assert f"第 {n} 页，共 {pages} 页" in text, n
    assert re.search(r"打印日期 \d{4}-\d{2}-\d{2}", text)
    # Every member is listed, not a page of them: the demo manager's clusters hold more firms
    # than the dashboard's table shows at once.
    rows = page.locator("table.members-all tbody tr").count()
    assert rows > 25, rows

    # Printed, the button is gone and every chart is drawn inside its box on the sheet.
    page.emulate_media(media="print")
    assert not page.locator("[data-action='print']").is_visible()
    for g in page.evaluate(GEOMETRY):
        for side, sign in (("left", 1), ("top", 1), ("right", -1), ("bottom", -1)):
            assert sign * (g["canvas"][side] - g["chart"][side]) >= -1, (side, g)
        assert g["chart"]["right"] <= g["sheet"]["right"] + 1, g
    assert page.evaluate(TOO_WIDE) == []
    assert not errors, errors
    page.context.close()


def test_one_clusters_report_lists_its_confirmed_demonstration_enterprises(demo, browser, tmp_path):
    with Session(demo.engine) as s:
        manager = s.exec(select(User).where(User.username == "demo-cluster")).one()
        view = demonstration.demonstration_view(s, manager, "basic_chem", None)
    assert view.confirmed, "the demo fixture confirms one enterprise"
    page = _signed_in(browser, demo)
    page.goto(f"{demo.url}/cluster/report?cluster=basic_chem")
    table = page.locator("table.confirmed")
    assert view.confirmed[0].name in table.inner_text()
    assert "精细化工" not in page.locator(".subtitle").inner_text()
    pdf_path = tmp_path / "cluster-report-basic-chem.pdf"
    page.pdf(path=str(pdf_path), format="A4", print_background=True)
    _keep(pdf_path)
    text = _pdf_text(pdf_path)
    assert view.confirmed[0].name in text
    assert not FLOAT_TAIL.findall(text)
    page.context.close()


def test_the_report_of_all_clusters_says_demonstration_enterprises_are_per_cluster(demo, browser):
    page = _signed_in(browser, demo)
    page.goto(f"{demo.url}/cluster/report")
    assert page.locator("table.confirmed").count() == 0
    assert "示范企业按集群遴选" in page.locator("section", has_text="已确认的示范企业").inner_text()
    page.context.close()
