"""Every route × every role × own or foreign object, with the status each must answer.

"Own" is enterprise A's object (A is in the cluster manager's cluster); "foreign" is enterprise
B's. Objects outside a user's scope are 404, so that ids reveal nothing; objects a role may see
but not change are 403; a route that is not for the role at all is 403; no session at all is a
redirect to sign in (pages) or 401 (actions).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assess.accounts.users import create_user
from assess.assessment.lifecycle import start_assessment
from assess.certification.certificates import issue
from assess.certification.evidence import store
from assess.settings import Settings
from assess.store import db
from assess.store.models import (
    Certificate,
    CertificationBody,
    Decision,
    Evidence,
    Review,
    ReviewItem,
    Status,
    User,
)
from tests.databases import migrated
from tests.web.conftest import FAST, PASSWORD, World, build_world, csrf_of, make_client, sign_in

ROLES = ["anonymous", "enterprise", "certifier", "cluster_manager", "admin"]
PCT = "core.rd.digital_share"

# (method, path, form data, {role: status}, {role: status for the foreign object} or None)
# Paths use {a} for an assessment id, {e} for an enterprise id, {u} for a user id; for
# certification (see certification_world): {r} an assessment under review (own: reviewed by
# the certifier's body and assigned to it; foreign: by another body), {c} a certificate (own:
# issued by the certifier's body; foreign: by another), {n} a certificate number (foreign: the
# own one with a wrong check character), {v} an evidence file of {r}, {b} a body, {k} a conflict.
E, C, M, AD, AN = "enterprise", "certifier", "cluster_manager", "admin", "anonymous"


def codes(default: int, **by_role: int) -> dict[str, int]:
    return {r: by_role.get(r, default) for r in ROLES}


ROUTES: list[tuple[str, str, dict, dict[str, int], dict[str, int] | None]] = [
    ("GET", "/", {}, codes(303), None),
    ("GET", "/assessments", {}, codes(403, enterprise=200, anonymous=303), None),
    ("POST", "/assessments", {"year": "2019"}, codes(403, enterprise=303, anonymous=401), None),
    (
        "GET",
        "/assessments/{a}",
        {},
        codes(200, certifier=404, anonymous=303),
        codes(404, admin=200, anonymous=303),
    ),
    (
        "GET",
        f"/assessments/{{a}}/answers/{PCT}",
        {},
        codes(200, certifier=404, anonymous=303),
        codes(404, admin=200, anonymous=303),
    ),
    (
        "POST",
        f"/assessments/{{a}}/answers/{PCT}",
        {"version": "0", "value": "50"},
        codes(403, enterprise=200, certifier=404, anonymous=401),
        codes(404, admin=403, anonymous=401),
    ),
    (
        "GET",
        "/assessments/{a}/submit",
        {},
        codes(403, enterprise=200, anonymous=303),
        codes(403, enterprise=404, anonymous=303),
    ),
    (
        "POST",
        "/assessments/{a}/submit",
        {},
        codes(403, enterprise=422, anonymous=401),
        codes(403, enterprise=404, anonymous=401),
    ),
    (
        "POST",
        "/assessments/{a}/withdraw",
        {},
        codes(403, enterprise=409, anonymous=401),
        codes(403, enterprise=404, anonymous=401),
    ),
    (
        "GET",
        "/assessments/{a}/report",
        {},
        codes(200, certifier=404, anonymous=303),
        codes(404, admin=200, anonymous=303),
    ),
    (
        "POST",
        "/assessments/{a}/what-if",
        {},
        codes(200, certifier=404, anonymous=401),
        codes(404, admin=200, anonymous=401),
    ),
    (
        "GET",
        "/assessments/{a}/withdraw",
        {},
        codes(403, enterprise=200, anonymous=303),
        codes(403, enterprise=404, anonymous=303),
    ),
    (
        "GET",
        f"/assessments/{{a}}/what-if/field?question={PCT}",
        {},
        codes(200, certifier=404, anonymous=303),
        codes(404, admin=200, anonymous=303),
    ),
    ("GET", "/enterprise", {}, codes(403, enterprise=200, anonymous=303), None),
    (
        "POST",
        "/enterprise",
        {"version": "1", "contact_name": "张三"},
        codes(403, enterprise=200, anonymous=401),
        None,
    ),
    ("GET", "/account/password", {}, codes(200, anonymous=303), None),
    ("GET", "/account/session", {}, codes(200, anonymous=303), None),
    (
        "POST",
        "/account/password",
        {"current": "wrong", "new": "x", "repeat": "x"},
        codes(422, anonymous=401),
        None,
    ),
    ("GET", "/cluster", {}, codes(403, cluster_manager=200, admin=200, anonymous=303), None),
    ("GET", "/cluster.json", {}, codes(403, cluster_manager=200, admin=200, anonymous=401), None),
    # The manager's own cluster, and another one: not found, as if it did not exist.
    (
        "GET",
        "/cluster?cluster=fine_chem",
        {},
        codes(403, cluster_manager=200, admin=200, anonymous=303),
        None,
    ),
    (
        "GET",
        "/cluster?cluster=auto",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=303),
        None,
    ),
    (
        "GET",
        "/cluster.json?cluster=auto",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=401),
        None,
    ),
    ("GET", "/region", {}, codes(403, cluster_manager=200, admin=200, anonymous=303), None),
    ("GET", "/region.json", {}, codes(403, cluster_manager=200, admin=200, anonymous=401), None),
    ("GET", "/screening", {}, codes(403, cluster_manager=200, admin=200, anonymous=303), None),
    (
        "GET",
        "/screening.json",
        {},
        codes(403, cluster_manager=200, admin=200, anonymous=401),
        None,
    ),
    (
        "GET",
        "/screening?cluster=auto",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=303),
        None,
    ),
    ("GET", "/cluster.xlsx", {}, codes(403, cluster_manager=200, admin=200, anonymous=303), None),
    ("GET", "/region.xlsx", {}, codes(403, cluster_manager=200, admin=200, anonymous=303), None),
    ("GET", "/screening.xlsx", {}, codes(403, cluster_manager=200, admin=200, anonymous=303), None),
    (
        "GET",
        "/screening.xlsx?cluster=auto",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=303),
        None,
    ),
    ("GET", "/cluster/report", {}, codes(403, cluster_manager=200, admin=200, anonymous=303), None),
    (
        "GET",
        "/cluster/report?cluster=auto",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=303),
        None,
    ),
    (
        "GET",
        "/cluster.xlsx?cluster=auto",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=303),
        None,
    ),
    (
        "GET",
        "/cluster/fine_chem/demonstration",
        {},
        codes(403, cluster_manager=200, admin=200, anonymous=303),
        None,
    ),
    (
        "GET",
        "/cluster/fine_chem/demonstration.json",
        {},
        codes(403, cluster_manager=200, admin=200, anonymous=401),
        None,
    ),
    (
        "GET",
        "/cluster/fine_chem/demonstration.xlsx",
        {},
        codes(403, cluster_manager=200, admin=200, anonymous=303),
        None,
    ),
    (
        "POST",
        "/cluster/fine_chem/demonstration/decisions",
        {"year": "2020", "enterprise": "1", "decision": "confirmed"},
        codes(403, cluster_manager=422, admin=403, anonymous=401),
        None,
    ),
    (
        "GET",
        "/cluster/auto/demonstration",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=303),
        None,
    ),
    (
        "GET",
        "/cluster/auto/demonstration.xlsx",
        {},
        codes(403, cluster_manager=404, admin=200, anonymous=303),
        None,
    ),
    (
        "POST",
        "/cluster/auto/demonstration/decisions",
        {"year": "2020", "enterprise": "2", "decision": "confirmed"},
        codes(403, cluster_manager=404, admin=403, anonymous=401),
        None,
    ),
    # The member table is a fragment: a plain request for it is sent to the whole dashboard.
    (
        "GET",
        "/cluster/members",
        {},
        codes(403, cluster_manager=303, admin=303, anonymous=303),
        None,
    ),
    (
        "GET",
        "/cluster/members.json",
        {},
        codes(403, cluster_manager=200, admin=200, anonymous=401),
        None,
    ),
    ("GET", "/admin/enterprises", {}, codes(403, admin=200, anonymous=303), None),
    ("GET", "/admin/enterprises/new", {}, codes(403, admin=200, anonymous=303), None),
    (
        "POST",
        "/admin/enterprises/new",
        {"name": "x"},
        codes(403, admin=422, anonymous=401),
        None,
    ),
    (
        "GET",
        "/admin/enterprises/{e}",
        {},
        codes(403, admin=200, anonymous=303),
        codes(403, admin=200, anonymous=303),
    ),
    (
        "POST",
        "/admin/enterprises/{e}",
        {"version": "999"},
        codes(403, admin=409, anonymous=401),
        codes(403, admin=409, anonymous=401),
    ),
    ("GET", "/admin/users", {}, codes(403, admin=200, anonymous=303), None),
    ("POST", "/admin/users", {"username": "x"}, codes(403, admin=422, anonymous=401), None),
    ("GET", "/admin/users/{u}", {}, codes(403, admin=200, anonymous=303), None),
    (
        "POST",
        "/admin/users/{u}",
        {"role": "enterprise", "stamp": "stale"},
        codes(403, admin=409, anonymous=401),
        None,
    ),
    (
        "GET",
        "/admin/enterprise-choices?enterprise_q=甲",
        {},
        codes(403, admin=200, anonymous=303),
        None,
    ),
    (
        "GET",
        "/admin/sector-notice?sector=food",
        {},
        codes(403, admin=200, anonymous=303),
        None,
    ),
    (
        "POST",
        "/admin/users/{u}/active",
        {"active": "true"},
        codes(403, admin=303, anonymous=401),
        None,
    ),
    (
        "POST",
        "/admin/users/{u}/password",
        {"password": "short"},
        codes(403, admin=422, anonymous=401),
        None,
    ),
    # --- Certification -------------------------------------------------------------------
    ("GET", "/review", {}, codes(403, certifier=200, admin=200, anonymous=303), None),
    ("GET", "/review.json", {}, codes(403, certifier=200, admin=200, anonymous=401), None),
    (
        "GET",
        "/review/{r}",
        {},
        codes(403, certifier=200, admin=200, anonymous=303),
        codes(403, certifier=404, admin=200, anonymous=303),
    ),
    (
        "POST",
        "/review/{r}/assign",
        {"certifier": "999999"},
        codes(403, certifier=422, admin=422, anonymous=401),
        codes(403, certifier=404, admin=422, anonymous=401),
    ),
    (
        "POST",
        "/review/{r}/start",
        {},
        codes(403, certifier=409, anonymous=401),
        codes(403, certifier=404, anonymous=401),
    ),
    (
        "POST",
        f"/review/{{r}}/answers/{PCT}",
        {"decision": "none"},
        codes(403, certifier=422, anonymous=401),
        codes(403, certifier=404, anonymous=401),
    ),
    (
        "POST",
        "/review/{r}/return",
        {"note": ""},
        codes(403, certifier=422, anonymous=401),
        codes(403, certifier=404, anonymous=401),
    ),
    (
        "POST",
        "/review/{r}/certify",
        {},
        codes(403, certifier=422, anonymous=401),  # an evidence request is still open
        codes(403, certifier=404, anonymous=401),
    ),
    (
        "POST",
        "/review/{r}/reject",
        {"reason": ""},
        codes(403, certifier=422, anonymous=401),
        codes(403, certifier=404, anonymous=401),
    ),
    (
        "POST",
        "/assessments/{a}/certification",
        {"body": "1"},
        codes(409, certifier=404, cluster_manager=403, anonymous=401),
        codes(404, admin=409, anonymous=401),
    ),
    (
        "GET",
        "/assessments/{a}/resubmit",
        {},
        codes(403, enterprise=409, certifier=404, anonymous=303),
        codes(403, enterprise=404, certifier=404, cluster_manager=404, anonymous=303),
    ),
    (
        "POST",
        "/assessments/{a}/resubmit",
        {},
        codes(403, enterprise=404, certifier=404, anonymous=401),
        codes(403, enterprise=404, certifier=404, cluster_manager=404, anonymous=401),
    ),
    (
        "POST",
        f"/assessments/{{a}}/answers/{PCT}/evidence",
        {},
        codes(403, enterprise=422, certifier=404, anonymous=401),
        codes(404, admin=403, anonymous=401),
    ),
    (
        "GET",
        "/evidence/{v}",
        {},
        codes(404, enterprise=200, certifier=200, admin=200, anonymous=303),
        codes(404, admin=200, anonymous=303),
    ),
    ("GET", "/certificates", {}, codes(200, anonymous=303), None),
    ("GET", "/certificates.json", {}, codes(200, anonymous=401), None),
    (
        "GET",
        "/certificates/{c}",
        {},
        codes(200, anonymous=303),
        codes(404, admin=200, anonymous=303),
    ),
    (
        "GET",
        "/certificates/{c}.json",
        {},
        codes(200, anonymous=401),
        codes(404, admin=200, anonymous=401),
    ),
    (
        "POST",
        "/certificates/{c}/status",
        {"action": "suspend", "reason": "x", "version": "999"},
        codes(403, certifier=409, admin=409, anonymous=401),
        codes(404, admin=409, anonymous=401),
    ),
    ("GET", "/verify", {}, codes(200), None),
    ("GET", "/verify/{n}", {}, codes(200), codes(404)),
    ("GET", "/admin/bodies", {}, codes(403, admin=200, anonymous=303), None),
    (
        "POST",
        "/admin/bodies",
        {"name": "", "code": ""},
        codes(403, admin=422, anonymous=401),
        None,
    ),
    ("GET", "/admin/bodies/{b}", {}, codes(403, admin=200, anonymous=303), None),
    (
        "POST",
        "/admin/bodies/{b}",
        {"name": "测试评定机构", "code": "TB", "stamp": "stale"},
        codes(403, admin=409, anonymous=401),
        None,
    ),
    ("GET", "/admin/conflicts", {}, codes(403, admin=200, anonymous=303), None),
    ("POST", "/admin/conflicts", {"kind": "other"}, codes(403, admin=422, anonymous=401), None),
    (
        "POST",
        "/admin/conflicts/{k}/remove",
        {},
        codes(403, admin=404, anonymous=401),
        None,
    ),
    ("GET", "/admin/audit", {}, codes(403, admin=200, anonymous=303), None),
    ("GET", "/admin/audit.xlsx", {}, codes(403, admin=200, anonymous=303), None),
    ("GET", "/signin", {}, codes(200), None),
    ("GET", "/healthz", {}, codes(200), None),
    ("GET", "/favicon.ico", {}, codes(200), None),
    ("GET", "/ping", {}, codes(200), None),
    ("GET", "/no/such/page", {}, codes(404), None),
]


#: The certification objects of the setup, by placeholder and "own" / "foreign".
CERT: dict[str, dict[str, Any]] = {}


def certification_world(
    engine: sa.Engine, world: World, data_dir: Path
) -> dict[str, dict[str, Any]]:
    """Enterprise A's objects with the certifier's body, B's with another body (and its own
    certifier): 2017 assessments under review (each with an evidence file, A's with an open
    evidence request), 2018 ones certified with a certificate."""
    out: dict[str, dict[str, Any]] = {k: {} for k in "rcnvb"}
    root = Settings(data_dir=data_dir).evidence_root
    with Session(engine, expire_on_commit=False) as s:
        body = s.exec(select(CertificationBody)).one()
        other = CertificationBody(name="另一评定机构", code="LY")
        s.add(other)
        s.flush()
        mine = s.exec(select(User).where(User.username == world.users["certifier"])).one()
        theirs = create_user(
            s,
            username="other-certifier",
            password=PASSWORD,
            hasher=FAST,
            role="certifier",
            cert_body_id=other.id,
        )
        for which, ent, b, c in (
            ("own", world.ent_a, body, mine),
            ("foreign", world.ent_b, other, theirs),
        ):
            a = start_assessment(s, ent, 2017, by_user=None, version=1)
            a.status = Status.under_review
            review = Review(
                assessment_id=a.id, body_id=b.id, certifier_id=c.id, due_on=date(2018, 3, 1)
            )
            s.add_all([a, review])
            s.flush()
            s.add(
                ReviewItem(
                    review_id=review.id, question=PCT, decision=Decision.evidence, reason="x"
                )
            )
            data = f"%PDF-1.4 {which}\n%%EOF\n".encode()
            ev = Evidence(
                assessment_id=a.id,
                question=PCT,
                sha256=store(root, data),
                size=len(data),
                media_type="application/pdf",
                filename=f"{which}.pdf",
            )
            s.add(ev)
            done = start_assessment(s, ent, 2018, by_user=None, version=1)
            done.status = Status.certified
            r2 = Review(
                assessment_id=done.id, body_id=b.id, certifier_id=c.id, due_on=date(2019, 3, 1)
            )
            s.add_all([done, r2])
            s.flush()
            cert = issue(s, done, r2, 70.0, "integration", c, Settings(), date(2026, 1, 5))
            out["r"][which], out["c"][which], out["v"][which] = a.id, cert.id, ev.id
            out["b"][which] = body.id
        number = s.get(Certificate, out["c"]["own"]).number
        out["n"] = {"own": number, "foreign": number[:-1] + ("A" if number[-1] != "A" else "B")}
        out["k"] = {"own": 999999, "foreign": 999999}
        s.commit()
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[tuple[World, dict[str, tuple[TestClient, str]]]]:
    folder = tmp_path_factory.mktemp("access")
    url = f"sqlite:///{folder / 'web.db'}"
    migrated(url)
    engine = db.make_engine(url)
    world = build_world(engine)
    CERT.update(certification_world(engine, world, folder))
    clients: dict[str, tuple[TestClient, str]] = {}
    for role in ROLES:
        c = make_client(engine, data_dir=folder)
        token = "" if role == AN else sign_in(c, world.users[role])
        clients[role] = (c, token)
    yield world, clients
    engine.dispose()


def _cases():
    for method, path, data, own, foreign in ROUTES:
        for role in ROLES:
            yield pytest.param(
                method, path, data, role, "own", own[role], id=f"{method} {path} {role} own"
            )
            if foreign is not None:
                yield pytest.param(
                    method,
                    path,
                    data,
                    role,
                    "foreign",
                    foreign[role],
                    id=f"{method} {path} {role} foreign",
                )


@pytest.mark.parametrize(("method", "path", "data", "role", "which", "expected"), list(_cases()))
def test_route_answers_each_role_with_the_right_status(
    setup, method, path, data, role, which, expected
):
    world, clients = setup
    client, token = clients[role]
    if role == AN and method == "POST":
        token = csrf_of(client)  # a valid anonymous session: only signing in is missing
    own = which == "own"
    url = path.format(
        a=(world.a_draft if own else world.b_draft).id,
        e=(world.ent_a if own else world.ent_b).id,
        u=2,  # enterprise B's user: enabling it again changes nothing
        **{k: v[which] for k, v in CERT.items()},
    )
    headers = {"X-CSRF-Token": token} if method == "POST" else {}
    r = client.request(method, url, data=data or None, headers=headers)
    assert r.status_code == expected, f"{method} {url} as {role}: {r.status_code}\n{r.text[:400]}"
    if expected == 404 and which == "foreign":
        assert world.ent_b.name not in r.text


def test_every_route_of_the_app_is_in_the_table(setup):
    _, clients = setup
    app = clients["admin"][0].app
    declared = {
        (m, path)
        for path, methods in _routes_of(app.router)
        for m in methods
        if m != "HEAD" and not path.startswith("/static")
    }
    # The walk must reach the routers' own routes, not only the app's few (a FastAPI release
    # that wraps included routers once hid them all, and this check passed on nothing).
    assert ("GET", "/assessments") in declared and ("POST", "/signin") in declared
    table = {
        (
            m,
            p.replace("{a}", "{assessment_id}")
            .replace("{e}", "{enterprise_id}")
            .replace("{u}", "{user_id}")
            .replace("{r}", "{assessment_id}")
            .replace("{c}", "{certificate_id}")
            .replace("{n}", "{number}")
            .replace("{v}", "{evidence_id}")
            .replace("{b}", "{body_id}")
            .replace("{k}", "{conflict_id}")
            .replace(PCT, "{question}")
            .replace("/fine_chem/", "/{code}/")
            .replace("/auto/", "/{code}/")
            .partition("?")[0],
        )
        for m, p, *_ in ROUTES
    }
    table |= {("POST", "/signin"), ("POST", "/signout"), ("POST", "/lang")}  # tested elsewhere
    assert declared <= table, f"routes missing from the access table: {sorted(declared - table)}"


def _routes_of(router: Any, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """Every (path, methods) a router serves, including those of routers included in it."""
    for r in router.routes:
        inner = getattr(r, "original_router", None)  # an included router, wrapped
        if inner is not None:
            yield from _routes_of(inner, prefix + r.include_context.prefix)
        elif getattr(r, "methods", None):
            yield prefix + r.path, set(r.methods)
        elif hasattr(r, "path"):
            yield prefix + r.path, set()
