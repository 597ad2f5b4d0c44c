"""Sessions end where they should, on every worker: a cookie copied before signing out, a
password change or an account being disabled is worth nothing afterwards, on a page and on an
autosave alike. Each "worker" here is an app of its own on the one database, as in production,
where the processes share nothing else. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assess.accounts.users import reset_password, set_active
from assess.store.models import User
from tests.web.conftest import PASSWORD, World, build_world, csrf_of, make_client, sign_in
from web.sessions import COOKIE

PCT = "core.rd.digital_share"
NEW = "a-new-pass-2026"


def copy_of(client: TestClient, engine: sa.Engine) -> TestClient:
    """Another worker's client carrying the same session cookie, as a thief's copy would."""
    thief = make_client(engine)
    value = client.cookies.get(COOKIE)
    assert value
    thief.cookies.set(COOKIE, value)
    return thief


def autosave(client: TestClient, token: str, aid: int | None, value: str = "40"):
    return client.post(
        f"/assessments/{aid}/answers/{PCT}",
        data={"version": "0", "value": value},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )


def assert_works(client: TestClient, token: str, world: World) -> None:
    assert client.get(f"/assessments/{world.a_draft.id}").status_code == 200
    r = autosave(client, token, world.a_draft.id)
    assert r.status_code in (200, 409), r.text  # saved, or a stale version: either way let in


def assert_ended(client: TestClient, token: str, world: World) -> None:
    """A page sends the browser to sign in; htmx, JSON and an autosave with the session's own
    CSRF token get 401. The cookie is sent as it was each time, as a thief's copy would be
    (a browser would take the emptied cookie the first answer sets)."""
    cookie = client.cookies.get(COOKIE)

    def send(method: str, path: str, **kw):
        if cookie:
            client.cookies.set(COOKIE, cookie)
        return client.request(method, path, **kw)

    save = send(
        "POST",
        f"/assessments/{world.a_draft.id}/answers/{PCT}",
        data={"version": "0", "value": "41"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert save.status_code == 401, save.text
    page = send("GET", f"/assessments/{world.a_draft.id}")
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")
    fragment = send("GET", f"/assessments/{world.a_draft.id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    json = send("GET", "/account/session", headers={"Accept": "application/json"})
    assert json.status_code == 401


def test_a_cookie_copied_before_signing_out_is_refused_afterwards(engine):
    world = build_world(engine)
    with make_client(engine) as client:
        token = sign_in(client, world.users["enterprise"])
        thief = copy_of(client, engine)
        assert_works(thief, token, world)  # the copy is as good as the original until then
        r = client.post("/signout", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/signin"
        assert_ended(thief, token, world)
        assert_ended(client, token, world)


def test_signing_out_in_one_browser_leaves_the_persons_other_browser_signed_in(engine):
    world = build_world(engine)
    office, phone = make_client(engine), make_client(engine)
    office_token = sign_in(office, world.users["enterprise"])
    phone_token = sign_in(phone, world.users["enterprise"])
    office.post("/signout", data={"csrf_token": office_token})
    assert_ended(office, office_token, world)
    assert_works(phone, phone_token, world)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(engine):
    world = build_world(engine)
    name = world.users["enterprise"]
    mine, other = make_client(engine), make_client(engine)
    token = sign_in(mine, name)
    other_token = sign_in(other, name)
    before = copy_of(mine, engine)  # this browser's cookie as it was before the change
    r = mine.post(
        "/account/password",
        data={"current": PASSWORD, "new": NEW, "repeat": NEW, "csrf_token": token},
    )
    assert r.status_code == 200, r.text
    assert_works(mine, token, world)  # re-issued: this browser carries on
    assert_ended(other, other_token, world)
    assert_ended(before, token, world)


def test_disabling_an_account_ends_its_sessions_on_every_worker(engine):
    world = build_world(engine)
    client = make_client(engine)
    token = sign_in(client, world.users["enterprise"])
    elsewhere = copy_of(client, engine)
    assert_works(elsewhere, token, world)
    admin = make_client(engine)
    admin_token = sign_in(admin, world.users["admin"])
    with Session(engine) as s:
        uid = s.exec(select(User.id).where(User.username == world.users["enterprise"])).one()
    r = admin.post(
        f"/admin/users/{uid}/active", data={"active": "false", "csrf_token": admin_token}
    )
    assert r.status_code == 303, r.text
    assert_ended(client, token, world)
    assert_ended(elsewhere, token, world)


def test_a_user_whose_account_was_disabled_by_the_service_is_signed_out(engine):
    world = build_world(engine)
    client = make_client(engine)
    token = sign_in(client, world.users["enterprise"])
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == world.users["enterprise"])).one()
        set_active(s, user, False)
        s.commit()
    assert_ended(client, token, world)


def test_an_administrators_password_must_be_changed_before_anything_else(engine):
    world = build_world(engine)
    name = world.users["enterprise"]
    client = make_client(engine)
    old_token = sign_in(client, name)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == name)).one()
        reset_password(s, user, "set-by-the-admin-1")
        s.commit()
    assert_ended(client, old_token, world)  # the reset ended the sessions there were

    token = csrf_of(client)
    r = client.post(
        "/signin",
        data={"username": name, "password": "set-by-the-admin-1", "csrf_token": token, "next": "/"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    token = csrf_of(client, "/account/password")
    page = client.get("/account/password")
    assert page.status_code == 200 and "管理员为您设置了密码" in page.text

    # Every other page leads there; htmx and JSON are told why, in both languages.
    for path in ("/", "/assessments", f"/assessments/{world.a_draft.id}", "/enterprise"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/account/password", path
    r = autosave(client, token, world.a_draft.id)
    assert r.status_code == 403 and 'data-code="password_change_required"' in r.text
    r = client.get("/assessments", headers={"Accept": "application/json"})
    assert r.status_code == 403
    problem = r.json()["problems"][0]
    assert problem["code"] == "password_change_required" and problem["zh"] and problem["en"]

    r = client.post(
        "/account/password",
        data={"current": "set-by-the-admin-1", "new": NEW, "repeat": NEW, "csrf_token": token},
    )
    assert r.status_code == 200, r.text
    assert_works(client, token, world)


def test_signing_out_is_possible_while_a_password_change_is_pending(engine):
    world = build_world(engine)
    name = world.users["enterprise"]
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == name)).one()
        user.must_change_password = True
        s.add(user)
        s.commit()
    client = make_client(engine)
    token = sign_in(client, name)
    r = client.post("/signout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/signin"


def test_an_administrators_reset_through_the_admin_page_ends_sessions_and_asks_for_a_change(
    engine,
):
    world = build_world(engine)
    name = world.users["enterprise"]
    client = make_client(engine)
    token = sign_in(client, name)
    admin = make_client(engine)
    admin_token = sign_in(admin, world.users["admin"])
    with Session(engine) as s:
        uid = s.exec(select(User.id).where(User.username == name)).one()
    form = {"password": "set-by-the-admin-2", "csrf_token": admin_token}
    r = admin.post(f"/admin/users/{uid}/password", data=form)
    assert r.status_code == 303, r.text
    assert_ended(client, token, world)
    again = make_client(engine)
    r = again.post(
        "/signin",
        data={"username": name, "password": "set-by-the-admin-2", "csrf_token": csrf_of(again)},
    )
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    assert admin.get("/admin/users").status_code == 200  # the administrator goes on as before
