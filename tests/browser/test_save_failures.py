"""Saves that fail: the question says it is not saved and the message shows. A server error
waits for the next save; a busy database or a dropped connection is retried by the page itself,
and the value reaches the database."""

from __future__ import annotations

from tests.browser.conftest import sign_in_through_the_form
from tests.browser.test_enterprise_flow import dom, settled

PCT = "core.rd.digital_share"


def test_a_failed_save_marks_its_question_unsaved_and_the_next_one_saves(
    live, browser, monkeypatch
):
    from web.routes import assessments as routes

    real = routes.save_from_form

    def broken(*_args, **_kwargs):
        raise RuntimeError("a fault in the server")

    page = browser.new_page(locale="zh-CN")
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{live.world.a_draft.id}{dom(PCT)}")  # opens its section
    field = page.locator(dom(PCT)).locator("input[name=value]")
    status = page.locator(dom(PCT, "s"))

    field.fill("20")
    with page.expect_response(lambda r: PCT in r.url and r.ok):
        field.press("Tab")
    settled(page)
    assert "saved" in (status.get_attribute("class") or "")

    monkeypatch.setattr(routes, "save_from_form", broken)
    field.fill("30")
    with page.expect_response(lambda r: PCT in r.url and r.status == 500):
        field.press("Tab")
    settled(page)
    assert "unsaved" in (status.get_attribute("class") or "")  # no longer "saved"
    assert "未保存" in status.inner_text()
    assert "服务器内部错误" in page.locator("#flash").inner_text()

    monkeypatch.setattr(routes, "save_from_form", real)
    field.fill("31")
    with page.expect_response(lambda r: PCT in r.url and r.ok):
        field.press("Tab")
    settled(page)
    assert "saved" in (status.get_attribute("class") or "")
    assert "unsaved" not in (status.get_attribute("class") or "")
    page.close()


def test_a_save_refused_by_a_busy_database_is_sent_again_by_itself(live, browser, monkeypatch):
    """503 with Retry-After: the question is marked unsaved, and after the wait the page sends
    it again without anyone touching it; the value reaches the database."""
    import sqlite3

    import sqlalchemy as sa

    from web.routes import assessments as routes

    real = routes.save_from_form
    calls: list[str] = []

    def busy_once(*args, **kwargs):
        calls.append("save")
        if len(calls) == 1:
            raise sa.exc.OperationalError(
                "UPDATE answer", {}, sqlite3.OperationalError("database is locked")
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(routes, "save_from_form", busy_once)
    page = browser.new_page(locale="zh-CN")
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    aid = live.world.a_draft.id
    page.goto(f"{live.url}/assessments/{aid}{dom(PCT)}")  # opens its section
    field = page.locator(dom(PCT)).locator("input[name=value]")
    status = page.locator(dom(PCT, "s"))

    field.fill("44")
    with page.expect_response(lambda r: PCT in r.url and r.status == 503) as busy:
        field.press("Tab")
    assert busy.value.headers.get("retry-after") == "2"
    settled(page)
    assert "unsaved" in (status.get_attribute("class") or "")
    assert "数据库正忙" in page.locator("#flash").inner_text()

    # No focus, no typing: the retry falls due after the two seconds asked for.
    with page.expect_response(
        lambda r: PCT in r.url and r.request.method == "POST" and r.ok, timeout=10_000
    ):
        pass
    settled(page)
    assert "saved" in (status.get_attribute("class") or "")
    assert "unsaved" not in (status.get_attribute("class") or "")
    assert calls == ["save", "save"]
    assert live.stored(aid, PCT) == 44
    page.close()


def test_a_save_lost_to_a_dropped_connection_is_sent_again_once_it_is_back(live, browser):
    """The network goes away during a save: the question is marked unsaved, and when the
    connection is back the page sends the answer again by itself."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in_through_the_form(page, live, live.world.users["enterprise"])
    aid = live.world.a_draft.id
    page.goto(f"{live.url}/assessments/{aid}{dom(PCT)}")  # opens its section
    field = page.locator(dom(PCT)).locator("input[name=value]")
    status = page.locator(dom(PCT, "s"))

    context.set_offline(True)
    field.fill("55")
    field.press("Tab")
    page.wait_for_function(
        "s => document.querySelector(s).classList.contains('unsaved')", arg=dom(PCT, "s")
    )
    page.wait_for_timeout(500)  # still offline for a while
    context.set_offline(False)
    with page.expect_response(
        lambda r: PCT in r.url and r.request.method == "POST" and r.ok, timeout=15_000
    ):
        pass
    settled(page)
    assert "unsaved" not in (status.get_attribute("class") or "")
    assert live.stored(aid, PCT) == 55
    context.close()
