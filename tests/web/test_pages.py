"""The enterprise's pages over HTTP: start, submit with pledge, withdraw, report, what-if,
profile; and the administrator's enterprise and user forms."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, select

from assess.assessment.lifecycle import save_answer, start_assessment, submit
from assess.questionnaire.compile import shipped_catalog
from assess.store.models import Answer, Assessment, Enterprise, User
from tests.conftest import ROOT
from tests.db import factories
from tests.web.conftest import sign_in

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]


def fill(engine, assessment_id: int, answers=EXAMPLE) -> None:
    with Session(engine) as s:
        a = s.get(Assessment, assessment_id)
        for qid, value in answers.items():
            save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        s.commit()


def chart(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1))


def test_submitting_needs_the_pledge_and_lists_missing_answers_with_links(client, world):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    page = client.get(f"/assessments/{aid}/submit").text
    assert f'href="/assessments/{aid}#q-core--infra--strategy"' in page
    r = client.post(f"/assessments/{aid}/submit", data={"csrf_token": token, "pledge": "true"})
    assert r.status_code == 422
    assert 'data-code="missing_required"' in r.text
    assert "#q-core--infra--strategy" in r.text


def test_a_complete_assessment_is_submitted_locked_and_can_be_withdrawn(
    client, world, sqlite_engine
):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    fill(sqlite_engine, aid)
    r = client.post(f"/assessments/{aid}/submit", data={"csrf_token": token})
    assert r.status_code == 422 and 'data-code="pledge"' in r.text
    r = client.post(f"/assessments/{aid}/submit", data={"csrf_token": token, "pledge": "true"})
    assert r.status_code == 303 and r.headers["location"] == f"/assessments/{aid}/report"
    page = client.get(f"/assessments/{aid}").text
    assert "<fieldset disabled>" in page and "hx-post" not in page.split('id="progress"')[0]
    r = client.post(f"/assessments/{aid}/withdraw", data={"csrf_token": token})
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        assert s.get(Assessment, aid).status == "draft"
    history = client.get(f"/assessments/{aid}").text
    assert history.count("<li>") >= 3  # draft, submitted, withdrawn


def test_a_new_year_can_start_from_last_years_answers(client, world, sqlite_engine):
    token = sign_in(client, world.users["enterprise"])
    fill(sqlite_engine, world.a_draft.id)
    r = client.post(
        "/assessments", data={"csrf_token": token, "year": "2021", "copy_last_year": "true"}
    )
    assert r.status_code == 303
    new_id = int(r.headers["location"].rsplit("/", 1)[1])
    with Session(sqlite_engine) as s:
        copied = s.exec(select(Answer).where(Answer.assessment_id == new_id)).all()
    # 2021 starts on version 2: last year's answers carry over where version 2 asks the same.
    v2 = shipped_catalog().compose("petrochemicals", 2)
    assert 0 < len(copied) < len(EXAMPLE)
    assert all(a.question in v2.by_id and a.value == EXAMPLE[a.question] for a in copied)
    r = client.post("/assessments", data={"csrf_token": token, "year": "2021"})
    assert r.status_code == 409 and 'data-code="year_taken"' in r.text
    r = client.post("/assessments", data={"csrf_token": token, "year": "1999"})
    assert r.status_code == 422 and 'data-code="year"' in r.text


def test_the_report_explains_the_stage_and_hides_the_peer_median_below_five_peers(
    client, world, sqlite_engine
):
    sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    fill(sqlite_engine, aid)
    page = client.get(f"/assessments/{aid}/report").text
    assert 'class="rules"' in page and "✓" in page and "✗" in page
    assert "peer-hidden" in page
    assert chart(page)["peer"] is None
    # Five peers of the same sector and year submit: the median appears.
    with Session(sqlite_engine) as s:
        for _ in range(5):
            ent = factories.enterprise(s, "petrochemicals", "basic_chem")
            a = start_assessment(s, ent, 2020, by_user=None, version=1)
            for qid, value in EXAMPLE.items():
                save_answer(s, a, qid, value, "", base_version=0, by_user=None)
            submit(s, a, pledge=True, by_user=None)
        s.commit()
    page = client.get(f"/assessments/{aid}/report").text
    assert "peer-hidden" not in page
    data = chart(page)
    assert data["peer"] == data["self"]  # the peers answered alike
    assert len(data["links"]) == 4 and len(data["aspects"]) == 5
    # Its sector has 5 others now, its own cluster none: a percentile in the sector only.
    assert "行业内百分位：50.0" in page  # alike: the mid-rank of equal scores
    assert "集群内百分位" not in page
    with Session(sqlite_engine) as s:
        for _ in range(5):
            ent = factories.enterprise(s, "petrochemicals", "fine_chem")
            a = start_assessment(s, ent, 2020, by_user=None, version=1)
            for qid, value in EXAMPLE.items():
                save_answer(s, a, qid, value, "", base_version=0, by_user=None)
            submit(s, a, pledge=True, by_user=None)
        s.commit()
    page = client.get(f"/assessments/{aid}/report").text
    assert "集群内百分位" in page and "在其他 5 家企业中" in page


def test_what_if_recomputes_without_saving(client, world, sqlite_engine):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    fill(sqlite_engine, aid)
    page = client.get(f"/assessments/{aid}/report").text
    first = re.search(r'name="apply" value="([^"]+)"', page).group(1)
    with Session(sqlite_engine) as s:
        before = {a.question: a.value for a in s.exec(select(Answer))}
    form = {"apply": first, "csrf_token": token}
    q = re.escape(first)
    for name, value in re.findall(rf'name="({q}\.[a-z]+)" value="([^"]*)"', page):
        form[name] = value
    selected = re.search(rf'name="{q}\.value"[^>]*>.*?<option value="([^"]+)" selected', page, re.S)
    if selected:
        form[f"{first}.value"] = selected.group(1)
    r = client.post(f"/assessments/{aid}/what-if", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert 'id="whatif-result"' in r.text and "whatif-overall" in r.text
    with Session(sqlite_engine) as s:
        assert {a.question: a.value for a in s.exec(select(Answer))} == before


def test_an_enterprise_user_edits_its_contact_details_only(client, world, sqlite_engine):
    token = sign_in(client, world.users["enterprise"])
    r = client.post(
        "/enterprise",
        data={
            "csrf_token": token,
            "version": "1",
            "contact_name": "王五",
            "contact_phone": "0432-6220000",
            "contact_email": "wang@example.cn",
            "name": "改名企业",
            "uscc": "91220200MA0000000X",
        },
    )
    assert r.status_code == 200
    with Session(sqlite_engine) as s:
        ent = s.get(Enterprise, world.ent_a.id)
        assert ent.contact_name == "王五" and ent.name == world.ent_a.name
    # A form loaded before that save is stale now.
    r = client.post(
        "/enterprise", data={"csrf_token": token, "version": "1", "contact_name": "赵六"}
    )
    assert r.status_code == 409
    assert "赵六" in r.text and "王五" in r.text  # mine kept on the form, theirs shown
    r = client.post(
        "/enterprise", data={"csrf_token": token, "version": "2", "contact_email": "not-mail"}
    )
    assert r.status_code == 422


def test_an_administrator_creates_an_enterprise_and_its_user(client, world, sqlite_engine):
    token = sign_in(client, world.users["admin"])
    with Session(sqlite_engine) as s:
        cluster = factories.region(s)["eco_food"].id
    form = {
        "csrf_token": token,
        "name": "吉林市测试食品有限公司",
        "uscc": "91220200MA0000000Z",
        "sector": "food",
        "cluster_id": str(cluster),
        "staff_band": "20_299",
    }
    r = client.post("/admin/enterprises/new", data=form)
    assert r.status_code == 422
    assert 'data-code="uscc' in r.text  # the check character is wrong
    assert "吉林市测试食品有限公司" in r.text  # what was typed is kept
    from assess.accounts.uscc import make

    form["uscc"] = make("91220200MA000000")
    r = client.post("/admin/enterprises/new", data=form)
    assert r.status_code == 303, re.findall(r'data-code="[^"]+"[^<]*', r.text)
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "food-user",
            "role": "enterprise",
            "password": "Spring-harvest-42",
            "enterprise_uscc": form["uscc"],
        },
    )
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        user = s.exec(select(User).where(User.username == "food-user")).one()
        assert s.get(Enterprise, user.enterprise_id).name == "吉林市测试食品有限公司"


def test_an_administrator_edits_an_enterprise_and_a_stale_form_is_refused(
    client, world, sqlite_engine
):
    token = sign_in(client, world.users["admin"])
    ent = world.ent_a
    form = {
        "csrf_token": token,
        "version": "1",
        "name": "甲化工集团有限公司",
        "uscc": ent.uscc,
        "sector": ent.sector,
        "cluster_id": str(ent.cluster_id),
        "park_id": "",
        "staff_band": "ge1000",
    }
    r = client.post(f"/admin/enterprises/{ent.id}", data=form)
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        saved = s.get(Enterprise, ent.id)
        assert (saved.name, saved.staff_band, saved.version) == ("甲化工集团有限公司", "ge1000", 2)
    r = client.post(f"/admin/enterprises/{ent.id}", data={**form, "name": "又一个名字"})
    assert r.status_code == 409
    assert "又一个名字" in r.text  # the typed value stays on the form
    with Session(sqlite_engine) as s:
        assert s.get(Enterprise, ent.id).name == "甲化工集团有限公司"


def test_what_if_names_an_impossible_value_instead_of_scoring_it(client, world, sqlite_engine):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    fill(sqlite_engine, aid)
    pct = "core.rd.digital_share"
    form = {"apply": pct, f"{pct}.value": "150", "csrf_token": token}
    r = client.post(f"/assessments/{aid}/what-if", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert 'data-code="out_of_range"' in r.text
    now = re.search(r'class="whatif-overall">([^<]+)<', r.text).group(1)
    assert f"（当前 {now}）" in r.text or f"(now {now})" in r.text  # nothing was changed


def test_the_enterprise_list_goes_page_by_page_and_searches_all_of_them(
    client, world, sqlite_engine
):
    """A city has more firms than one page shows: every one is reachable through the pages,
    and the search looks through all of them (a typed % is a literal character)."""
    with Session(sqlite_engine) as s:
        for n in range(118):
            factories.enterprise(s, name=f"分页测试企业{n:03d}")
        factories.enterprise(s, name="百分之百%有限公司")
        s.commit()
        total = len(s.exec(select(Enterprise)).all())
    assert total == 121
    sign_in(client, world.users["admin"])
    seen: list[str] = []
    for number in (1, 2, 3):
        page = client.get(f"/admin/enterprises?page={number}").text
        assert f'data-total="{total}"' in page
        assert f"第 {number} / 3 页" in page
        seen += re.findall(r'<a href="/admin/enterprises/\d+">([^<]+)</a>', page)
        assert ('rel="next"' in page) == (number < 3) and ('rel="prev"' in page) == (number > 1)
    assert len(seen) == total == len(set(seen))
    assert seen == sorted(seen)  # by name, across the pages
    assert "第 101–121 条，共 121 条" in client.get("/admin/enterprises?page=3").text
    assert "第 3 / 3 页" in client.get("/admin/enterprises?page=99").text  # past the end: last
    # A page number edited by hand or cut short still gives a page, never an error.
    for raw, number in [
        ("abc", 1),
        ("", 1),
        ("2.5", 1),
        ("-4", 1),
        ("0", 1),
        (" 2 ", 2),
        ("002", 2),
        ("9" * 40, 3),
        ("%EF%BC%92", 1),
    ]:
        r = client.get(f"/admin/enterprises?page={raw}")
        assert r.status_code == 200 and f"第 {number} / 3 页" in r.text, raw
    r = client.get("/admin/users?page=x")
    assert r.status_code == 200 and "第 1 / " in r.text

    found = client.get("/admin/enterprises", params={"q": "测试企业11"}).text
    names = re.findall(r'<a href="/admin/enterprises/\d+">([^<]+)</a>', found)
    assert names == [f"分页测试企业{n}" for n in range(110, 118)]
    assert 'href="/admin/enterprises?q=' not in found  # one page: no pager links
    percent = client.get("/admin/enterprises", params={"q": "%"}).text
    assert re.findall(r'<a href="/admin/enterprises/\d+">([^<]+)</a>', percent) == [
        "百分之百%有限公司"
    ]


def test_the_user_list_pages_and_searches_and_keeps_the_search_in_its_links(
    client, world, sqlite_engine
):
    from assess.accounts.users import create_user
    from tests.web.conftest import FAST

    with Session(sqlite_engine) as s:
        for n in range(60):
            create_user(
                s,
                username=f"page-user-{n:02d}",
                password="Paging-secret-42",
                role="admin",
                hasher=FAST,
            )
        s.commit()
    sign_in(client, world.users["admin"])
    first = client.get("/admin/users", params={"q": "page-user"}).text
    assert 'data-total="60"' in first and "第 1–50 条，共 60 条" in first
    assert 'href="/admin/users?q=page-user&amp;page=2"' in first
    second = client.get("/admin/users", params={"q": "page-user", "page": 2}).text
    assert re.findall(r"<td>(page-user-\d+)</td>", second) == [
        f"page-user-{n:02d}" for n in range(50, 60)
    ]
    none = client.get("/admin/users", params={"q": "nobody-by-this-name"}).text
    assert "没有找到用户" in none and 'data-total="0"' in none


def test_the_user_list_says_what_each_account_covers(client, world):
    sign_in(client, world.users["admin"])
    page = client.get("/admin/users").text

    def scope(username: str) -> str:
        m = re.search(
            rf"<td>{username}</td>\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>", page
        )
        assert m, username
        return m.group(1)

    assert scope(world.users["enterprise"]) == "甲化工有限公司"
    assert scope(world.users["certifier"]) == "测试评定机构"
    assert scope(world.users["cluster_manager"]) == "精细化工"
    assert scope(world.users["admin"]) == ""
