"""An administrator in a real browser: gives a new user an enterprise found by typing part of
its name, changes a user's role and scope, and sees the enterprise form warn about a sector
that is unusual for the cluster chosen."""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import Session, select

from assess.store.models import User, UserCluster
from tests.browser.conftest import sign_in_through_the_form

SHOTS = Path(os.environ.get("ASSESS_SHOTS", "/tmp/shots-admin"))


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_a_new_users_enterprise_is_found_by_name_and_chosen_from_the_matches(live, browser):
    world = live.world
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in_through_the_form(page, live, world.users["admin"])
    page.goto(f"{live.url}/admin/users")
    # Only the enterprise field shows for the role chosen (enterprise user, the default).
    assert page.is_visible("input[name=enterprise_q]")
    assert not page.is_visible("select[name=cert_body_id]")
    page.fill("input[name=username]", "wang-wu")
    page.fill("input[name=password]", "Spring-harvest-42")
    with page.expect_response(lambda r: "/admin/enterprise-choices" in r.url and r.ok):
        page.fill("input[name=enterprise_q]", "汽车零部件")
    page.wait_for_selector(f"input[name=enterprise_id][value='{world.ent_b.id}']")
    assert page.is_checked(f"input[name=enterprise_id][value='{world.ent_b.id}']")
    _shot(page, "user-form-enterprise-search")
    page.click("button:has-text('创建用户')")
    page.wait_for_selector("[data-flash]")
    assert "已创建用户 wang-wu" in page.inner_text("#flash")
    _shot(page, "user-created-flash")
    with Session(live.engine) as s:  # type: ignore[arg-type]
        made = s.exec(select(User).where(User.username == "wang-wu")).one()
        assert made.enterprise_id == world.ent_b.id
    assert errors == []
    page.close()


def test_a_users_role_is_changed_to_cluster_manager_in_the_browser(live, browser):
    world = live.world
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in_through_the_form(page, live, world.users["admin"])
    page.goto(f"{live.url}/admin/users")
    row = page.locator("tr", has_text=world.users["certifier"])
    row.locator("a:has-text('修改角色')").click()
    page.wait_for_selector("select[name=role]")
    assert page.is_visible("select[name=cert_body_id]")
    page.select_option("select[name=role]", "cluster_manager")
    assert not page.is_visible("select[name=cert_body_id]")  # the old role's field goes
    page.check("label:has-text('生态食品') input[name=cluster_ids]")
    _shot(page, "user-role-edit")
    page.click("button:has-text('保存')")
    page.wait_for_selector("[data-flash]")
    assert "的角色和范围" in page.inner_text("#flash")
    row = page.locator("tr", has_text=world.users["certifier"])
    assert "集群管理人员" in row.inner_text() and "生态食品" in row.inner_text()
    _shot(page, "user-role-changed")
    with Session(live.engine) as s:  # type: ignore[arg-type]
        user = s.exec(select(User).where(User.username == world.users["certifier"])).one()
        assert (user.role, user.cert_body_id) == ("cluster_manager", None)
        assert len(s.exec(select(UserCluster).where(UserCluster.user_id == user.id)).all()) == 1
    assert errors == []
    page.close()


def test_the_enterprise_form_warns_as_an_unusual_sector_is_chosen(live, browser):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    sign_in_through_the_form(page, live, live.world.users["admin"])
    page.goto(f"{live.url}/admin/enterprises/{live.world.ent_a.id}")
    assert page.locator("#sector-notice .notice").count() == 0
    with page.expect_response(lambda r: "/admin/sector-notice" in r.url and r.ok):
        page.select_option("select[name=sector]", "pharma")
    page.wait_for_selector("#sector-notice .notice")
    assert "医药" in page.inner_text("#sector-notice")
    _shot(page, "enterprise-sector-warning")
    page.close()
