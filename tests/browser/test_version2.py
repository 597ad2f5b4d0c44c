"""Version 2 in a real browser: the notice after a change of version, a derived value redrawn
as its inputs are typed, an N/A that opens its reason box, and the review section of the
printed report."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlmodel import Session

from assess.assessment.lifecycle import start_assessment, submit
from assess.store.models import Assessment, Enterprise
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
    for qid, value in (("core.ctx.employees", "400"), ("core.infra.it_staff_count", "6")):
        show(page, qid)
        box = page.locator(dom(qid)).locator("input[name=value]")
        box.fill(value)
        with page.expect_response(lambda r, qid=qid: qid in r.url and r.ok):
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


def test_a_jilin_food_firm_sees_its_local_notes_and_a_section_waiting_on_an_answer(
    live, browser, tmp_path
):
    from tests.web.test_version2 import _food_firm_with_user

    aid, user = _food_firm_with_user(live.engine)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 900})
    sign_in_through_the_form(page, live, user)
    page.goto(f"{live.url}/assessments/{aid}")
    production = page.locator('.progress-nav li[data-section="core.prod"]')
    assert "待前面的题目作答" in production.inner_text() and "✓" not in production.inner_text()
    show(page, "food.mkt.consumer_code")
    block = page.locator(dom("food.mkt.consumer_code"))
    block.locator("details.q-help > summary").click()
    note = block.locator(".q-local")
    assert note.is_visible() and "本地说明（吉林市）：" in note.inner_text()
    if SHOTS:
        block.scroll_into_view_if_needed()
        page.screenshot(path=f"{SHOTS}/v2-local-note.png", full_page=False)
    show(page, "food.mkt.online_channels")
    option = page.locator(dom("food.mkt.online_channels")).locator("small.o-local")
    assert option.is_visible() and option.inner_text().startswith("吉林市：")
    if SHOTS:
        page.locator(dom("food.mkt.online_channels")).scroll_into_view_if_needed()
        page.screenshot(path=f"{SHOTS}/v2-local-option.png", full_page=False)
    page.close()
