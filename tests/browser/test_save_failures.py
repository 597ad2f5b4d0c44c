"""A save that fails on the server: the question says it is not saved, the message shows, and
the next save of the same question goes through."""

from __future__ import annotations

from tests.browser.conftest import sign_in_through_the_form
from tests.browser.test_enterprise_flow import dom, settled

PCT = "core.rd.digital_share"


def test_a_failed_save_marks_its_question_unsaved_and_the_next_one_saves(
    live, browser, monkeypatch
):
    from web.routes import assessments as routes

    real = routes.save_answer

    def broken(*_args, **_kwargs):
        raise RuntimeError("a fault in the server")

    page = browser.new_page(locale="zh-CN")
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{live.world.a_draft.id}")
    field = page.locator(dom(PCT)).locator("input[name=value]")
    status = page.locator(dom(PCT, "s"))

    field.fill("20")
    with page.expect_response(lambda r: PCT in r.url and r.ok):
        field.press("Tab")
    settled(page)
    assert "saved" in (status.get_attribute("class") or "")

    monkeypatch.setattr(routes, "save_answer", broken)
    field.fill("30")
    with page.expect_response(lambda r: PCT in r.url and r.status == 500):
        field.press("Tab")
    settled(page)
    assert "unsaved" in (status.get_attribute("class") or "")  # no longer "saved"
    assert "未保存" in status.inner_text()
    assert "服务器内部错误" in page.locator("#flash").inner_text()

    monkeypatch.setattr(routes, "save_answer", real)
    field.fill("31")
    with page.expect_response(lambda r: PCT in r.url and r.ok):
        field.press("Tab")
    settled(page)
    assert "saved" in (status.get_attribute("class") or "")
    assert "unsaved" not in (status.get_attribute("class") or "")
    page.close()
