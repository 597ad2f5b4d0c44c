"""The filling page on a laptop screen (1366×768): one section at a time, a side list with the
progress of each section, a submit button always in reach, ratio results shown as they are
typed, and no Content-Security-Policy complaints in the console."""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import Session

from assess.assessment.lifecycle import save_answer, submit
from assess.store.models import Assessment
from tests.browser.conftest import sign_in_through_the_form
from tests.browser.test_enterprise_flow import dom, settled
from tests.web.test_pages import EXAMPLE

SHOTS = Path(os.environ.get("ASSESS_SCREENSHOTS") or "/tmp/shots-fill")
LAPTOP = {"width": 1366, "height": 768}


def _console(page) -> list[str]:
    """Collect what the page logs as a warning or an error, and uncaught exceptions."""
    seen: list[str] = []
    page.on(
        "console",
        lambda m: (
            seen.append(f"{m.type}: {m.text} at {m.location}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: seen.append(f"pageerror: {e}"))
    page.on("load", lambda p: seen.append(f"load: {p.url}"))
    page.add_init_script(
        # Which element broke the policy: the console only names the script that did it.
        "document.addEventListener('securitypolicyviolation', e => console.log('VIOL ' + "
        "e.violatedDirective + ' ' + (e.target && e.target.outerHTML ? "
        "e.target.outerHTML.slice(0, 300) : e.target)))"
    )
    page.on("console", lambda m: seen.append(m.text) if m.text.startswith("VIOL") else None)
    return seen


def _csp(logged: list[str]) -> list[str]:
    """The Content-Security-Policy complaints among what the page logged."""
    words = ("Content-Security-Policy", "Content Security Policy", "VIOL ")
    return [m for m in logged if any(w in m for w in words)]


def _shown_section(page) -> str:
    return page.locator("section.q-section:not([hidden])").get_attribute("data-section") or ""


def test_the_fill_page_shows_one_section_with_its_progress_beside_it(live, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="zh-CN", viewport=LAPTOP)
    page = context.new_page()
    logged = _console(page)
    aid = live.world.a_draft.id
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}")

    # One section is shown, the first; the page is no longer 18,000 px tall.
    assert page.locator("section.q-section:not([hidden])").count() == 1
    assert _shown_section(page) == "core.infra"
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, height

    # The side panel fits the screen: it never reaches below the window, and the submit button
    # in it is on screen.
    side = page.locator("aside.fill-side").bounding_box()
    assert side is not None and side["y"] + side["height"] <= LAPTOP["height"] + 1, side
    submit = page.locator("aside.fill-side a.side-submit")
    assert submit.is_visible() and submit.bounding_box()["y"] < LAPTOP["height"]  # type: ignore[index]
    page.screenshot(path=str(SHOTS / "fill-first-section.png"))
    # In a browser window on a 768 px screen (about 620 px left for the page) the panel still
    # ends inside the window and scrolls its own content.
    page.set_viewport_size({"width": 1366, "height": 620})
    side = page.locator("aside.fill-side").bounding_box()
    assert side is not None and side["y"] + side["height"] <= 621, side
    assert page.locator("aside.fill-side").evaluate(
        "e => getComputedStyle(e).overflowY === 'auto' && e.scrollHeight > e.clientHeight"
    )
    page.set_viewport_size(LAPTOP)

    # Numbers, not internal ids, beside the questions; the id is kept in the title.
    num = page.locator(f"{dom('core.infra.strategy')} .q-num")
    assert num.inner_text() == "1.1"
    assert num.get_attribute("title") == "题目编号：core.infra.strategy"
    assert "core.infra.strategy" not in page.locator("main").inner_text()

    # Answer a required question: its section's count in the side list goes up.
    row = page.locator("#progress li[data-section='core.infra'] .count")
    before = int(row.get_attribute("data-answered") or "0")
    with page.expect_response(lambda r: "/answers/core.infra.strategy" in r.url and r.ok):
        page.locator(f"{dom('core.infra.strategy')} input[value=C]").check()
    settled(page)
    row = page.locator("#progress li[data-section='core.infra'] .count")
    assert int(row.get_attribute("data-answered") or "0") == before + 1
    # The show_if question it opens appears, and the side list still marks the open section.
    assert page.locator(dom("core.infra.plan_file")).is_visible()
    current = page.locator("#progress a[aria-current]")
    assert current.get_attribute("data-section") == "core.infra"

    # The next-section button and the side list move between sections; so does Back.
    page.locator("section.q-section:not([hidden]) .section-steps a[rel=next]").click()
    assert _shown_section(page) == "core.rd"
    assert "section=core.rd" in page.url
    assert page.locator("#progress a[aria-current]").get_attribute("data-section") == "core.rd"
    page.locator("#progress a[data-section='petrochemicals.safety']").click()
    assert _shown_section(page) == "petrochemicals.safety"
    page.go_back()
    page.wait_for_function("!document.querySelector('#sec-core\\\\.rd[hidden]')")
    assert _shown_section(page) == "core.rd"

    # A section is complete once its required questions are answered: the side list ticks it.
    for qid in [
        "core.rd.design_tools",
        "core.rd.pdm",
        "core.rd.simulation",
        "core.rd.digital_share",
        "core.rd.knowledge",
        "core.rd.capp",
    ]:
        _answer_something(page, qid)
    done = page.locator("#progress li[data-section='core.rd']")
    assert "complete" in (done.get_attribute("class") or "")
    assert done.locator(".done").is_visible()
    page.screenshot(path=str(SHOTS / "fill-section-complete.png"))

    # A reload opens the section the address names.
    page.reload()
    assert _shown_section(page) == "core.rd"
    steps = page.locator("section.q-section:not([hidden]) .section-steps")
    steps.scroll_into_view_if_needed()
    assert steps.locator("a[rel=prev]").inner_text() == "← 上一部分：1. 基础建设"
    assert steps.locator("a[rel=next]").inner_text() == "下一部分：3. 生产制造 →"
    page.screenshot(path=str(SHOTS / "fill-section-steps.png"))

    # The submit button in the side panel leads to the submit page, where the missing answers
    # are listed by number and text, and each link opens its own section.
    page.locator("aside.fill-side a.side-submit").click()
    page.wait_for_url(f"{live.url}/assessments/{aid}/submit")
    missing = page.locator(".missing li a").first
    assert missing.locator(".q-num").inner_text() == "1.2"
    assert "core.infra" not in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "submit-missing.png"), full_page=True)
    page.locator(".missing li a", has_text="10.1").click()
    page.wait_for_url(lambda url: "/submit" not in url)
    assert _shown_section(page) == "petrochemicals.process_control"
    assert page.locator(dom("petrochemicals.ctx.subsector")).is_visible()

    csp = _csp(logged)
    assert not csp, "\n".join(m[:200] for m in logged)
    assert not [m for m in logged if m.startswith("pageerror")], logged
    context.close()


