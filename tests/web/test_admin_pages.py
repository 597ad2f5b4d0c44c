"""The administrator's pages over HTTP: a search with a control character, sector names instead
of ids, the enterprise form's cluster choice and sector warning, the user form's enterprise
search, the message after creating a user, and changing a user's role and scope."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from assess.store.models import Cluster, Enterprise, User, UserCluster
from tests.db import factories
from tests.web.conftest import build_world, csrf_of, make_client, sign_in

NEW_PASSWORD = "Spring-harvest-42"


def _codes(html: str) -> list[str]:
    return re.findall(r'data-code="([^"]+)"', html)


def test_a_control_character_in_a_search_is_refused_by_name_on_both_databases(engine):
    world = build_world(engine)
    with make_client(engine) as client:
        sign_in(client, world.users["admin"])
        for path, field in [
            ("/admin/enterprises", "q"),
            ("/admin/users", "q"),
            ("/admin/enterprise-choices", "enterprise_q"),
        ]:
            r = client.get(path, params={field: "甲化工\x00有限公司"})
            assert r.status_code == 422, (path, r.text[:300])
            assert "search_control_character" in _codes(r.text), path
            assert "控制字符（U+0000）" in r.text
        r = client.get("/admin/enterprises", params={"q": "甲化工\x00"})
        assert world.ent_a.name not in r.text  # nothing searched for a cut-short term
        assert 'name="q" value="甲化工"' in r.text  # the rest stays in the box, to send again
        # An htmx search gets the message inside the rows block it swaps.
        r = client.get("/admin/enterprises", params={"q": "\x00"}, headers={"HX-Request": "true"})
        assert r.text.lstrip().startswith('<div id="ent-rows">') and "U+0000" in r.text
        r = client.get("/admin/enterprises", params={"q": " 甲化工 "})
        assert r.status_code == 200 and world.ent_a.name in r.text
        assert world.ent_b.name not in r.text


def test_sectors_are_shown_by_name_on_the_profile_the_cluster_page_and_the_admin_list(
    client, world
):
    sign_in(client, world.users["enterprise"])
    profile = client.get("/enterprise").text
    assert "石化化工" in profile and "petrochemicals" not in profile
    client.cookies.clear()
    sign_in(client, world.users["cluster_manager"])
    cluster = client.get("/cluster").text
    assert world.ent_a.name in cluster and "石化化工" in cluster
    assert "petrochemicals" not in cluster
    client.cookies.clear()
    token = sign_in(client, world.users["admin"])
    listing = client.get("/admin/enterprises").text
    assert "石化化工" in listing and "汽车及零部件" in listing
    assert ">petrochemicals<" not in listing and ">auto<" not in listing
    client.post("/lang", data={"lang": "en", "csrf_token": token})
    assert "Petrochemicals and chemicals" in client.get("/admin/enterprises").text


def test_counts_on_the_admin_and_cluster_pages_are_whole_numbers(client, world):
    sign_in(client, world.users["admin"])
    for path in ["/admin/enterprises", "/admin/users"]:
        page = client.get(path).text
        assert re.search(r"共 \d+ 条", page), path
        assert not re.search(r"\d\.0\b", page), path


def test_the_cluster_must_be_chosen_and_an_unusual_sector_is_a_warning_after_saving(
    client, world, sqlite_engine
):
    token = sign_in(client, world.users["admin"])
    page = client.get("/admin/enterprises/new").text
    select_html = re.search(r'<select name="cluster_id" required>(.*?)</select>', page, re.S)
    assert select_html, "the cluster select is required"
    assert re.search(r'<option value="" selected>', select_html.group(1))  # nothing chosen
    with Session(sqlite_engine) as s:
        fine_chem = s.exec(select(Cluster).where(Cluster.code == "fine_chem")).one().id
    from assess.accounts.uscc import make

    form = {
        "csrf_token": token,
        "name": "吉林市测试制药有限公司",
        "uscc": make("91220200MA000077"),
        "sector": "pharma",
        "cluster_id": "",
        "staff_band": "20_299",
    }
    r = client.post("/admin/enterprises/new", data=form)
    assert r.status_code == 422 and "cluster" in _codes(r.text)
    assert "请选择所属集群" in r.text
    with Session(sqlite_engine) as s:
        assert s.exec(select(Enterprise).where(Enterprise.name == form["name"])).first() is None

    r = client.post("/admin/enterprises/new", data={**form, "cluster_id": str(fine_chem)})
    assert r.status_code == 303  # a warning does not stop the save
    saved = client.get(r.headers["location"]).text
    assert "已保存" in saved
    assert "sector_cluster_mismatch" in _codes(saved) and "医药" in saved
    # The form asks again as the choices change.
    r = client.get(
        "/admin/sector-notice", params={"sector": "pharma", "cluster_id": str(fine_chem)}
    )
    assert r.status_code == 200 and "sector_cluster_mismatch" in _codes(r.text)
    r = client.get(
        "/admin/sector-notice", params={"sector": "petrochemicals", "cluster_id": str(fine_chem)}
    )
    assert r.status_code == 200 and _codes(r.text) == []
    r = client.get("/admin/sector-notice", params={"sector": "x", "cluster_id": "9" * 30})
    assert r.status_code == 200 and _codes(r.text) == []


def test_a_new_user_is_confirmed_once_after_the_redirect(client, world):
    token = sign_in(client, world.users["admin"])
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "new-admin",
            "role": "admin",
            "password": NEW_PASSWORD,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/users"
    page = client.get("/admin/users").text
    assert re.search(r'<p class="ok" data-flash>已创建用户 new-admin</p>', page)
    assert "data-flash" not in client.get("/admin/users").text  # shown once


def test_an_enterprise_user_is_given_an_enterprise_found_by_name(client, world, sqlite_engine):
    with Session(sqlite_engine) as s:
        twin = factories.enterprise(s, name="甲化工有限公司二分厂")
        s.commit()
        twin_id = twin.id
    token = sign_in(client, world.users["admin"])
    base = {"csrf_token": token, "role": "enterprise", "password": NEW_PASSWORD}

    choices = client.get("/admin/enterprise-choices", params={"enterprise_q": "甲化工"}).text
    offered = re.findall(r'name="enterprise_id" value="(\d+)"', choices)
    assert sorted(map(int, offered)) == sorted([world.ent_a.id, twin_id])
    lone = client.get("/admin/enterprise-choices", params={"enterprise_q": "汽车"}).text
    assert re.search(rf'value="{world.ent_b.id}" checked', lone)  # the only match is chosen

    r = client.post("/admin/users", data={**base, "username": "vague", "enterprise_q": "甲化工"})
    assert r.status_code == 422 and "enterprise_ambiguous" in _codes(r.text)
    assert "有 2 家企业与“甲化工”相符" in r.text
    assert len(re.findall(r'name="enterprise_id"', r.text)) == 2  # offered to choose from
    r = client.post("/admin/users", data={**base, "username": "nobody", "enterprise_q": "丙"})
    assert r.status_code == 422 and "enterprise_no_match" in _codes(r.text)

    r = client.post(
        "/admin/users",
        data={**base, "username": "chosen", "enterprise_q": "甲化工", "enterprise_id": twin_id},
    )
    assert r.status_code == 303
    r = client.post(
        "/admin/users", data={**base, "username": "typed", "enterprise_q": "乙汽车零部件"}
    )
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        made = {u.username: u.enterprise_id for u in s.exec(select(User))}
    assert made["chosen"] == twin_id and made["typed"] == world.ent_b.id
    assert "vague" not in made and "nobody" not in made


def test_a_users_role_and_scope_are_changed_on_their_own_form(client, world, sqlite_engine):
    with Session(sqlite_engine) as s:
        target = s.exec(select(User).where(User.username == world.users["enterprise"])).one()
        clusters = {c.code: c.id for c in s.exec(select(Cluster))}
    token = sign_in(client, world.users["admin"])
    listing = client.get("/admin/users").text
    assert f'href="/admin/users/{target.id}"' in listing
    form_page = client.get(f"/admin/users/{target.id}").text
    stamp = re.search(r'name="stamp" value="([^"]*)"', form_page).group(1)
    assert re.search(rf'value="{world.ent_a.id}" checked', form_page)  # its enterprise now

    change = {
        "csrf_token": token,
        "stamp": stamp,
        "role": "cluster_manager",
        "cluster_ids": [str(clusters["auto"]), str(clusters["eco_food"])],
        "enterprise_q": world.ent_a.name,  # left over from the old role: ignored
        "enterprise_id": str(world.ent_a.id),
    }
    r = client.post(f"/admin/users/{target.id}", data={**change, "cluster_ids": []})
    assert r.status_code == 422 and _codes(r.text) == ["clusters_required"]
    assert 'value="cluster_manager" selected' in r.text  # what was typed stays
    r = client.post(f"/admin/users/{target.id}", data=change)
    assert r.status_code == 303
    assert "已更新用户 user-enterprise 的角色和范围" in client.get("/admin/users").text
    with Session(sqlite_engine) as s:
        stored = s.get(User, target.id)
        assert (stored.role, stored.enterprise_id) == ("cluster_manager", None)
        managed = s.exec(select(UserCluster.cluster_id).where(UserCluster.user_id == target.id))
        assert sorted(managed) == sorted([clusters["auto"], clusters["eco_food"]])

    # The same form sent again, from a tab opened before the change: refused, nothing written.
    r = client.post(f"/admin/users/{target.id}", data={**change, "role": "admin"})
    assert r.status_code == 409 and "stale" in _codes(r.text)
    assert 'value="cluster_manager" selected' in r.text  # the form shows what is stored
    with Session(sqlite_engine) as s:
        assert s.get(User, target.id).role == "cluster_manager"

    assert client.get("/admin/users/999999").status_code == 404
    assert client.get("/admin/users/" + "9" * 30).status_code in (404, 422)


def test_only_administrators_reach_the_new_admin_pages(client, world):
    paths = [
        "/admin/users/1",
        "/admin/enterprise-choices?enterprise_q=x",
        "/admin/sector-notice?sector=food&cluster_id=1",
    ]
    for path in paths:
        assert client.get(path).status_code == 303, path  # to the sign-in page
    for who in ["enterprise", "certifier", "cluster_manager"]:
        client.cookies.clear()
        token = sign_in(client, world.users[who])
        for path in paths:
            assert client.get(path).status_code == 403, (who, path)
        r = client.post("/admin/users/1", data={"csrf_token": token, "role": "admin"})
        assert r.status_code == 403, who


def test_in_english_the_scope_list_is_joined_with_commas(client, world, sqlite_engine):
    with Session(sqlite_engine) as s:
        manager = s.exec(select(User).where(User.username == world.users["cluster_manager"]))
        uid = manager.one().id
        auto = s.exec(select(Cluster.id).where(Cluster.code == "auto")).one()
        s.add(UserCluster(user_id=uid, cluster_id=auto))
        s.commit()
    token = sign_in(client, world.users["admin"])
    assert "汽车、精细化工" in client.get("/admin/users").text
    client.post("/lang", data={"lang": "en", "csrf_token": token})
    page = client.get("/admin/users").text
    assert "Automotive, Fine chemicals" in page and "、" not in page


def test_a_user_created_by_an_administrator_must_replace_the_password_first(client, world):
    token = sign_in(client, world.users["admin"])
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "first-day",
            "role": "admin",
            "password": NEW_PASSWORD,
        },
    )
    assert r.status_code == 303
    newcomer = make_client(client.app.state.engine)
    r = newcomer.post(
        "/signin",
        data={"username": "first-day", "password": NEW_PASSWORD, "csrf_token": csrf_of(newcomer)},
    )
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    r = newcomer.get("/admin/users")
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
