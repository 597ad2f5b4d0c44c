"""Integers past what the database holds, in every path, query and form, on both databases:
never a server error, a 404 for an id that cannot exist, a 422 naming the range for a value,
and nothing stored."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assess.forms import MAX_INT
from assess.store.models import Answer, Enterprise
from tests.web.conftest import World, build_world, csrf_of, make_client, sign_in

PCT = "core.rd.digital_share"
TOO_BIG = [str(MAX_INT + 1), str(2**63), "9" * 25, "9" * 5000]
#: Every kind of integer the bound cares about: past it, on it, below zero, zero.
HOSTILE = [str(2**63), str(2**63 - 1), str(MAX_INT + 1), str(MAX_INT), "-1", "0", "9" * 25]


def out_of_range(x: str) -> bool:
    return not 0 <= int(x) <= MAX_INT


#: What a refused request must leave alone: every row of these tables, and of the accounts.
WATCHED = {
    "enterprise": "*",
    "assessment": "*",
    "answer": "*",
    "status_change": "*",
    "score_record": "*",
    "user_cluster": "*",
    "app_user": "id, role, is_active, password_hash, enterprise_id",
}


def fingerprint(engine: sa.Engine) -> dict[str, list[Any]]:
    """Every watched row, to compare before and after."""
    with engine.connect() as conn:
        return {
            table: sorted(
                map(tuple, conn.execute(sa.text(f"SELECT {cols} FROM {table}"))), key=repr
            )
            for table, cols in WATCHED.items()
        }


def htmx(token: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token}


@pytest.fixture
def setup(engine: sa.Engine, caplog):
    """The small world on each database, a client, and a check that nothing was logged as a
    server error."""
    world = build_world(engine)
    caplog.set_level(logging.ERROR)
    with make_client(engine) as client:
        yield world, client
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def test_a_path_id_past_the_bound_is_not_found_on_every_route(engine, setup) -> None:
    world: World
    client: TestClient
    world, client = setup
    token = sign_in(client, world.users["enterprise"])
    before = fingerprint(engine)
    for x in HOSTILE:
        reads = [
            f"/assessments/{x}",
            f"/assessments/{x}/answers/{PCT}",
            f"/assessments/{x}/submit",
            f"/assessments/{x}/report",
            f"/assessments/{x}/what-if/field?question={PCT}",
        ]
        for url in reads:
            for headers in ({}, {"HX-Request": "true"}):
                r = client.get(url, headers=headers)
                assert r.status_code == 404, (url, r.status_code, r.text[:300])
        writes = [
            (f"/assessments/{x}/answers/{PCT}", {"version": "0", "value": "50"}),
            (f"/assessments/{x}/submit", {"pledge": "true"}),
            (f"/assessments/{x}/withdraw", {}),
            (f"/assessments/{x}/what-if", {PCT: "50"}),
        ]
        for url, data in writes:
            r = client.post(url, data=data, headers=htmx(token))
            assert r.status_code == 404, (url, r.status_code, r.text[:300])
    r = client.get(f"/assessments/{2**63}")
    assert "评估不存在（编号超出范围）" in r.text
    r = client.post(f"/assessments/{'9' * 25}/answers/{PCT}", data={}, headers=htmx(token))
    assert "评估不存在（编号超出范围）" in r.text and r.headers.get("HX-Retarget") == "#flash"
    assert fingerprint(engine) == before


def test_admin_ids_and_pages_past_the_bound_are_not_found_or_clamped(engine, setup) -> None:
    world, client = setup
    token = sign_in(client, world.users["admin"])
    before = fingerprint(engine)
    for x in HOSTILE:
        for url in (f"/admin/enterprises/{x}", f"/admin/users/{x}"):
            assert client.get(url).status_code == 404, url
        posts = [
            (f"/admin/enterprises/{x}", {"version": "1", "name": "改名"}),
            (f"/admin/users/{x}", {"role": "admin"}),
            (f"/admin/users/{x}/active", {"active": "false"}),
            (f"/admin/users/{x}/password", {"password": "a-new-password-123"}),
        ]
        for url, data in posts:
            r = client.post(url, data=data, headers=htmx(token))
            assert r.status_code == 404, (url, r.status_code, r.text[:300])
        for url in ("/admin/enterprises", "/admin/users"):
            assert client.get(f"{url}?page={x}").status_code == 200, (url, x)
    r = client.get(f"/admin/users/{'9' * 25}")
    assert "用户不存在（编号超出范围）" in r.text
    eid = world.ent_a.id
    for x in TOO_BIG:
        r = client.get(f"/admin/enterprises/{eid}?saved={x}")
        assert r.status_code == 422 and "参数超出范围" in r.text, r.text[:300]
    assert client.get(f"/admin/enterprises/{eid}?saved={MAX_INT}").status_code == 200
    assert fingerprint(engine) == before


def test_an_enterprise_form_with_a_huge_cluster_or_version_stores_nothing(engine, setup) -> None:
    world, client = setup
    token = sign_in(client, world.users["admin"])
    page = client.get(f"/admin/enterprises/{world.ent_a.id}").text
    assert 'name="version"' in page
    before = fingerprint(engine)
    form = {
        "name": "丙化工有限公司",
        "uscc": "91220200MA0000001X",
        "sector": "petrochemicals",
        "staff_band": "300_999",
        "cluster_id": "9" * 25,
        "park_id": str(2**63),
    }
    r = client.post("/admin/enterprises/new", data=form, headers=htmx(token))
    assert r.status_code == 422, r.text[:300]
    # Ids past a 32-bit column but short of 2^63: PostgreSQL itself refused these with a 500.
    for x in (str(MAX_INT + 1), "9" * 18):
        r = client.post(
            "/admin/enterprises/new",
            data={**form, "cluster_id": x, "park_id": x},
            headers=htmx(token),
        )
        assert r.status_code == 422, (x, r.status_code, r.text[:300])
    url = f"/admin/enterprises/{world.ent_a.id}"
    for x in HOSTILE:
        r = client.post(url, data={**form, "version": x}, headers=htmx(token))
        assert r.status_code in (409, 422), (x, r.status_code, r.text[:300])
        if out_of_range(x):
            assert r.status_code == 422 and "版本号超出范围" in r.text, x
    assert fingerprint(engine) == before


def test_a_version_or_year_past_the_bound_is_refused_with_its_range(engine, setup) -> None:
    world, client = setup
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    url = f"/assessments/{aid}/answers/{PCT}"
    first = client.post(url, data={"version": "0", "value": "40"}, headers=htmx(token))
    assert first.status_code == 200
    before = fingerprint(engine)
    for x in HOSTILE:
        for field in ("version", "version_override"):
            r = client.post(
                url, data={"version": "1", field: x, "value": "60"}, headers=htmx(token)
            )
            assert r.status_code in (409, 422), (field, x, r.status_code, r.text[:300])
            if out_of_range(x):
                assert r.status_code == 422 and 'data-code="int_out_of_range"' in r.text
                assert "版本号超出范围" in r.text and str(MAX_INT) in r.text
        r = client.post("/assessments", data={"year": x}, headers=htmx(token))
        assert r.status_code == 422, (x, r.status_code, r.text[:300])
        profile = csrf_of(client, "/enterprise")
        r = client.post(
            "/enterprise", data={"version": x, "contact_name": "某人"}, headers=htmx(profile)
        )
        assert r.status_code in (409, 422), (x, r.status_code, r.text[:300])
    r = client.post("/assessments", data={"year": "9" * 25}, headers=htmx(token))
    assert "评估年度超出范围" in r.text
    assert fingerprint(engine) == before
    with Session(engine) as s:
        row = s.exec(
            select(Answer).where(Answer.assessment_id == aid, Answer.question == PCT)
        ).one()
        assert (row.value, row.version) == (40, 1)
        assert s.exec(select(Enterprise).where(Enterprise.name == "丙化工有限公司")).first() is None


def test_a_user_form_naming_ids_past_the_bound_stores_nothing(engine, setup) -> None:
    world, client = setup
    token = sign_in(client, world.users["admin"])
    before = fingerprint(engine)
    for x in (str(MAX_INT + 1), "9" * 18, "9" * 25):
        for role, field in (
            ("enterprise", "enterprise_id"),
            ("certifier", "cert_body_id"),
            ("cluster_manager", "cluster_ids"),
        ):
            r = client.post(
                "/admin/users",
                data={
                    "username": f"probe-{role}",
                    "role": role,
                    "password": "Probe-password-2026",
                    field: x,
                },
                headers=htmx(token),
            )
            assert r.status_code == 422, (field, x, r.status_code, r.text[:300])
    assert fingerprint(engine) == before