def _answer_something(page, qid: str) -> None:
    """Give ``qid`` some valid answer (its first choice, or a small number) and wait for it."""
    block = page.locator(dom(qid))
    first = block.locator("input[type=radio], input[type=checkbox][name=value]").first
    with page.expect_response(lambda r: f"/answers/{qid}" in r.url and r.ok):
        if first.count():
            first.check()
        else:
            field = block.locator("input[name=value]")
            field.fill("10")
            field.press("Tab")
    settled(page)


def test_a_ratio_shows_its_result_with_its_unit_as_it_is_typed(live, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="zh-CN", viewport=LAPTOP)
    page = context.new_page()
    logged = _console(page)
    aid = live.world.a_draft.id
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}")
    block = page.locator(dom("core.infra.pcs"))
    result = block.locator("output.ratio-result")
    assert result.inner_text() == "计算结果单位：台/百人"

    block.locator("input[name=numerator]").fill("169")
    assert result.inner_text() == "计算结果单位：台/百人"  # half an answer: no result yet
    block.locator("input[name=denominator]").press_sequentially("300")
    assert result.inner_text() == "= 56.33 台/百人"
    block.locator("input[name=denominator]").fill("0")
    assert result.inner_text() == "计算结果单位：台/百人"
    block.locator("input[name=denominator]").fill("３００")  # full-width digits, as the server
    assert result.inner_text() == "= 56.33 台/百人"
    with page.expect_response(lambda r: "/answers/core.infra.pcs" in r.url and r.ok):
        block.locator("input[name=denominator]").press("Tab")
    settled(page)
    block.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "fill-ratio.png"))

    # Loaded again, the page shows the stored answer's result.
    page.reload()
    assert page.locator(f"{dom('core.infra.pcs')} output.ratio-result").inner_text() == (
        "= 56.33 台/百人"
    )
    csp = _csp(logged)
    assert not csp, csp
    context.close()


def test_withdrawing_asks_first_and_the_year_list_proposes_the_next_year(live, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    aid = live.world.a_draft.id
    with Session(live.engine) as s:  # type: ignore[arg-type]
        a = s.get(Assessment, aid)
        for qid, value in EXAMPLE.items():
            save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        submit(s, a, pledge=True, by_user=None)
        s.commit()
    context = browser.new_context(locale="zh-CN", viewport=LAPTOP)
    page = context.new_page()
    logged = _console(page)
    sign_in_through_the_form(page, live, live.world.users["enterprise"])

    year = page.locator("select[name=year]")
    assert year.input_value() == "2021"  # the first year after the 2020 assessment
    page.screenshot(path=str(SHOTS / "assessments-years.png"))

    page.goto(f"{live.url}/assessments/{aid}")
    page.click("text=撤回并修改")
    page.wait_for_url(f"{live.url}/assessments/{aid}/withdraw")
    page.screenshot(path=str(SHOTS / "withdraw-confirm.png"))
    assert live_status(live, aid) == "submitted"
    page.click("text=不撤回，保持已提交")
    page.wait_for_url(f"{live.url}/assessments/{aid}")
    assert live_status(live, aid) == "submitted"
    page.click("text=撤回并修改")
    page.click("button:has-text('确定撤回')")
    page.wait_for_url(f"{live.url}/assessments/{aid}")
    assert live_status(live, aid) == "draft"
    assert not _csp(logged), logged
    context.close()


def live_status(live, aid: int) -> str:
    """The assessment's status as stored."""
    with Session(live.engine) as s:  # type: ignore[arg-type]
        a = s.get(Assessment, aid)
        assert a is not None
        return a.status
