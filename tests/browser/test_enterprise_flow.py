"""An enterprise user fills in, defends against a stale tab, submits and reads the report."""

from __future__ import annotations

import json
import os
from typing import Any

from assess.questionnaire.compile import spec_for
from tests.browser.conftest import sign_in_through_the_form
from tests.conftest import ROOT

ANSWERS = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
SHOTS = os.environ.get("ASSESS_SCREENSHOTS")  # a folder to keep screenshots in, if set


def dom(qid: str, prefix: str = "q") -> str:
    return f"#{prefix}-{qid.replace('.', '--')}"


def text_of(x: Any) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


def settled(page) -> None:
    """Wait until htmx has no request in flight and has finished swapping."""
    page.wait_for_function(IDLE)


def show(page, qid: str) -> None:
    """Open the section ``qid`` is in, through the side list, as a person would."""
    section = page.locator(dom(qid)).evaluate("e => e.closest('section.q-section').dataset.section")
    if page.locator(f"section.q-section[data-section='{section}']").get_attribute("hidden") is None:
        return
    page.locator(f"#progress a[data-section='{section}']").click()


def answer(page, qid: str, kind: str, value: Any) -> None:
    """Answer one question the way a person would, and wait until it is saved."""
    show(page, qid)
    block = page.locator(dom(qid))
    status = page.locator(dom(qid, "s"))

    def saved_after(action) -> None:
        with page.expect_response(
            lambda r: f"/answers/{qid}" in r.url and r.request.method == "POST" and r.ok
        ):
            action()
        settled(page)

    if value == "na":
        saved_after(lambda: block.locator("input[name=na]").check())
    elif kind in ("single_choice", "yes_no"):
        v = value if kind == "single_choice" else ("yes" if value else "no")
        saved_after(lambda: block.locator(f"input[name=value][value='{v}']").check())
    elif kind == "multiple_choice":
        for v in value:
            saved_after(lambda v=v: block.locator(f"input[name=value][value='{v}']").check())
    elif kind == "ratio":
        block.locator("input[name=numerator]").fill(text_of(value["numerator"]))
        block.locator("input[name=denominator]").fill(text_of(value["denominator"]))
        saved_after(lambda: block.locator("input[name=denominator]").press("Tab"))
    elif kind in ("percentage", "number"):
        block.locator("input[name=value]").fill(text_of(value))
        saved_after(lambda: block.locator("input[name=value]").press("Tab"))
    else:
        field = block.locator("[name=value]")
        field.fill(str(value))
        saved_after(lambda: field.press("Tab"))
    assert "saved" in (status.get_attribute("class") or "")


def test_enterprise_fills_in_submits_and_reads_the_report(live, browser):
    world = live.world
    aid = world.a_draft.id
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. Sign in.
    sign_in_through_the_form(page, live, world.users["enterprise"])
    assert world.ent_a.name in page.content()

    # 2. Fill in the whole assessment through the page; every change autosaves.
    page.goto(f"{live.url}/assessments/{aid}")
    spec = spec_for("petrochemicals", 1)  # the world's 2020 assessment is on version 1
    filled = 0
    for q in spec.questions:
        if q.id not in ANSWERS:
            continue
        if page.locator(dom(q.id)).get_attribute("hidden") is not None:
            continue  # gated by an earlier answer (show_if): hidden questions take no answer
        answer(page, q.id, q.kind, ANSWERS[q.id])
        filled += 1
    assert filled >= 60
    count = page.locator("#progress .count").first
    assert count.get_attribute("data-done") == count.get_attribute("data-total")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/fill.png", full_page=False)

    # 3. Reload: the answers are kept.
    page.reload()
    assert page.locator(f"{dom('core.infra.strategy')} input[value=C]").is_checked()
    pct = page.locator(f"{dom('core.rd.digital_share')} input[name=value]")
    assert pct.input_value() == text_of(ANSWERS["core.rd.digital_share"])

    # 4. A second page changes the same answer; this page's stale save meets a conflict.
    other = context.new_page()
    other.goto(f"{live.url}/assessments/{aid}{dom('core.rd.digital_share')}")
    other_pct = other.locator(f"{dom('core.rd.digital_share')} input[name=value]")
    other_pct.fill("77")
    with other.expect_response(lambda r: "/answers/core.rd.digital_share" in r.url):
        other_pct.press("Tab")
    show(page, "core.rd.digital_share")
    pct.fill("12")
    with page.expect_response(lambda r: "/answers/core.rd.digital_share" in r.url) as info:
        pct.press("Tab")
    assert info.value.status == 409
    conflict = page.locator(f"{dom('core.rd.digital_share', 's')} .conflict")
    conflict.wait_for()
    assert "77" in conflict.inner_text()
    assert pct.input_value() == "12"  # what was typed stays on the page
    # Choose the other page's value: the question is reloaded with it.
    conflict.locator("button[type=button]").click()
    page.locator(f"{dom('core.rd.digital_share')} input[name=value][value='77']").wait_for()
    other.close()

    # 5. Submit with the pledge.
    page.goto(f"{live.url}/assessments/{aid}/submit")
    page.check("input[name=pledge]")
    page.click("form button[type=submit].primary")
    page.wait_for_url(f"{live.url}/assessments/{aid}/report")

    # 6. The report's radar chart rendered: a canvas with drawn pixels.
    canvas = page.locator("#radar canvas")
    canvas.wait_for()
    painted = page.evaluate(
        """() => {
            const c = document.querySelector('#radar canvas');
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 1000, painted
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "发展阶段" in page.content() or "Development stage" not in page.content()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/report-zh.png", full_page=True)

    # 7. Switch to English.
    page.click("button[name=lang][value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Sign out" in page.content()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/report-en.png", full_page=True)

    # 8. Sign out.
    page.click("text=Sign out")
    page.wait_for_url(f"{live.url}/signin")
    page.goto(f"{live.url}/assessments")
    assert "/signin" in page.url
    assert not errors, errors
    context.close()
