"""Version 2 in a real browser: the notice after a change of version, a derived value redrawn
as its inputs are typed, an N/A that opens its reason box, and the review section of the
printed report."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlmodel import Session

from assess.assessments import start_assessment, submit
from assess.models import Assessment, Enterprise
from tests.browser.conftest import sign_in_through_the_form
from tests.browser.test_enterprise_flow import dom, settled, show
from tests.web.test_pages import EXAMPLE, fill
from tests.web.test_version2 import full_answers, give_reasons, na_question

SHOTS = os.environ.get("ASSESS_SCREENSHOTS")


def test_a_version_2_year_guides_the_firm(live, browser, tmp_path):
    fill(live.engine, live.world.a_draft.id, EXAMPLE)  # 2020 on version 1
    with Session(live.engine) as s:  # type: ignore[arg-type]
        ent = s.get(Enterprise, live.world.ent_a.id)
        assert ent is not None
        a = start_assessment(s, ent, 2021, by_user=None, copy_last_year=True, version=2)
        s.commit()
        aid = a.id
    page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}")
    notice = page.locator(".notice.version-change")
    assert notice.is_visible()
    assert "本年度使用第 2 版问卷，2020 年使用第 1 版问卷" in notice.inner_text()
    assert "上一年度”指 2021 年 1–12 月" in page.locator("p.period").inner_text()

    # Headcount once; the IT-staff share follows as the count is typed.
    show(page, "core.ctx.employees")
    box = page.locator(dom("core.ctx.employees")).locator("input[name=value]")
    box.fill("400")
    with page.expect_response(lambda r: "core.ctx.employees" in r.url and r.ok):
        box.press("Tab")
    settled(page)
    show(page, "core.infra.it_staff_count")
    box = page.locator(dom("core.infra.it_staff_count")).locator("input[name=value]")
    box.fill("6")
    with page.expect_response(lambda r: "core.infra.it_staff_count" in r.url and r.ok):
        box.press("Tab")
    settled(page)
    out = page.locator(dom("core.infra.it_staff_share")).locator("output.derived")
    assert out.inner_text().strip() == "= 1.5 %"
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/v2-derived.png", full_page=False)

    # An N/A opens its reason box and says why it is needed.
    qid = na_question()
    show(page, qid)
    block = page.locator(dom(qid))
    with page.expect_response(lambda r: qid in r.url and r.ok):
        block.locator("input[name=na]").check()
    settled(page)
    assert "需要说明理由" in page.locator(dom(qid, "s")).inner_text()
    assert block.locator("details.q-comment").get_attribute("open") is not None
    # The box asks for the reason at once, as a reload would (not "comment").
    assert block.locator("details.q-comment > summary").inner_text() == "理由（必填）"
    assert "needs-reason" in (block.locator("details.q-comment").get_attribute("class") or "")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/v2-reason.png", full_page=False)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    page.close()


def test_the_printed_report_shows_what_the_certifier_reviews(live, browser, tmp_path):
    with Session(live.engine) as s:  # type: ignore[arg-type]
        ent = s.get(Enterprise, live.world.ent_a.id)
        assert ent is not None
        aid = start_assessment(s, ent, 2021, by_user=None, version=2).id
        s.commit()
    qid = na_question()
    fill(live.engine, aid, full_answers(na=qid))
    give_reasons(live.engine, aid)
    with Session(live.engine) as s:  # type: ignore[arg-type]
        a = s.get(Assessment, aid)
        assert a is not None
        submit(s, a, pledge=True, by_user=None)
        s.commit()
    page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 768})
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}/report")
    review = page.locator("section.review")
    assert review.is_visible()
    assert "见说明文件" in review.inner_text()
    pdf = Path(tmp_path) / "report-v2.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format="A4", print_background=True)
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/v2-report.png", full_page=True)
        (Path(SHOTS) / "report-v2.pdf").write_bytes(pdf.read_bytes())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "需评审复核的答案" in text and "见说明文件" in text
    assert "不能逐分比较" in text
    page.close()
