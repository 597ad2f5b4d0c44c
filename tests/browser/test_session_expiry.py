"""A session that expires while a person fills in: the change is marked unsaved, a banner asks
to sign in again in another tab, and back on the page the unsaved answer is sent again."""

from __future__ import annotations

from tests.browser.conftest import sign_in_through_the_form
from tests.browser.test_enterprise_flow import dom, settled

PCT = "core.rd.digital_share"


def test_an_answer_typed_after_the_session_expired_is_sent_again_after_signing_in(live, browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    username = live.world.users["enterprise"]
    aid = live.world.a_draft.id
    sign_in_through_the_form(page, live, username)
    page.goto(f"{live.url}/assessments/{aid}{dom(PCT)}")  # opens its section
    context.clear_cookies()  # the session is over, as after the idle timeout

    field = page.locator(dom(PCT)).locator("input[name=value]")
    field.fill("33")
    with page.expect_response(lambda r: f"/answers/{PCT}" in r.url and r.status == 401):
        field.press("Tab")
    settled(page)
    status = page.locator(dom(PCT, "s"))
    assert "unsaved" in (status.get_attribute("class") or "")
    assert page.locator("#session-alert .alert[data-code=sign_in]").is_visible()
    assert field.input_value() == "33"  # still on the page

    other = context.new_page()  # the person signs in again in another tab
    sign_in_through_the_form(other, live, username)
    page.bring_to_front()
    with page.expect_response(
        lambda r: f"/answers/{PCT}" in r.url and r.request.method == "POST" and r.ok
    ):
        page.evaluate("window.dispatchEvent(new Event('focus'))")  # headless tabs get no focus
    settled(page)
    assert "saved" in (status.get_attribute("class") or "")
    assert page.locator("#session-alert").inner_text().strip() == ""
    assert live.stored(aid, PCT) == 33
    context.close()
