"""The report printed from a normal desktop window: an A4 PDF of a few pages whose charts fit
their boxes, with a running header and footer, page numbers and a signature block."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from sqlmodel import Session

from assess.assessment.lifecycle import save_answer, start_assessment, submit
from assess.store.models import Assessment
from tests.browser.conftest import sign_in_through_the_form
from tests.conftest import ROOT

ANSWERS = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
A4_POINTS = (595, 842)  # 210 × 297 mm in PDF points, rounded
MM = 72 / 25.4  # PDF points per millimetre
CHARTS = ("#radar", "#aspects", "#years")
LONG_DECIMAL = re.compile(r"\d\.\d{2,}")

# In print media: each chart's box, its drawing, and the top of what follows it in its box.
GEOMETRY = """() => [...document.querySelectorAll('.chart')].map(c => {
    const r = e => { const b = e.getBoundingClientRect();
                     return {left: b.left, top: b.top, right: b.right, bottom: b.bottom}; };
    let next = c.nextElementSibling;
    while (next && getComputedStyle(next).display === 'none') next = next.nextElementSibling;
    return {id: c.id, chart: r(c), box: r(c.closest('.chart-box, section')),
            canvas: r(c.querySelector('canvas')), next: next ? r(next).top : null};
})"""
# The labels a chart draws: its options drawn again by the SVG renderer, whose text can be read.
LABELS = """(sel) => {
    const src = echarts.getInstanceByDom(document.querySelector(sel));
    const div = document.createElement('div');
    div.style.width = '600px'; div.style.height = '400px';
    document.body.appendChild(div);
    const copy = echarts.init(div, null, {renderer: 'svg'});
    copy.setOption(src.getOption());
    const texts = [...div.querySelectorAll('text')].map(t => t.textContent);
    copy.dispose(); div.remove();
    return texts;
}"""
PAINTED = """(sel) => {
    const c = document.querySelector(sel);
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
}"""


def _within(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["top"] >= outer["top"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def _submit(s: Session, a: Assessment, answers: dict) -> None:
    for qid, value in answers.items():
        save_answer(s, a, qid, value, "", base_version=0, by_user=None)
    submit(s, a, pledge=True, by_user=None)


def _words(pdf: Path) -> list[tuple[int, str, float, float, float, float]]:
    """Every word of the PDF with its page and box (points, from the top left)."""
    xml = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    out = []
    for n, page in enumerate(xml.split("<page ")[1:], start=1):
        for x0, y0, x1, y1, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            page,
        ):
            out.append((n, w, float(x0), float(y0), float(x1), float(y1)))
    return out


def test_the_report_printed_at_desktop_width_is_three_a4_pages_with_every_chart_in_its_box(
    live, browser, tmp_path
):
    world = live.world
    with Session(live.engine) as s:  # type: ignore[call-overload]
        _submit(s, s.get(Assessment, world.a_draft.id), {**ANSWERS, "core.rd.digital_share": 40})
        later = start_assessment(s, world.ent_a, 2021, by_user=None, version=1)
        _submit(s, later, ANSWERS)
        s.commit()
        aid = later.id

    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} @ {m.location}") if m.type == "error" else None,
    )
    sign_in_through_the_form(page, live, world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}/report")
    for chart in CHARTS:
        page.locator(f"{chart} canvas").wait_for()

    # On screen: every tooltip and label to one decimal at most.
    box = page.locator("#years").bounding_box()
    assert box is not None
    page.locator("#years").hover(position={"x": box["width"] * 0.7, "y": box["height"] / 2})
    tip = page.locator("#years div", has_text="总体水平").last
    tip.wait_for()
    assert re.search(r"\d", tip.inner_text()) and not LONG_DECIMAL.search(tip.inner_text())

    # To look at: the top of the page and the start of the trace, as the screen shows them.
    page.screenshot(path=str(tmp_path / "screen-top.png"))
    trace = page.locator("section.trace").bounding_box()
    assert trace is not None
    page.screenshot(
        path=str(tmp_path / "screen-trace.png"),
        full_page=True,
        clip={"x": 0, "y": trace["y"] + page.evaluate("scrollY"), "width": 1366, "height": 700},
    )

    # Printed straight from the 1366 px window, as a person would.
    pdf_path = tmp_path / "report.pdf"
    pdf = page.pdf(
        path=str(pdf_path), format="A4", print_background=True, prefer_css_page_size=True
    )
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    boxes = {
        (round(float(w)), round(float(h)))
        for w, h in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    }
    assert boxes == {A4_POINTS}, boxes
    assert 1 <= pages <= 3, pages
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    # The running header and footer on every page: enterprise and year, status, print date,
    # page numbers; and the block for signatures and seals at the end.
    for n in range(1, pages + 1):
        assert f"第 {n} 页，共 {pages} 页" in text, n
    assert text.count("甲化工有限公司 · 2021 年度两化融合报告") >= pages
    assert text.count("企业自评 · 已提交") >= pages
    assert re.search(r"打印日期 \d{4}-\d{2}-\d{2}", text)
    for words in ("企业负责人签字", "单位盖章", "评定机构盖章"):
        assert words in text
    assert "core.infra.strategy" not in text  # questions by number, not by id
    assert not re.search(r"\d\.\d{3,}", text)  # tables show points to two decimals, no more

    # In the PDF (Chromium prints the charts' canvases as vector drawings, their labels as
    # text) every word stays inside the text area, and the radar's legend above the note
    # under it.
    words = _words(pdf_path)
    left, right = 12 * MM - 1, A4_POINTS[0] - 12 * MM + 1
    for _, w, x0, _, x1, _ in words:
        assert left <= x0 and x1 <= right, w
    legend = [w for w in words if w[1] == "本企业"]
    note = [w for w in words if w[1].startswith("同行中位数")]
    assert len(legend) == 1 and len(note) == 1, (legend, note)
    assert legend[0][0] == note[0][0] and legend[0][5] <= note[0][3], (legend, note)
    for value in ("71.6", "62.8", "52.1"):  # bar and line labels, printed in full
        assert any(w[1] == value for w in words), value
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", str(pdf_path), str(tmp_path / "page")], check=True
    )

    # The print layout in the browser, from the desktop window and at the width of the A4 text
    # area: every chart is redrawn to its printed box, within the box, and above what follows
    # it (the radar's legend once overlapped the note under it).
    page.emulate_media(media="print")
    assert page.locator(".topbar").first.evaluate("e => getComputedStyle(e).display") == "none"
    assert not page.locator("[data-action='print']").is_visible()
    assert not page.locator("#whatif-form").is_visible()
    for width in (1366, round(186 * 96 / 25.4)):
        page.set_viewport_size({"width": width, "height": 768})
        page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
        for g in page.evaluate(GEOMETRY):
            assert _within(g["canvas"], g["chart"]) and _within(g["chart"], g["box"]), (width, g)
            assert g["canvas"]["right"] - g["canvas"]["left"] >= 0.95 * (
                g["chart"]["right"] - g["chart"]["left"]
            ), (width, g)
            assert g["next"] is None or g["next"] >= g["chart"]["bottom"] - 1, (width, g)
    for chart in CHARTS:
        assert page.evaluate(PAINTED, f"{chart} canvas") > 1000, chart
    assert not errors, errors

    # Every label the charts draw, read back through the SVG renderer (which the page's CSP
    # does not allow for the page itself: its style attributes are refused, hence after the
    # error check).
    labels = {chart: page.evaluate(LABELS, chart) for chart in CHARTS}
    assert "研发设计" in labels["#radar"] and "2021" in labels["#years"]
    for chart in ("#aspects", "#years"):  # the charts that print their values
        assert any(re.search(r"^\d+\.\d$", t) for t in labels[chart]), labels
    assert not [t for ts in labels.values() for t in ts if LONG_DECIMAL.search(t)], labels
    context.close()
