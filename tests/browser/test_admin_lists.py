"""An administrator finds an enterprise among many: the search narrows the list as one types,
and the pages of the whole list follow one another."""

from __future__ import annotations

from sqlmodel import Session

from tests.browser.conftest import sign_in_through_the_form
from tests.db import factories


def test_the_enterprise_search_narrows_the_list_as_one_types(live, browser):
    with Session(live.engine) as s:  # type: ignore[arg-type]
        for n in range(60):
            factories.enterprise(s, name=f"松花江测试企业{n:02d}")
        s.commit()
    page = browser.new_page(locale="zh-CN")
    sign_in_through_the_form(page, live, live.world.users["admin"])
    page.goto(f"{live.url}/admin/enterprises")
    assert "第 1 / 2 页" in page.inner_text(".pager")
    page.click(".pager a[rel=next]")
    page.wait_for_url(f"{live.url}/admin/enterprises?page=2")
    assert "第 51–62 条，共 62 条" in page.inner_text(".pager")

    with page.expect_response(lambda r: "/admin/enterprises?q=" in r.url and r.ok):
        page.fill("input[name=q]", "测试企业05")
    page.wait_for_function("() => document.querySelectorAll('#ent-rows tbody tr').length === 1")
    assert page.inner_text("#ent-rows tbody").strip().startswith("松花江测试企业05")
    assert "q=" in page.url  # the search is in the address, for the back button and sharing
    page.close()
