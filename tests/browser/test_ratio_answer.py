"""A ratio answer is two numbers: the page saves it once both are typed, not half of it."""

from __future__ import annotations

from sqlmodel import Session, select

from assess.store.models import Answer
from tests.browser.conftest import sign_in_through_the_form
from tests.browser.test_enterprise_flow import dom, settled

RATIO = "core.infra.it_staff"


def test_a_ratio_is_saved_when_both_numbers_are_there(live, browser):
    page = browser.new_page(locale="zh-CN")
    aid = live.world.a_draft.id
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}")
    posts: list[str] = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and RATIO in r.url else None,
    )
    block, status = page.locator(dom(RATIO)), page.locator(dom(RATIO, "s"))
    numerator = block.locator("input[name=numerator]")
    denominator = block.locator("input[name=denominator]")

    numerator.fill("12")
    numerator.press("Tab")  # on to the denominator: half an answer, nothing is sent
    settled(page)
    assert posts == []
    assert "unsaved" in (status.get_attribute("class") or "")
    assert "请填写两个数值" in status.inner_text()

    denominator.fill("300")
    with page.expect_response(lambda r: RATIO in r.url and r.request.method == "POST" and r.ok):
        denominator.press("Tab")
    settled(page)
    assert len(posts) == 1 and "saved" in (status.get_attribute("class") or "")

    def stored():
        with Session(live.engine) as s:  # type: ignore[arg-type]
            return s.exec(
                select(Answer.value).where(Answer.assessment_id == aid, Answer.question == RATIO)
            ).one()

    assert stored() == {"numerator": 12, "denominator": 300}
    numerator.fill("")
    denominator.fill("")
    with page.expect_response(lambda r: RATIO in r.url and r.request.method == "POST" and r.ok):
        denominator.press("Tab")  # both empty: the answer is cleared
    settled(page)
    assert len(posts) == 2 and stored() is None
    page.close()
