"""Certificates over HTTP: the public verification page tells nothing more than it should and
the same for every number it does not know; the certificate page is scoped like every object;
status changes need the CSRF token and a reason, and show in the page's history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assess.accounts.users import create_user
from assess.certification import certificates as svc
from assess.certification import numbers
from assess.settings import Settings, china_today
from assess.store.models import (
    Assessment,
    Certificate,
    CertificationBody,
    Conflict,
    Review,
    Status,
    User,
)
from tests.db import factories
from tests.web.conftest import FAST, PASSWORD, World, build_world, csrf_of, make_client, sign_in
from web.routes import certificates as routes

TB_NAME, XY_NAME = "测试评定机构", "另一评定机构"


@dataclass
class Certs:
    world: World
    a: Certificate  # enterprise A's (fine_chem), issued by body TB
    b: Certificate  # enterprise B's (auto), issued by body XY
    users: dict[str, str]  # who → username, the conftest's and this module's


def _certify(s: Session, assessment_id: int, body_id: int, certifier: User) -> Certificate:
    a = s.get(Assessment, assessment_id)
    assert a is not None
    a.status = Status.certified
    review = Review(
        assessment_id=a.id, body_id=body_id, certifier_id=certifier.id, due_on=date(2020, 12, 31)
    )
    s.add_all([a, review])
    s.flush()
    settings = Settings()
    return svc.issue(s, a, review, 68.04, "integration", certifier, settings, china_today())


@pytest.fixture
def certs(sqlite_engine) -> Certs:
    world = build_world(sqlite_engine)
    with Session(sqlite_engine, expire_on_commit=False) as s:
        tb = s.exec(select(CertificationBody).where(CertificationBody.code == "TB")).one()
        tb.name_en = "Test certification body"
        xy = CertificationBody(name=XY_NAME, name_en="Another body", code="XY")
        s.add_all([tb, xy])
        s.flush()
        clusters = factories.region(s)
        extra = {
            "certifier_xy": dict(role="certifier", cert_body_id=xy.id),
            "certifier_conflicted": dict(role="certifier", cert_body_id=tb.id),
            "manager_auto": dict(role="cluster_manager", cluster_ids=[clusters["auto"].id]),
        }
        users = dict(world.users)
        for who, kw in extra.items():
            name = f"user-{who.replace('_', '-')}"
            create_user(s, username=name, password=PASSWORD, hasher=FAST, **kw)  # type: ignore[arg-type]
            users[who] = name
        by_name = {u.username: u for u in s.exec(select(User))}
        certifier = by_name[users["certifier"]]
        certifier.display_name = "王评定员"
        s.add(
            Conflict(
                certifier_id=by_name[users["certifier_conflicted"]].id,
                enterprise_id=world.ent_a.id,
                kind="family",
            )
        )
        cert_a = _certify(s, world.a_draft.id, tb.id, certifier)
        cert_b = _certify(s, world.b_draft.id, xy.id, by_name[users["certifier_xy"]])
        s.commit()
    return Certs(world, cert_a, cert_b, users)


@pytest.fixture
def app_client(sqlite_engine) -> Iterator[TestClient]:
    with make_client(sqlite_engine) as c:
        yield c


def _as(engine: sa.Engine, username: str) -> tuple[TestClient, str]:
    c = make_client(engine)
    token = sign_in(c, username)
    return c, token


# --- The public page -----------------------------------------------------------------------


def test_the_verification_page_shows_only_name_stage_level_dates_and_status(certs, app_client):
    cert = certs.a
    r = app_client.get(f"/verify/{cert.number}")
    assert r.status_code == 200
    page = r.text
    assert "甲化工有限公司" in page
    assert "集成提升" in page  # the stage, in Chinese by default
    assert "68.0" in page  # the level, one decimal
    assert cert.issued_on.isoformat() in page and cert.expires_on.isoformat() in page
    assert numbers.formatted(cert.number) in page
    # Nothing more: no USCC, no body, no certifier, no other scores, no year of the figures.
    for secret in (
        certs.world.ent_a.uscc,
        TB_NAME,
        "Test certification body",
        "王评定员",
        certs.users["certifier"],
        "68.04",
        "2020",
    ):
        assert secret not in page, secret
    # No session: no cookie set, no CSRF token, no signed-in navigation.
    assert "set-cookie" not in r.headers
    assert "csrf" not in page.lower() and "mainnav" not in page
    assert 'method="post"' not in page


def test_a_signed_in_visitor_sees_the_public_page_without_their_navigation(certs, sqlite_engine):
    c, _ = _as(sqlite_engine, certs.users["admin"])
    page = c.get(f"/verify/{certs.a.number}").text
    assert "mainnav" not in page and "csrf" not in page.lower()
    assert certs.world.ent_a.uscc not in page


def test_the_number_may_be_typed_in_any_case_with_spaces_or_hyphens(certs, app_client):
    printed = numbers.formatted(certs.a.number)
    for typed in (printed, printed.lower(), printed.replace("-", " ")):
        r = app_client.get("/verify", params={"number": typed})
        assert r.status_code == 200 and "甲化工有限公司" in r.text, typed
    r = app_client.get(f"/verify/{printed.lower()}")
    assert r.status_code == 200 and "甲化工有限公司" in r.text


def test_unknown_wrong_check_and_malformed_numbers_get_byte_identical_answers(certs, app_client):
    real = certs.a.number
    wrong_check = real[:-1] + ("A" if real[-1] != "A" else "B")
    near = real[:-2] + ("0" if real[-2] != "0" else "1")  # one digit off: the check fails
    unknown = numbers.new_number("TB", 2026)  # well-formed, never issued
    answers = [
        app_client.get(f"/verify/{n}")
        for n in (wrong_check, near, unknown, "LH", "nonsense", real + "X", "%3Cb%3E")
    ]
    answers += [app_client.get("/verify", params={"number": n}) for n in (wrong_check, "x" * 500)]
    first = answers[0]
    assert first.status_code == 404
    assert "No valid certificate has this number" in first.text or "没有" in first.text
    for r in answers:
        assert r.status_code == 404
        assert r.content == first.content
        assert dict(r.headers) == dict(first.headers)
    assert "甲化工有限公司" not in first.text and real not in first.text


def test_the_empty_form_asks_for_a_number(app_client, certs):
    r = app_client.get("/verify")
    assert r.status_code == 200 and 'name="number"' in r.text
    assert "set-cookie" not in r.headers


def test_the_public_page_shows_a_suspended_status_but_not_its_reason(certs, sqlite_engine):
    c, token = _as(sqlite_engine, certs.users["certifier"])
    r = c.post(
        f"/certificates/{certs.a.id}/status",
        data={
            "action": "suspend",
            "reason": "监督审核逾期未做",
            "version": "1",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    page = TestClient(c.app).get(f"/verify/{certs.a.number}").text
    assert "暂停" in page or "Suspended" in page
    assert "监督审核逾期未做" not in page


# --- The certificate page ------------------------------------------------------------------

SEE = {
    "admin": 200,
    "enterprise": 200,
    "certifier": 200,
    "cluster_manager": 200,
    "enterprise_b": 404,
    "certifier_xy": 404,
    "certifier_conflicted": 404,
    "manager_auto": 404,
}


@pytest.mark.parametrize(("who", "expected"), SEE.items())
def test_the_certificate_page_is_scoped_like_every_object(certs, sqlite_engine, who, expected):
    c, _ = _as(sqlite_engine, certs.users[who])
    for path in (f"/certificates/{certs.a.id}", f"/certificates/{certs.a.id}.json"):
        r = c.get(path)
        assert r.status_code == expected, (who, path, r.text[:300])
        if expected == 404:
            assert "甲化工有限公司" not in r.text and certs.a.number not in r.text
    listed = c.get("/certificates.json").json()["certificates"]
    assert (certs.a.id in [x["id"] for x in listed]) == (expected == 200)


def test_no_such_certificate_is_not_found(certs, sqlite_engine):
    c, _ = _as(sqlite_engine, certs.users["admin"])
    for path in ("/certificates/999999", "/certificates/99999999999999999999", "/certificates/x"):
        assert c.get(path).status_code == 404, path


def test_signing_in_is_needed_for_certificates(certs, app_client):
    assert app_client.get(f"/certificates/{certs.a.id}").status_code == 303
    assert app_client.get("/certificates").status_code == 303
    assert app_client.get("/certificates.json").status_code == 401


def test_the_certificate_page_prints_the_certificate_with_a_qr_code_of_its_verification_url(
    certs, sqlite_engine
):
    c, _ = _as(sqlite_engine, certs.users["enterprise"])
    page = c.get(f"/certificates/{certs.a.id}").text
    url = f"http://testserver/verify/{certs.a.number}"
    assert url in page
    assert routes.qr_svg(url) in page  # the code drawn from exactly that URL
    assert re.search(r'<svg viewBox="[0-9 ]+" class="qr"><path ', page)
    assert "<script" not in page.split('class="certificate')[1]
    for shown in (
        "甲化工有限公司",
        certs.world.ent_a.uscc,
        TB_NAME,
        "王评定员",
        "集成提升",
        "68.0",
    ):
        assert shown in page, shown
    assert numbers.formatted(certs.a.number) in page
    assert "/static/certificate.css" in page
    # An enterprise may read its certificate but not change it: no status form.
    assert 'name="action"' not in page
    css = c.get("/static/certificate.css").text
    assert "size: A4" in css and "@media print" in css


def test_a_configured_public_address_is_printed_whatever_host_the_request_named(
    certs, sqlite_engine
):
    c = make_client(sqlite_engine, public_url="https://lh.example.gov.cn/")
    sign_in(c, certs.users["enterprise"])
    page = c.get(f"/certificates/{certs.a.id}", headers={"Host": "attacker.example"}).text
    url = f"https://lh.example.gov.cn/verify/{certs.a.number}"
    assert url in page and routes.qr_svg(url) in page
    assert "attacker.example" not in page


def test_the_json_twin_has_the_same_certificate(certs, sqlite_engine):
    c, _ = _as(sqlite_engine, certs.users["certifier"])
    data = c.get(f"/certificates/{certs.a.id}.json").json()
    cert = data["certificate"]
    assert cert["number"] == certs.a.number and cert["status"] == "valid"
    assert cert["overall"] == 68.0 and cert["issued_on"] == certs.a.issued_on.isoformat()
    assert data["actions"] == ["suspend", "revoke"]
    assert [h["action"] for h in data["history"]] == ["issue"]


def test_the_list_shows_each_user_their_certificates(certs, sqlite_engine):
    c, _ = _as(sqlite_engine, certs.users["enterprise"])
    page = c.get("/certificates").text
    assert numbers.formatted(certs.a.number) in page
    assert numbers.formatted(certs.b.number) not in page
    admin, _ = _as(sqlite_engine, certs.users["admin"])
    both = {x["id"] for x in admin.get("/certificates.json").json()["certificates"]}
    assert both == {certs.a.id, certs.b.id}


# --- Status changes ------------------------------------------------------------------------


def _stored(engine: sa.Engine, cert_id: int) -> tuple[str, int]:
    with Session(engine) as s:
        cert = s.get(Certificate, cert_id)
        assert cert is not None
        return cert.status, cert.version


def test_a_status_change_needs_the_csrf_token(certs, sqlite_engine):
    c, _ = _as(sqlite_engine, certs.users["certifier"])
    form = {"action": "suspend", "reason": "原因", "version": "1"}
    r = c.post(f"/certificates/{certs.a.id}/status", data=form)
    assert r.status_code == 403
    r = c.post(f"/certificates/{certs.a.id}/status", data={**form, "csrf_token": "forged"})
    assert r.status_code == 403
    assert _stored(sqlite_engine, certs.a.id) == ("valid", 1)


def test_suspend_then_reinstate_shows_in_the_history(certs, sqlite_engine):
    c, token = _as(sqlite_engine, certs.users["certifier"])
    path = f"/certificates/{certs.a.id}/status"
    r = c.post(
        path,
        data={"action": "suspend", "reason": "监督审核逾期", "version": "1", "csrf_token": token},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/certificates/{certs.a.id}"
    assert _stored(sqlite_engine, certs.a.id) == ("suspended", 2)
    page = c.get(f"/certificates/{certs.a.id}").text
    assert 'class="cert-stamp"' in page  # printed across the certificate's face
    assert 'value="reinstate"' in page and 'value="suspend"' not in page
    r = c.post(
        path,
        data={"action": "reinstate", "reason": "已补做审核", "version": "2", "csrf_token": token},
    )
    assert r.status_code == 303
    history = c.get(f"/certificates/{certs.a.id}.json").json()["history"]
    assert [(h["action"], h["reason"]) for h in history] == [
        ("issue", ""),
        ("suspend", "监督审核逾期"),
        ("reinstate", "已补做审核"),
    ]
    page = c.get(f"/certificates/{certs.a.id}").text
    assert "监督审核逾期" in page and "已补做审核" in page


def test_a_missing_reason_or_an_old_version_is_refused_with_the_page_again(certs, sqlite_engine):
    c, token = _as(sqlite_engine, certs.users["admin"])
    path = f"/certificates/{certs.a.id}/status"
    r = c.post(path, data={"action": "revoke", "reason": "  ", "version": "1", "csrf_token": token})
    assert r.status_code == 422
    assert 'data-code="reason"' in r.text and 'name="reason"' in r.text
    r = c.post(
        path, data={"action": "revoke", "reason": "留着", "version": "7", "csrf_token": token}
    )
    assert r.status_code == 409 and 'data-code="stale"' in r.text
    assert "留着" in r.text  # the reason as typed stays in the form
    r = c.post(path, data={"action": "explode", "reason": "x", "version": "1", "csrf_token": token})
    assert r.status_code == 422
    assert _stored(sqlite_engine, certs.a.id) == ("valid", 1)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("enterprise", 403), ("cluster_manager", 403), ("certifier_xy", 404), ("enterprise_b", 404)],
)
def test_only_the_issuing_body_and_administrators_change_a_status(
    certs, sqlite_engine, who, expected
):
    c, token = _as(sqlite_engine, certs.users[who])
    r = c.post(
        f"/certificates/{certs.a.id}/status",
        data={"action": "revoke", "reason": "x", "version": "1", "csrf_token": token},
    )
    assert r.status_code == expected
    assert _stored(sqlite_engine, certs.a.id) == ("valid", 1)


def test_an_anonymous_post_is_refused(certs, app_client):
    token = csrf_of(app_client)
    r = app_client.post(
        f"/certificates/{certs.a.id}/status",
        data={"action": "revoke", "reason": "x", "version": "1", "csrf_token": token},
    )
    assert r.status_code == 401
