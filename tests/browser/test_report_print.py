"""The report printed from the browser: a clean A4 document that keeps its charts."""

from __future__ import annotations

import json
import re

from sqlmodel import Session

from assess.assessments import save_answer, submit
from assess.models import Assessment
from tests.browser.conftest import sign_in_through_the_form
from tests.conftest import ROOT

ANSWERS = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
A4_POINTS = (595, 842)  # 210 × 297 mm in PDF points, rounded
PAINTED = """(sel) => {
    const c = document.querySelector(sel);
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
}"""


def test_the_report_prints_to_a4_with_its_charts_and_without_the_controls(live, browser):
    world = live.world
    aid = world.a_draft.id
    with Session(live.engine) as s:  # type: ignore[call-overload]
        a = s.get(Assessment, aid)
        for qid, value in ANSWERS.items():
            save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        submit(s, a, pledge=True, by_user=None)
        s.commit()

    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in_through_the_form(page, live, world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}/report")
    page.locator("#radar canvas").wait_for()

    # Print layout, at the width of A4 paper less its margins: the controls are gone, the
    # charts stay, side by side, each redrawn for its half of the page.
    text_width = 186 / 25.4 * 96  # 210 mm less two 12 mm margins, in CSS pixels
    page.set_viewport_size({"width": round(text_width), "height": 1000})
    page.emulate_media(media="print")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator(".topbar").first.evaluate("e => getComputedStyle(e).display") == "none"
    for button in page.locator("[data-action='print']").all():
        assert not button.is_visible()
    for chart in ("#radar", "#aspects"):
        canvas = page.locator(f"{chart} canvas")
        assert canvas.is_visible()
        box, frame = canvas.bounding_box(), page.locator(chart).bounding_box()
        assert box is not None and frame is not None
        # Redrawn for the print width: as wide as its frame (half the page), never wider.
        assert 0.95 * frame["width"] <= box["width"] <= frame["width"] + 1, (chart, box, frame)
        assert frame["width"] <= text_width / 2 + 1, (chart, frame)
        assert page.evaluate(PAINTED, f"{chart} canvas") > 1000

    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert 1 <= pages <= 8, pages
    boxes = {
        (round(float(w)), round(float(h)))
        for w, h in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    }
    assert boxes == {A4_POINTS}, boxes
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf  # the charts, as pictures
    assert not errors, errors
    context.close()
