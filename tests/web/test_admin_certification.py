"""The administrator's certification pages over HTTP: bodies and their certifiers, declared
conflicts of interest, and the audit trail (filters, paging, the chain's check, the export).
Other roles get 403, every form needs its CSRF token, and refused input gets its message."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from assess.store import audit
from assess.store.models import AuditEvent, CertificationBody, Conflict, User
from tests.db.test_audit import DROP_TRIGGERS
from tests.web.conftest import World, build_world, csrf_of, make_client, sign_in
from web.routes import admin_certification


def _client(engine: sa.Engine) -> TestClient:
    """A client of the app, with the certification pages mounted if the app does not yet."""
    client = make_client(engine)
    app = client.app
    if not any(getattr(r, "name", "") == "admin_bodies" for r in app.routes):  # type: ignore[attr-defined]
        app.include_router(admin_certification.router)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def site(sqlite_engine) -> Iterator[tuple[TestClient, World, sa.Engine]]:
    world = build_world(sqlite_engine)
    with _client(sqlite_engine) as client:
        yield client, world, sqlite_engine


def _codes(html: str) -> list[str]:
    return re.findall(r'data-code="([^"]+)"', html)


def _ids(engine: sa.Engine, world: World) -> dict[str, int]:
    with Session(engine) as s:
        users = {u.username: u.id for u in s.exec(select(User))}
        body = s.exec(select(CertificationBody)).one()
    return {
        "body": body.id or 0,
        "certifier": users[world.users["certifier"]] or 0,
        "admin": users[world.users["admin"]] or 0,
    }


PAGES = ["/admin/bodies", "/admin/bodies/{body}", "/admin/conflicts", "/admin/audit"]
PAGES += ["/admin/audit.xlsx"]
FORMS = [
    ("/admin/bodies", {"name": "新机构", "code": "NEW"}),
    ("/admin/bodies/{body}", {"name": "新机构", "code": "NEW"}),
    ("/admin/conflicts", {"kind": "other"}),
    ("/admin/conflicts/1/remove", {}),
]


@pytest.mark.parametrize("who", ["enterprise", "certifier", "cluster_manager"])
def test_every_page_and_form_is_403_for_other_roles_and_changes_nothing(site, who):
    client, world, engine = site
    ids = _ids(engine, world)
    token = sign_in(client, world.users[who])
    for path in PAGES:
        r = client.get(path.format(**ids))
        assert r.status_code == 403, (who, path)
    for path, data in FORMS:
        r = client.post(path.format(**ids), data={**data, "csrf_token": token})
        assert r.status_code == 403, (who, path)
    with Session(engine) as s:
        assert len(s.exec(select(CertificationBody)).all()) == 1
        assert s.exec(select(AuditEvent).where(AuditEvent.action.startswith("body."))).all() == []


def test_signed_out_visitors_are_sent_to_sign_in(site):
    client, world, engine = site
    ids = _ids(engine, world)
    for path in PAGES:
        r = client.get(path.format(**ids))
        assert r.status_code == 303 and r.headers["location"].startswith("/signin"), path


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site):
    client, world, engine = site
    ids = _ids(engine, world)
    sign_in(client, world.users["admin"])
    for path, data in FORMS:
        r = client.post(path.format(**ids), data=data)
        assert r.status_code == 403, path
        assert "csrf" in _codes(r.text), path
    with Session(engine) as s:
        assert len(s.exec(select(CertificationBody)).all()) == 1


def test_an_administrator_creates_and_edits_a_body_with_clear_messages(site):
    client, world, engine = site
    ids = _ids(engine, world)
    token = sign_in(client, world.users["admin"])
    listing = client.get("/admin/bodies")
    assert listing.status_code == 200 and "测试评定机构" in listing.text
    assert 'data-certifiers="1"' in listing.text and world.users["certifier"] in listing.text

    bad = client.post(
        "/admin/bodies",
        data={"name": "测试评定机构", "code": "x!", "is_active": "1", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert _codes(bad.text) == ["body_name_taken", "body_code"]
    assert "机构代码须为 2–10 位大写英文字母或数字" in bad.text
    assert 'value="x!"' in bad.text  # what was typed stays, to be corrected

    made = client.post(
        "/admin/bodies",
        data={"name": "长春评定中心", "name_en": "Changchun", "code": "cc1", "csrf_token": token},
    )
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert "已创建评定机构 长春评定中心" in page.text and ">CC1<" in page.text
    assert "checked" not in page.text.split('name="is_active"')[1][:40]  # left unticked
    with Session(engine) as s:
        body = s.exec(select(CertificationBody).where(CertificationBody.code == "CC1")).one()
        assert body.is_active is False and body.name_en == "Changchun"

    # The existing body's page lists its certifier with a link to the user's page.
    own = client.get(f"/admin/bodies/{ids['body']}")
    assert f'href="/admin/users/{ids["certifier"]}"' in own.text
    stamp = re.search(r'name="stamp" value="([^"]*)"', own.text).group(1)
    form = {"name": "测试评定机构", "name_en": "Test body", "code": "TB", "is_active": "1"}
    saved = client.post(
        f"/admin/bodies/{ids['body']}", data={**form, "stamp": stamp, "csrf_token": token}
    )
    assert saved.status_code == 303
    # The same form sent again is stale: the body changed since it was shown.
    stale = client.post(
        f"/admin/bodies/{ids['body']}",
        data={**form, "code": "TB9", "stamp": stamp, "csrf_token": token},
    )
    assert stale.status_code == 409 and _codes(stale.text) == ["stale"]
    assert client.get("/admin/bodies/999999").status_code == 404
    assert client.get("/admin/bodies/99999999999999999999").status_code == 404
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action.startswith("body."))).all()
        assert [e.action for e in events] == ["body.create", "body.update"]
        assert events[1].after == {"name_en": "Test body"} and events[1].actor == "user-admin"


def test_a_taken_code_is_refused_on_edit_with_its_message(site):
    client, world, engine = site
    ids = _ids(engine, world)
    token = sign_in(client, world.users["admin"])
    client.post("/admin/bodies", data={"name": "另一机构", "code": "OT", "csrf_token": token})
    page = client.get(f"/admin/bodies/{ids['body']}")
    stamp = re.search(r'name="stamp" value="([^"]*)"', page.text).group(1)
    r = client.post(
        f"/admin/bodies/{ids['body']}",
        data={"name": "测试评定机构", "code": "OT", "stamp": stamp, "csrf_token": token},
    )
    assert r.status_code == 422 and _codes(r.text) == ["body_code_taken"]
    assert "机构代码 OT 已被其他评定机构使用" in r.text


def test_conflicts_are_declared_listed_filtered_and_removed(site):
    client, world, engine = site
    ids = _ids(engine, world)
    token = sign_in(client, world.users["admin"])
    declare = {
        "certifier_id": str(ids["certifier"]),
        "enterprise_q": world.ent_a.name,
        "kind": "family",
        "note": "",
        "csrf_token": token,
    }
    r = client.post("/admin/conflicts", data={**declare, "kind": "other"})
    assert r.status_code == 422 and _codes(r.text) == ["note_required"]
    r = client.post("/admin/conflicts", data={**declare, "enterprise_q": "没有这家企业"})
    assert r.status_code == 422 and _codes(r.text) == ["enterprise_no_match"]
    r = client.post("/admin/conflicts", data=declare)
    assert r.status_code == 303
    page = client.get("/admin/conflicts")
    assert "已登记 user-certifier 与“甲化工有限公司”的利益冲突" in page.text
    assert page.text.count("data-conflict=") == 1
    r = client.post("/admin/conflicts", data=declare)
    assert r.status_code == 422 and _codes(r.text) == ["conflict_exists"]
    assert "已登记" in r.text
    r = client.post(
        "/admin/conflicts",
        data={**declare, "enterprise_q": world.ent_b.name, "kind": "other", "note": "表兄任副总"},
    )
    assert r.status_code == 303

    both = client.get("/admin/conflicts", params={"certifier_id": ids["certifier"]})
    assert both.text.count("data-conflict=") == 2
    only_a = client.get("/admin/conflicts", params={"enterprise_id": world.ent_a.id})
    assert only_a.text.count("data-conflict=") == 1 and "表兄任副总" not in only_a.text
    only_b = client.get("/admin/conflicts", params={"enterprise_q": "乙汽车"})
    assert only_b.text.count("data-conflict=") == 1 and "表兄任副总" in only_b.text
    none = client.get("/admin/conflicts", params={"enterprise_q": "没有这家企业"})
    assert none.status_code == 422 and _codes(none.text) == ["enterprise_no_match"]

    with Session(engine) as s:
        first = s.exec(select(Conflict).where(Conflict.enterprise_id == world.ent_a.id)).one()
    assert f'action="/admin/conflicts/{first.id}/remove"' in both.text
    r = client.post(
        f"/admin/conflicts/{first.id}/remove", data={"reason": "误登记", "csrf_token": token}
    )
    assert r.status_code == 303
    assert client.get("/admin/conflicts").text.count("data-conflict=") == 1
    again = client.post(f"/admin/conflicts/{first.id}/remove", data={"csrf_token": token})
    assert again.status_code == 404
    with Session(engine) as s:
        actions = [
            e.action
            for e in s.exec(select(AuditEvent).where(AuditEvent.action.startswith("conflict.")))
        ]
        assert actions == ["conflict.declare", "conflict.declare", "conflict.remove"]


def test_the_audit_page_filters_pages_and_shows_the_chain_check(site):
    client, world, engine = site
    sign_in(client, world.users["admin"])
    with Session(engine) as s:
        for n in range(60):
            audit.record(s, "test.many", "thing", n, actor=None, after={"n": n})
        audit.record(s, "test.last", "thing", "x", actor=None, reason="最后一条")
        s.commit()
        total = len(s.exec(select(AuditEvent)).all())
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert 'data-chain="whole"' in page.text and f"{total}" in page.text
    first = re.findall(r'data-event="(\d+)"', page.text)
    assert len(first) == 50 and first[0] == str(total)  # newest first, 50 a page
    assert "最后一条" in page.text
    two = client.get("/admin/audit", params={"action": "test.many", "page": "2"})
    assert re.findall(r'data-event="(\d+)"', two.text)[-1] == str(total - 60)
    assert len(re.findall(r'data-event="(\d+)"', two.text)) == 10
    assert 'href="/admin/audit?action=test.many&amp;page=1"' in two.text
    one = client.get("/admin/audit", params={"subject_type": "thing", "subject_id": "x"})
    assert re.findall(r'data-event="(\d+)"', one.text) == [str(total)]
    fragment = client.get("/admin/audit", params={"page": "2"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="audit-rows">')
    bad = client.get("/admin/audit", params={"since": "2026-02-31"})
    assert bad.status_code == 422 and _codes(bad.text) == ["since_date"]
    assert "data-event=" not in bad.text


def test_the_audit_page_names_the_first_broken_event_after_tampering(site):
    client, world, engine = site
    sign_in(client, world.users["admin"])
    with engine.begin() as conn:
        for sql in DROP_TRIGGERS["sqlite"]:
            conn.exec_driver_sql(sql)
        conn.exec_driver_sql("UPDATE audit_event SET actor = 'nobody' WHERE id = 3")
    page = client.get("/admin/audit")
    assert 'data-chain="broken" data-broken="3"' in page.text
    assert "第 3 条记录的内容与其哈希不符" in page.text


def test_the_audit_export_opens_and_holds_the_filtered_events(site):
    client, world, engine = site
    sign_in(client, world.users["admin"])
    r = client.get("/admin/audit.xlsx", params={"action": "user."})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "审计日志-" in unquote(r.headers["content-disposition"])
    book = load_workbook(io.BytesIO(r.content))
    rows = list(book["审计日志"].iter_rows(min_row=2, values_only=True))
    with Session(engine) as s:
        users = s.exec(select(AuditEvent).where(AuditEvent.action == "user.create")).all()
    assert [row[0] for row in rows] == [e.id for e in users] and len(rows) == 5
    assert [row[12] for row in rows] == [e.hash for e in users]
    page = client.get("/admin/audit", params={"action": "user."})
    assert 'href="/admin/audit.xlsx?action=user."' in page.text
    assert client.get("/admin/audit.xlsx", params={"until": "nope"}).status_code == 422


def test_the_pages_speak_english_too(site):
    client, world, _ = site
    token = sign_in(client, world.users["admin"])
    client.post("/lang", data={"lang": "en", "csrf_token": token})
    r = client.post(
        "/admin/bodies",
        data={"name": "x", "code": "TB", "csrf_token": csrf_of(client, "/admin/bodies")},
    )
    assert r.status_code == 422
    assert "the code TB is already used by another certification body" in r.text
    page = client.get("/admin/audit.xlsx")
    book = load_workbook(io.BytesIO(page.content))
    assert book.sheetnames == ["About", "Audit trail"]


def test_the_audit_page_and_export_work_on_both_databases(engine):
    world = build_world(engine)
    with _client(engine) as client:
        sign_in(client, world.users["admin"])
        page = client.get("/admin/audit", params={"action": "user.", "actor": "-"})
        assert page.status_code == 200 and 'data-chain="whole"' in page.text
        assert len(re.findall(r'data-event="(\d+)"', page.text)) == 5
        assert "role: certifier" in page.text
        r = client.get("/admin/audit.xlsx", params={"subject_type": "enterprise"})
        rows = list(load_workbook(io.BytesIO(r.content))["审计日志"].iter_rows(values_only=True))
        assert [row[5] for row in rows[1:]] == ["enterprise.create", "enterprise.create"]
